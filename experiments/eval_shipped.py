"""Held-out top-1 of the shipped digits models, the exact measurement behind the README's numbers.

python experiments/eval_shipped.py
"""

from __future__ import annotations

import time

from common import EVAL_SEED, command_line, experiment_parser, markdown_table, test_data, write_result

from tdd.classify import accuracy
from tdd.models import PretrainedModel

SETTINGS = [("digits-tdd", dict(steps=20)), ("digits-tdd", dict(steps=10)), ("digits-tdd", dict(steps=20, cfg=2.0))]
SETTINGS += [("digits-tdd", dict(steps=20, to_one="multinomial")), ("digits-linear", {})]


def main() -> None:
    args = experiment_parser(__doc__).parse_args()
    rows = []
    for name, kw in SETTINGS:
        model = PretrainedModel.from_pretrained(name)
        x, y = test_data(model.config.image_size)
        start = time.perf_counter()
        top1 = accuracy(model, x, y, seed=EVAL_SEED, **kw)
        seconds = time.perf_counter() - start
        trained = model.checkpoint_extra.get("train_args", {})
        setting = ", ".join(f"{k}={v}" for k, v in kw.items()) or "one forward pass"
        rows.append([name, setting, f"{100 * top1:.2f}", trained.get("epochs", "?"), f"{seconds:.1f}"])
    text = "# Shipped digits models: held-out top-1 (360 images)\n\n"
    text += f"Command: `{command_line()}`. Evaluation seed {EVAL_SEED}; argmax unless stated; time is for all 360 images.\n\n"
    text += markdown_table(["model", "sampling", "top-1 %", "epochs trained", "eval seconds"], rows)
    write_result(args, "shipped_models.md", text)


if __name__ == "__main__":
    main()
