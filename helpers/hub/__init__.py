"""The Hugging Face Hub: repository ids, the network and offline rule in one place, and loading without noise.
Above ``helpers.models``, below the learner's surface."""
