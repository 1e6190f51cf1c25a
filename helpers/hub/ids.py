"""Where hub mode's models come from: the Hugging Face repository ids, and how much their first download is."""

# The blog's "runwayml/stable-diffusion-v1-5" was deleted from the Hub; this is its official mirror.
HUB_BASE_MODEL = "stable-diffusion-v1-5/stable-diffusion-v1-5"
# The ControlNets for SD1.5 the notebooks use, by the condition they take (ControlNet 1.0, lllyasviel's first
# release: all three share one config, helpers.models.sd15.CONTROLNET_CANNY, and ship safetensors on their main branch).
HUB_CONTROLNETS = {
    "canny": "lllyasviel/sd-controlnet-canny",  # Canny edges (notebooks 00-05)
    "scribble": "lllyasviel/sd-controlnet-scribble",  # white strokes on black, drawn by hand (notebook 07)
    "regions": "lllyasviel/sd-controlnet-seg",  # a segmentation map in ADE20K's class colours (notebooks 07 and 08)
}
HUB_CONTROLNET = HUB_CONTROLNETS["canny"]

# What hub mode downloads (float32 safetensors): UNet 3.44 GB, ControlNet 1.45, safety checker 1.22, text
# encoder 0.49, VAE 0.33. tests/test_hub_cache.py recomputes it from the real configs.
HUB_DOWNLOAD_GB = 6.9
HUB_MORE_CONDITIONS_GB = 2.9  # notebook 07's scribble and segmentation ControlNets, 1.45 GB each
