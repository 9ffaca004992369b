"""Ablation of TDD's training and sampling levers on the scenes captioner, at an equal time budget.

Every row trains ``train/train_captioner.py`` with the scenes config of its method for ``--budget``
seconds of training on one thread (``--time-budget``: the lr schedule follows the budget; counted in the
process's CPU seconds, ``--budget-clock cpu``, so that other work on the machine does not shorten a row), then is
evaluated on ``--eval-size`` held-out scenes: exact match and attribute accuracy at 2, 5, 10 and 20
steps, teacher-forced CE in bands of t, optimizer steps, images seen and sampling CPU ms per caption
(batch 1, 20 steps, one thread).

    python experiments/tdd_levers.py --row paper --seed 0     # one row (trains, then evaluates)
    python experiments/tdd_levers.py --rows paper self_cond   # several, one after the other
    python experiments/tdd_levers.py --table                  # results/tdd_levers.md from the runs made

``--budget-steps N`` trains each row for N optimizer steps instead (the lr schedule follows the steps): for levers
that leave a step's cost unchanged, compared with the recipe at equal steps. On the AMD EPYC a CPU-second did not buy
the same steps from one run to the next (the recipe alone 442-468 ms a step, beside another run or on another day
476-530), and at ~1,900 steps, where shape accuracy still jumps, ±100 steps moved a row by up to 20 points.

A row's run lives in ``--runs-dir/levers/<row>_b<budget>_s<seed>`` (``<row>_n<N>_s<seed>`` with a step budget) and
is reused (``--resume``) when the script is run again; rows can run two at a time on two cores (each uses one
thread). Each record keeps the version of the scenes it was trained and evaluated on
(``tdd.data.scenes.SCENES_VERSION``) and the CPU it ran on (a CPU-second buys different step counts on different
CPUs: the same budget gave the recipe ~2,800 steps on the earlier sessions' machine, ~1,800-2,000 on an AMD EPYC and
~3,000-3,400 on an Intel Xeon with AMX):
the table lists versions and CPUs apart and compares rows only within one of each.
"""

from __future__ import annotations

from common import command_line, experiment_parser, write_result
from levers.rows import BASE, ROWS
from levers.run import LEGACY_CPU, run_row
from levers.table import budget_order, collect, save_records, table
from levers.verdicts import verdicts

__all__ = ["main", "verdicts"]


def get_parser():
    p = experiment_parser(__doc__)
    p.add_argument("--row", default=None, choices=sorted(ROWS))
    p.add_argument("--rows", nargs="*", default=[], choices=sorted(ROWS))
    p.add_argument("--table", action="store_true", help="write results/tdd_levers.md from the finished rows")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--budget", type=float, default=360.0, help="seconds of training per row (one thread)")
    steps = "train each row for this many optimizer steps instead of --budget seconds (a lever at equal steps)"
    p.add_argument("--budget-steps", type=int, default=None, help=steps)
    p.add_argument("--eval-size", type=int, default=500)
    return p


def main() -> None:
    args = get_parser().parse_args()
    for row in ([args.row] if args.row else []) + args.rows:
        run_row(args, row)
    if args.table:
        text = "# TDD's levers on the scenes captioner, at an equal time budget\n\n"
        text += f"Command: `{command_line()}` (each row: `python experiments/tdd_levers.py --row NAME --seed S "
        text += "--budget B`). Exact match and attributes in % on held-out test scenes, argmax sampling, no CFG unless "
        text += "the row says so "
        text += "(AR: greedy, the same figure in every step column); CE: teacher-forced, nats per token. Every row: "
        text += "the plain renderer, 50,000 training scenes, the method's scenes config with the paper's objective "
        text += f"(`{' '.join(BASE)}`) and the row's flags; `*_canonical` rows train on one canonical phrasing per "
        text += "scene (`--scene-phrasing canonical`), the others on all four synonyms. Scenes: the version of the "
        text += "scene generator a row was trained and evaluated on (`tdd.data.scenes.SCENES_VERSION`; v2 lays two "
        text += "groups out so that just the named relation holds, v1 let two relations be true); rows are compared "
        text += "only within one version. CPU: the machine a row ran on (a CPU-second buys different step counts on "
        text += "different CPUs; rows are compared only within one).\n\n"
        found = collect(args)
        save_records(args, found)
        text += table(found) + "\n"
        # the newest scenes first; per version and CPU the ablation's budget, then any longer runs of the top rows
        groups = sorted(
            {(v, c, b) for v, c, _, b in found}, key=lambda g: (-g[0], g[1] != LEGACY_CPU, g[1], budget_order(g[2]))
        )
        for version, cpu, budget in groups:
            text += "\n".join(verdicts(found, version, cpu, budget)) + "\n\n"
        write_result(args, "tdd_levers.md", text)


if __name__ == "__main__":
    main()
