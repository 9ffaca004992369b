"""A smoke run of every experiment script (a few iterations each) so they cannot rot."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tdd.data.scenes import SCENES_VERSION

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = [
    "tab1_tdd_vs_linear",
    "fig3_accuracy_per_epoch",
    "tab2_ablations",
    "fig5_steps",
    "fig6_distributions",
    "eval_shipped",
    "eval_scenes_captioners",
    "caption_steps",
    "omega_sweep",
    "timestep_information",
    "tdd_levers",
    "fig9_sentences",
    "fig10_settle",
    "tab3_clip_score",
    "drawn_shapes",
    "encoder_probe",
    "shape_binding",
    "phrasings",
    "binding",
    "emoji_classify",
    "emoji_caption",  # on emoji_classify's encoder
    "emoji_clip_score",  # on emoji_caption's runs
    "emoji_caption_levers",
]


OUTPUT = {"eval_shipped": "shipped_models", "eval_scenes_captioners": "captioners"}
EXTRA = {
    "tdd_levers": ["--rows", "paper", "informative", "mdd", "canonical", "--table"],
    "encoder_probe": ["scenes-tdd", "scenes-ar"],
    "shape_binding": ["scenes-tdd", "scenes-ar", "--timesteps", "1000", "250"],
    "phrasings": ["--candidate", "scenes-tdd"],  # the shipped model stands in for a four-phrasing one
    "binding": ["scenes-tdd"],
}
PLOTS = {"fig3_accuracy_per_epoch", "fig5_steps", "fig6_distributions", "fig10_settle", "caption_steps"}


@pytest.fixture(scope="module")
def dirs(tmp_path_factory):
    base = tmp_path_factory.mktemp("experiments")
    return base / "runs", base / "results"


@pytest.mark.parametrize("script", SCRIPTS)  # in this order: later scripts reuse earlier runs
def test_experiment_script_smoke(script, dirs, request):
    runs, results = dirs
    if script.startswith("emoji"):  # the emoji styles come from Debian and npm packages (installed when missing)
        absent = request.getfixturevalue("sources")["absent"]
        if absent:
            pytest.skip(f"emoji styles not installable here: {absent}")
    cmd = [sys.executable, str(ROOT / "experiments" / f"{script}.py"), "--smoke", *EXTRA.get(script, [])]
    if script == "tdd_levers":  # a record from the first scenes version, made before records kept theirs
        (results / "tdd_levers").mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / "results" / "tdd_levers" / "paper_b900_s0.json", results / "tdd_levers")
    out = subprocess.run(
        [*cmd, "--runs-dir", str(runs), "--results-dir", str(results)], capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stderr[-3000:]
    table = (results / f"{OUTPUT.get(script, script)}.md").read_text()
    assert table.startswith("# ") and "| " in table and "Command: `python" in table
    if script == "encoder_probe":  # one row per model: its steps, then four accuracies in %
        for name in ("scenes-tdd", "scenes-ar"):
            cells = next(line for line in table.splitlines() if line.startswith(f"| {name} |")).split("|")[2:-1]
            assert int(cells[0]) > 0 and all(0 <= float(c) <= 100 for c in cells[1:]), cells
    if script == "shape_binding":  # TDD: a row per t; AR: one, teacher-forced; then three accuracies in % (or –)
        lines = [line.split("|")[1:-1] for line in table.splitlines() if line.startswith("| scenes-")]
        assert [(c[0].strip(), c[2].strip()) for c in lines] == [
            ("scenes-tdd", "y_t at t = 1000"),
            ("scenes-tdd", "y_t at t = 250"),
            ("scenes-ar", "true words before"),
        ]
        # 32 scenes hold both kinds, so every cell has words; the shipped captioners read the shapes of plain scenes
        # (100 % on 500): a misaligned AR shift or a wrong noise level would show here
        assert 0 < int(table.split(" of two groups")[0].rsplit("; ", 1)[1]) < 32
        assert all(float(c) >= 90 for cells in lines if "1000" not in cells[2] for c in cells[3:]), lines
        assert all(0 <= float(c) <= 100 for cells in lines for c in cells[3:]), lines
        wrong = subprocess.run([*cmd[:3], "scenes-mdd", "--results-dir", str(results)], capture_output=True, text=True)
        assert wrong.returncode != 0
        assert "scenes-mdd is a mdd-captioner; a TDD or AR captioner is needed" in wrong.stderr
        missing = subprocess.run([*cmd[:3], str(runs / "none")], capture_output=True, text=True)
        assert missing.returncode != 0 and "no such checkpoint directory" in missing.stderr
        assert "Traceback" not in missing.stderr
    if script == "binding":  # exact % (all, one group, two groups), given the first (two orders), copied (two)
        row = next(line for line in table.splitlines() if line.startswith("| scenes-tdd |")).split("|")[3:-1]
        values = [float(v) for cell in row for v in cell.replace("/", " ").split() if not v.startswith("(")]
        assert len(values) == 7 and all(0 <= v <= 100 for v in values), row
        assert float(row[1]) == 100.0, row  # the shipped captioner gets the one-group scenes of 12 right
        missing = subprocess.run([*cmd[:2], str(runs / "none")], capture_output=True, text=True)
        assert missing.returncode != 0 and "no such checkpoint directory" in missing.stderr
        assert "Traceback" not in missing.stderr
    if script == "tdd_levers":  # each row's record is kept beside the table, so it rebuilds without the runs
        records = {p.name: json.loads(p.read_text()) for p in (results / "tdd_levers").glob("*.json")}
        assert "cpu" not in records.pop("paper_b900_s0.json")  # the old record keeps its name
        assert sorted(r["row"] for r in records.values()) == ["canonical", "informative", "mdd", "paper"]
        cpu = {r["cpu"] for r in records.values()}.pop()  # each new record names the CPU it ran on, in its name too
        for name, r in records.items():
            assert r["cpu"] == cpu and name.startswith(f"{r['row']}_b360_s0_v{SCENES_VERSION}_cpu-"), name
        assert f"| v{SCENES_VERSION} | {cpu} | canonical |" in table
        assert "| v1 | earlier machine (not recorded) | paper | 900 s |" in table
        # rows of different scenes or CPUs are never compared: each version and CPU gets its own verdicts
        assert f"Verdicts at 360 s, scenes version {SCENES_VERSION}, CPU: {cpu}" in table
        assert "Verdicts at 900 s, scenes version 1, CPU: earlier machine (not recorded)" in table
        trained = json.loads((runs.parent / "levers" / "paper_b360_s0" / "final" / "config.json").read_text())
        args = trained["extra"]["train_args"]
        assert (args["encoder_from"], args["freeze_encoder"]) == ("", False)  # each row trains its own encoder
        # a step budget: the row trains that many steps, in its own folder, record and verdicts
        again = [*cmd[:3], "--row", "paper", "--budget-steps", "4", "--table"]
        out = subprocess.run(
            [*again, "--runs-dir", str(runs), "--results-dir", str(results)],
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert out.returncode == 0, out.stderr[-3000:]
        (record,) = (results / "tdd_levers").glob("paper_n4_s0_*.json")
        r = json.loads(record.read_text())
        assert (r["budget_steps"], r["steps"], "budget" in r) == (4, 4, False)
        assert (runs.parent / "levers" / "paper_n4_s0" / "final" / "config.json").is_file()
        table = (results / "tdd_levers.md").read_text()
        assert f"| v{SCENES_VERSION} | {cpu} | paper | 4 steps | 0 | 4 |" in table
        assert f"Verdicts at 4 steps, scenes version {SCENES_VERSION}, CPU: {cpu}" in table
    if script == "timestep_information":
        assert "plotly" in (results / "timestep_information.html").read_text()
    if script in PLOTS:
        assert (results / f"{script}.png").stat().st_size > 1000
