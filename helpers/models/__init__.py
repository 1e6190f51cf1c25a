"""Stable-Diffusion-shaped models: SD1.5's configs and builders, assembly into a pipeline, a ControlNet's anatomy,
saved weights read back, the offline tokenizer, random tiny models, and the registry of the trained worlds' models.
The bottom layer: it imports nothing else from ``helpers`` but ``helpers.files``."""
