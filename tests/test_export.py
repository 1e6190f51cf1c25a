"""The tiny worlds exported for diffusers' train_controlnet.py: a parquet dataset that `datasets` loads with the
script's default columns (image, conditioning_image, text), holding exactly the trainer's examples."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.mark.parametrize("world_name", ["circles", "shapes"])
def test_the_export_loads_with_the_training_scripts_columns_and_the_trainers_examples(world_name, tmp_path):
    import export_dataset
    from datasets import Image, Value, load_dataset

    from helpers.tiny.worlds import world

    path = export_dataset.export(world_name, 12, tmp_path / world_name)
    assert path == tmp_path / world_name / "data" / "train-00000-of-00001.parquet"
    loaded = load_dataset(str(tmp_path / world_name), cache_dir=str(tmp_path / "cache"))
    assert list(loaded) == ["train"] and loaded["train"].num_rows == 12
    train = loaded["train"]
    assert train.column_names == list(export_dataset.COLUMNS) == ["image", "conditioning_image", "text"]
    assert isinstance(train.features["image"], Image) and isinstance(train.features["conditioning_image"], Image)
    assert train.features["text"] == Value("string")
    for index in (0, 11):
        expected, row = world(world_name).example(index, 0), train[index]
        assert row["text"] == expected.prompt
        assert np.array_equal(np.asarray(row["image"].convert("RGB")), expected.target)
        assert np.array_equal(np.asarray(row["conditioning_image"].convert("RGB")), expected.control)
