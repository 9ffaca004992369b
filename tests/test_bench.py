"""A smoke run of `tdd bench` (tiny repeat counts) so it cannot rot; no timing assertions."""

import json

import pytest

from tdd.cli import main


@pytest.mark.slow
def test_bench_quick_writes_its_report(tmp_path, capsys):
    assert main(["bench", "--quick", "--output", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "bench.json").read_text())
    keys = set(report["latency"])
    assert "scenes-tdd|b1|2|cfg" in keys and "scenes-ar|b2|greedy|-" in keys and "digits-tdd|b2|1|no-cfg" in keys
    assert all(v["median_ms"] > 0 for v in report["latency"].values())
    assert 0 <= report["step_breakdown"]["other_fraction"] < 1
    assert report["condition_caching"]["ratio_recomputed_over_cached"] > 0
    assert {r["model"] for r in report["quality_vs_time"]} == {"scenes-tdd", "scenes-mdd", "scenes-ar", "digits-tdd"}
    assert any(r["pareto"] for r in report["quality_vs_time"])
    assert set(report["training_throughput"]) == {"digits-tdd config", "scenes-tdd config"}
    md = (tmp_path / "bench.md").read_text()
    assert md.startswith("# Benchmarks") and "## 5. Training throughput" in md and md in capsys.readouterr().out


def test_bench_refuses_cuda_without_a_gpu(capsys):
    import pytest
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    assert main(["bench", "--device", "cuda"]) == 2
    assert "no CUDA device" in capsys.readouterr().err


def test_the_library_part_knows_no_bundled_model_and_writes_no_files():
    """`tdd bench` (the CLI) picks the models and where the report goes; tdd.bench measures what it is given."""
    from pathlib import Path

    import tdd.bench
    import tdd.bench_report

    for module in (tdd.bench, tdd.bench_report):
        source = Path(module.__file__).read_text(encoding="utf-8")
        assert not any(name in source for name in ("scenes-", "digits-", "results")), module.__name__
        assert "write_text" not in source and "open(" not in source
