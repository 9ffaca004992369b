"""The table: every finished row's record (runs made here and records committed in ``results/tdd_levers/``),
grouped by scenes version, CPU, row and budget, kept as JSON and shown as markdown."""

from __future__ import annotations

import json
from pathlib import Path

from common import markdown_table
from levers.rows import BANDS, RECORDS, ROWS, STEP_COUNTS, Key
from levers.run import LEGACY_CPU, cpu_of, size_tag
from levers.verdicts import _fmt


def version_of(record: dict) -> int:
    """The scenes version a record was made on (records from before the field: 1)."""
    return record.get("scenes_version", 1)


def budget_of(record: dict) -> str:
    """A record's budget as the table names it: ``"900 s"`` (CPU-seconds) or ``"1900 steps"``."""
    if record.get("budget_steps"):
        return f"{record['budget_steps']} steps"
    return f"{record['budget']:g} s"


def budget_order(budget: str) -> tuple[bool, float]:
    """Time budgets first, each kind by size."""
    number, unit = budget.split()
    return unit == "steps", float(number)


def record_name(r: dict) -> str:
    """``<row>_<size>_s<seed>.json`` (:func:`size_tag`), with ``_v<version>`` after it for scenes versions after the first and
    ``_cpu-<model>`` after that for records that name their CPU."""
    version = version_of(r)
    size = size_tag(r.get("budget"), r.get("budget_steps"))
    name = f"{r['row']}_{size}_s{r['seed']}" + (f"_v{version}" if version > 1 else "")
    if "cpu" in r:
        name += "_cpu-" + "".join(ch if ch.isalnum() else "-" for ch in r["cpu"]).strip("-").lower()
    return name + ".json"


def collect(args) -> dict[Key, list[dict]]:
    """Every finished row by scenes version, CPU, row and budget: the runs under ``--runs-dir`` and the records
    committed in ``--results-dir/tdd_levers/`` (one JSON per version, CPU, row, budget and seed; a run made here
    wins)."""
    records: dict[tuple[int, str, str, str, int], dict] = {}
    paths = sorted((Path(args.results_dir) / RECORDS).glob("*.json"))
    paths += sorted((Path(args.runs_dir).parent / "levers").glob("*/ablation_*.json"))
    for path in paths:
        r = json.loads(path.read_text())
        records[(version_of(r), cpu_of(r), r["row"], budget_of(r), r["seed"])] = r
    found: dict[Key, list[dict]] = {}
    for (version, cpu, row, budget, _), r in sorted(records.items()):
        found.setdefault((version, cpu, row, budget), []).append(r)
    return found


def save_records(args, found: dict[Key, list[dict]]) -> None:
    """Keep each row's record in ``--results-dir/tdd_levers/`` (committed), so the table can be rebuilt
    on a machine that no longer holds the runs."""
    folder = Path(args.results_dir) / RECORDS
    folder.mkdir(parents=True, exist_ok=True)
    for runs in found.values():
        for r in runs:
            (folder / record_name(r)).write_text(json.dumps(r, indent=1, sort_keys=True) + "\n")


def table(found: dict[Key, list[dict]]) -> str:
    header = ["scenes", "CPU", "row", "budget", "seeds", "steps", "images seen"]
    header += [f"exact@{s}" for s in STEP_COUNTS] + ["shape@20", "colour@20", "size@20", "count@20", "relation@20"]
    header += [f"CE t∈[{lo},{hi}]" for lo, hi in BANDS] + ["CPU ms/caption"]
    rows = []
    order = {name: i for i, name in enumerate(ROWS)}
    newest = sorted(found, key=lambda k: (-k[0], k[1] != LEGACY_CPU, k[1], budget_order(k[3]), order[k[2]]))
    for version, cpu, row, budget in newest:
        runs = found[(version, cpu, row, budget)]
        line = [f"v{version}", cpu, row, budget, ",".join(str(r["seed"]) for r in runs)]
        line += [_fmt([r["steps"] for r in runs], 1, 0), _fmt([r["images_seen"] for r in runs], 1, 0)]
        for s in STEP_COUNTS:
            key = "at_greedy" if runs[0]["method"] == "ar" else f"at_{s}"
            line.append(_fmt([r[key]["exact_match"] for r in runs]))
        last = "at_greedy" if runs[0]["method"] == "ar" else "at_20"
        line += [_fmt([r[last][a] for r in runs]) for a in ("shape", "colour", "size", "count", "relation")]
        for lo, hi in BANDS:
            key = f"ce_{lo}_{hi}"
            line.append(_fmt([r[key] for r in runs], 1, 3) if key in runs[0] else "–")
        line.append(_fmt([r["ms_per_caption"] for r in runs], 1, 1))
        rows.append(line)
    return markdown_table(header, rows)
