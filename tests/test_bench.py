"""The benchmark command runs (at tiny size, on CPU) and prints a complete table; no timing is asserted."""

import json

import bench
import pytest
import torch

from helpers import recipes
from helpers.models.assembly import full_size_pipeline


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU behaviour")
def test_recipes_table_at_tiny_size_on_cpu(tmp_path, capsys):
    out = tmp_path / "bench.json"
    bench.main(["--json", str(out), "recipes", "--size", "tiny", "--device", "cpu", "--steps", "2", "--repeats", "1",
                "--only", "blog,blog-model-offload,blog-xformers,blog-4-per-prompt,recommended"])
    printed = capsys.readouterr().out
    figures = json.loads(out.read_text())
    rows = {r["recipe"]: r for r in figures["results"]}
    assert set(rows) == {"blog", "blog-model-offload", "blog-xformers", "blog-4-per-prompt", "recommended"}
    assert rows["blog-model-offload"]["status"] == "skipped: needs a GPU"
    assert rows["blog-xformers"]["status"].startswith("skipped:")
    for name in ("blog", "blog-4-per-prompt", "recommended"):
        row = rows[name]
        assert row["status"] == "ok", row
        assert row["dtype"] == "float32" and row["steps"] == 2
        assert row["seconds_per_image"] > 0 and row["steps_per_second"] > 0 and 0 < row["peak_fraction"] < 1
        assert row["peak_gib"] is None  # no GPU memory to report on a CPU
    assert "float32 kept" in " ".join(rows["recommended"]["applied"])
    assert figures["step_gflop"] > 0 and figures["torch"] == torch.__version__
    assert "| blog | float32 | 2 |" in printed and "recommended recipe vs blog recipe:" in printed


def test_unknown_recipe_is_refused():
    with pytest.raises(SystemExit, match="Unknown recipe"):
        bench.main(["recipes", "--only", "warp-speed"])


def test_table_reports_speedup_against_the_blog():
    results = [
        recipes.Result("blog", "", dtype="float16", steps=20, seconds_per_image=1.0, steps_per_second=20.0, peak_gib=3.0, peak_fraction=0.06),
        recipes.Result("recommended", "", dtype="bfloat16", steps=20, seconds_per_image=0.4, steps_per_second=50.0, peak_gib=2.9, peak_fraction=0.15),
        recipes.Result("blog-xformers", "", status="skipped: xformers not installed"),
    ]
    table = recipes.format_table(results)
    assert "| recommended | bfloat16 | 20 | 0.400 | 2.50x | 50.0 | 2.90 | 15.0 | ok |" in table
    assert "| blog-xformers |  |  |  |  |  |  |  | skipped: xformers not installed |" in table


def test_full_size_builder_and_flop_count_on_the_meta_device():
    """The GPU command's full-size pipeline, built on the meta device (no memory): SD1.5 + ControlNet sizes,
    and one CFG step's FLOPs matching the 2.17 TFLOP measured for the H200 reference table."""
    from helpers.concepts import count_parameters

    pipe = full_size_pipeline(torch.device("meta"), torch.float32)
    assert count_parameters(pipe.unet) == 859_520_964 and count_parameters(pipe.controlnet) == 361_279_120
    assert count_parameters(pipe.vae) == 83_653_863 and count_parameters(pipe.text_encoder) == 123_060_480
    assert recipes.flops_per_step(pipe, 512) / 1e12 == pytest.approx(2.17, abs=0.01)
