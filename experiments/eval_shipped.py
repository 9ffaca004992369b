"""Held-out top-1 of the shipped digits models, the exact measurement behind the digits results (docs/results/digits.md): the
1,000 held-out MNIST digits, and the cross-dataset set (all 1,797 scikit-learn digits, 8×8, put into
MNIST's format by the same preprocessing as a user's image).

python experiments/eval_shipped.py
"""

from __future__ import annotations

import time

from common import (
    EVAL_SEED,
    command_line,
    experiment_parser,
    markdown_table,
    smoke_subset,
    test_data,
    write_result,
)

from tdd.classify import accuracy
from tdd.models import PretrainedModel

SETTINGS = [("digits-tdd", dict(steps=20)), ("digits-tdd", dict(steps=10)), ("digits-tdd", dict(steps=20, cfg=2.0))]
SETTINGS += [("digits-tdd", dict(steps=20, to_one="multinomial")), ("digits-linear", {})]


def main() -> None:
    args = experiment_parser(__doc__).parse_args()
    from tdd.data.digits import sklearn_digits_as_mnist, to_model_input

    other_images, other_labels = smoke_subset(args, *sklearn_digits_as_mnist())
    rows = []
    for name, kw in SETTINGS:
        model = PretrainedModel.from_pretrained(name)
        x, y = test_data(args, model.config.image_size)
        start = time.perf_counter()
        top1 = accuracy(model, x, y, seed=EVAL_SEED, **kw)
        seconds = time.perf_counter() - start
        other = accuracy(model, to_model_input(other_images, model.config.image_size), other_labels, seed=EVAL_SEED,
                         **kw)  # fmt: skip
        trained = model.checkpoint_extra.get("train_args", {})
        setting = ", ".join(f"{k}={v}" for k, v in kw.items()) or "one forward pass"
        row = [name, setting, f"{100 * top1:.2f}", f"{100 * other:.2f}", trained.get("epochs", "?"), f"{seconds:.1f}"]
        rows.append(row)
    text = f"# Shipped digits models: held-out top-1 (MNIST, {len(y)} images) and cross-dataset\n\n"
    text += f"Command: `{command_line()}`. Evaluation seed {EVAL_SEED}; argmax unless stated; eval seconds are for the {len(y)} MNIST images.\n"
    text += f"Cross-dataset: all {len(other_labels)} scikit-learn digits (8×8, never trained on), through the user-image preprocessing.\n\n"
    header = ["model", "sampling", "MNIST held-out top-1 %", "scikit-learn digits top-1 %", "epochs trained"]
    text += markdown_table([*header, "eval seconds"], rows)
    write_result(args, "shipped_models.md", text)


if __name__ == "__main__":
    main()
