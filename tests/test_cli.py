import json
import subprocess
import sys

import pytest


def _tdd(*args):
    return subprocess.run([sys.executable, "-m", "tdd", *args], capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_toy_json_output_schema():
    out = _tdd("toy", "--classes", "10", "--train-steps", "60", "--steps", "5", "--eval-size", "50", "--json")
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert len(summary["trajectory"]) == 5
    assert [r["step"] for r in summary["trajectory"]] == list(range(1, 6))
    assert all(0 <= r["argmax"] < 10 and 0 < r["p_argmax"] <= 1 for r in summary["trajectory"])
    assert 0 <= summary["accuracy"] <= 1 and summary["eval_size"] == 50


@pytest.mark.slow
def test_toy_table_and_bad_argument():
    out = _tdd("toy", "--classes", "10", "--train-steps", "20", "--steps", "3", "--eval-size", "20")
    assert out.returncode == 0 and "top-1 accuracy" in out.stdout
    bad = _tdd("toy", "--classes", "10", "--train-steps", "5", "--steps", "0")
    assert bad.returncode == 2 and "steps must be" in bad.stderr and "Traceback" not in bad.stderr
