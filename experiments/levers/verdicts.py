"""The verdicts: each lever row against the paper's row, its recipe and the row it varies, and the issue's
targets for the improved recipe, within one scenes version, CPU and budget."""

from __future__ import annotations

import statistics

from levers.rows import ROWS, STEP_COUNTS, Key


def _fmt(values: list[float], scale: float = 100.0, digits: int = 1) -> str:
    """One value, or mean ± spread (half the range) over seeds."""
    if len(values) == 1:
        return f"{scale * values[0]:.{digits}f}"
    mean = statistics.mean(values)
    return f"{scale * mean:.{digits}f} ± {scale * (max(values) - min(values)) / 2:.{digits}f}"


def _exact(runs: list[dict], steps: int) -> float:
    key = "at_greedy" if runs[0]["method"] == "ar" else f"at_{steps}"
    return statistics.mean(r[key]["exact_match"] for r in runs)


BASELINES = ("paper", "mdd", "ar", "mdd_canonical", "ar_canonical")
# the improved recipe against its baselines trained on the same captions
TARGET_ROWS = {
    "improved": ("ar", "mdd"),
    "improved_canonical": ("ar_canonical", "mdd_canonical"),
    "improved_canonical_k2": ("ar_canonical", "mdd_canonical"),  # the shipped recipe (scenes_tdd.yaml: kfold 2)
    "improved_canonical_k2_shared": ("ar_canonical", "mdd_canonical"),  # the same, after the shared memory
    "improved_canonical_k2_shared_adaln_zero": ("ar_canonical", "mdd_canonical"),  # + adaLN-Zero
}
# the recipe the lever rows below vary (each judged as it is); its _sincos row is --recipe improved now
RECIPE = "improved_canonical_k2_shared_adaln_zero"
TARGET_ROWS |= {r: TARGET_ROWS[RECIPE] for r in ROWS if r.startswith(RECIPE + "_")}
# a lever every method takes is judged against AR with it too
TARGET_ROWS[RECIPE + "_sincos"] = ("ar_canonical_sincos", "mdd_canonical")
# rows that change one thing of another lever row: judged against it too
AGAINST = {
    "improved_canonical_k1": "improved_canonical",
    "improved_canonical_k2": "improved_canonical",
    "improved_canonical_k2_floor": "improved_canonical_k2",
    "improved_canonical_k2_floor_low": "improved_canonical_k2",
    "improved_canonical_k2_no_self_cond": "improved_canonical_k2",
    "improved_canonical_k2_no_posterior": "improved_canonical_k2",
    "improved_canonical_k2_uniform": "improved_canonical_k2",
    "improved_canonical_k2_lr2x": "improved_canonical_k2",
    "improved_canonical_k2_lr_half": "improved_canonical_k2",
    "improved_canonical_k2_unroll": "improved_canonical_k2",
    "improved_canonical_k2_stratified": "improved_canonical_k2",
    "improved_canonical_k2_stratified_lr_half": "improved_canonical_k2",
    "improved_canonical_k2_output_prior": "improved_canonical_k2",
    "improved_canonical_k2_shared": "improved_canonical_k2",
    "improved_canonical_k3_shared": "improved_canonical_k2_shared",
    "improved_canonical_k2_shared_cfg2": "improved_canonical_k2_shared",
    "improved_canonical_k2_shared_b16": "improved_canonical_k2_shared",
    "improved_canonical_k2_shared_adaln_zero": "improved_canonical_k2_shared",
    "improved_canonical_k2_shared_b64": "improved_canonical_k2_shared",
}
AGAINST |= {r: RECIPE for r in ROWS if r.startswith(RECIPE + "_")}  # against the recipe too
AGAINST["ar_canonical_sincos"] = "ar_canonical"  # a baseline's own lever row: against that baseline only


def _spread(runs: list[dict], steps: int) -> float:
    """The spread over seeds of exact match as the table shows it: half the range (points; 0 for one seed)."""
    key = "at_greedy" if runs[0]["method"] == "ar" else f"at_{steps}"
    values = [r[key]["exact_match"] for r in runs]
    return 100 * (max(values) - min(values)) / 2


