"""The package's data, installed as ``helpers.data`` (see ``helpers.files``): this file makes the folder importable."""