def _verdict(row: str, runs: list[dict], base: str, base_runs: list[dict]) -> str:
    """helps / hurts beyond ±2 points and beyond the larger seed spread of the two rows (on two or more shared
    seeds: beyond the spread of the per-seed differences); else no effect.

    Compared on the seeds both rows ran where they share any: a seed here lands within a couple of points of
    itself from run to run (the recipe's seeds 0-2 before and after the shared memory) while seeds differ by
    up to 12 points, so a one-seed row against a four-seed mean would judge the seed, not the lever."""
    common = {r["seed"] for r in runs} & {r["seed"] for r in base_runs}
    paired = bool(common) and common != {r["seed"] for r in runs} | {r["seed"] for r in base_runs}
    if common:
        runs = [r for r in runs if r["seed"] in common]
        base_runs = [r for r in base_runs if r["seed"] in common]
    diff = 100 * (_exact(runs, 20) - _exact(base_runs, 20))
    band = max(2.0, _spread(runs, 20), _spread(base_runs, 20))
    if len(common) > 1:  # paired: the spread of the per-seed differences, which the seeds' own spread does not enter
        key = "at_greedy" if runs[0]["method"] == "ar" else "at_20"
        by_seed = {r["seed"]: r[key]["exact_match"] for r in base_runs}
        diffs = [100 * (r[key]["exact_match"] - by_seed[r["seed"]]) for r in runs]
        band = max(2.0, (max(diffs) - min(diffs)) / 2)
    word = "helps" if diff > band else "hurts" if diff < -band else "no effect"
    if band > 2 and word == "no effect" and abs(diff) > 2:
        word = f"no effect beyond the seed spread (±{band:.1f})"
    seeds = f"{len(runs)} seed{'s' * (len(runs) > 1)}"
    if paired:
        seeds += f", on the seed{'s' * (len(common) > 1)} both ran: {', '.join(map(str, sorted(common)))}"
    return f"- {row} vs {base}: {word} ({diff:+.1f} points, {seeds})"


def _targets(name: str, rows: dict[str, list[dict]]) -> list[str]:
    """The issue's targets for the improved-recipe row ``name`` (its AR and MDD rows: the same captions)."""
    imp = {s: 100 * _exact(rows[name], s) for s in STEP_COUNTS}
    checks = [(f"{name}@5 within 2 points of {name}@20 ({imp[5]:.1f} vs {imp[20]:.1f})", abs(imp[5] - imp[20]) <= 2)]
    if "paper" in rows:
        paper = 100 * _exact(rows["paper"], 20)
        checks.insert(0, (f"{name}@20 ≥ paper@20 + 15 ({imp[20]:.1f} vs {paper:.1f} + 15)", imp[20] >= paper + 15))
    ar_row, mdd_row = TARGET_ROWS[name]
    if ar_row in rows:
        ar = 100 * _exact(rows[ar_row], 20)
        checks.append((f"{name}@20 ≥ {ar_row} − 2 ({imp[20]:.1f} vs {ar:.1f} − 2 = {ar - 2:.1f})", imp[20] >= ar - 2))
    if mdd_row in rows:
        mdd = {s: 100 * _exact(rows[mdd_row], s) for s in STEP_COUNTS}
        shown = ", ".join(f"{imp[s]:.1f} vs {mdd[s]:.1f}" for s in STEP_COUNTS)
        checks.append((f"{name} > {mdd_row} at every step count ({shown})", all(imp[s] > mdd[s] for s in STEP_COUNTS)))
    return [f"- {text}: {'met' if ok else '**not met**'}" for text, ok in checks]


def verdicts(found: dict[Key, list[dict]], version: int, cpu: str, budget: str) -> list[str]:
    """Per lever against the paper's row, and a ``*_canonical`` row also against the paper's recipe on the
    same captions (exact match at 20 steps; within 2 points: no effect); the issue's targets for the
    improved recipe. Only rows of one scenes version, CPU and budget are compared."""
    rows = {row: runs for (v, c, row, b), runs in found.items() if (v, c, b) == (version, cpu, budget)}
    lines = [
        f"Verdicts at {budget}, scenes version {version}, CPU: {cpu} (exact match at 20 steps; within ±2 points "
        "or the seed spread: no effect):",
        "",
    ]
    if "paper" not in rows:
        lines.append("- the paper's row was not run at this budget: no verdict against it")
    for row, runs in rows.items():
        if row in BASELINES:
            continue
        tdd_row = runs[0]["method"] == "tdd"  # a baseline's own lever row (ar_canonical_sincos): its baseline only
        if tdd_row and "paper" in rows:
            lines.append(_verdict(row, runs, "paper", rows["paper"]))
        if tdd_row and "_canonical" in row and "canonical" in rows:
            lines.append(_verdict(row, runs, "canonical", rows["canonical"]))
        if AGAINST.get(row) in rows:
            lines.append(_verdict(row, runs, AGAINST[row], rows[AGAINST[row]]))
    ranked = sorted(rows, key=lambda r: -_exact(rows[r], 20))
    lines.append("- ranking by exact@20: " + " > ".join(f"{r} ({100 * _exact(rows[r], 20):.1f})" for r in ranked))
    for name in TARGET_ROWS:
        if name in rows:
            lines += ["", f"Targets of the issue at this budget ({name}):", "", *_targets(name, rows)]
    return lines
