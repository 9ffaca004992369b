"""What a trained captioner's image path knows: linear probes of its image tokens for each group's shape and colour.

The conditioner's output tokens (the memory every decoder layer attends to) of ``--probe-size`` scenes that no
captioner trained on are flattened and standardised, and a linear classifier per attribute is fitted to them (Adam,
full batch, a fixed seed); the table gives its accuracy on ``--eval-size`` held-out test scenes, for the first and
the second group of the canonical caption. A probe reads what the tokens hold, not what the decoder makes of them:
two captioners at equal steps whose probes differ learnt their encoders at different speeds.

    python experiments/encoder_probe.py runs/levers/ar_canonical_n2000_s0/final \\
        runs/levers/improved_canonical_k2_shared_adaln_zero_n2000_s0/final --name levers_n2000
"""

from __future__ import annotations

from pathlib import Path

import torch
from common import command_line, experiment_parser, markdown_table, write_result

from tdd.data.images import rgb_to_tensor
from tdd.data.scenes import COLOURS, SHAPES, make_scene
from tdd.models.registry import PretrainedModel

ATTRIBUTES = {"shape": SHAPES, "colour": tuple(COLOURS)}
PROBE_OFFSET = 100_000  # probe scenes: train-split indices past every training set of the ablation (50,000)
EPOCHS, LR, WEIGHT_DECAY = 150, 1e-3, 1e-4


def get_parser():
    p = experiment_parser(__doc__)
    p.add_argument("models", nargs="+", help="checkpoint directories (a run's final/) or bundled model names")
    p.add_argument("--probe-size", type=int, default=4000, help="scenes the probes are fitted on")
    p.add_argument("--eval-size", type=int, default=1000, help="held-out test scenes the probes are scored on")
    p.add_argument("--style", default="plain", help="the renderer of the probe and test scenes")
    p.add_argument("--seed", type=int, default=0, help="the probes' initialisation")
    p.add_argument("--name", default="encoder_probe", help="results/<name>.md")
    return p


def scenes(n: int, split: str, offset: int, style: str) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Images ``(n, 3, 64, 64)`` and, per attribute, ``(n, 2)`` class ids of the caption's groups (−1: none)."""
    images, labels = [], {a: [] for a in ATTRIBUTES}
    for i in range(offset, offset + n):
        scene = make_scene(i, 0, split, 64, style, "canonical")
        images.append(rgb_to_tensor(scene.image))
        groups = scene.description.canonical().groups()
        for attribute, names in ATTRIBUTES.items():
            ids = [names.index(getattr(g, attribute)) for g in groups]
            labels[attribute].append(ids + [-1] * (2 - len(ids)))
    return torch.stack(images), {a: torch.tensor(v) for a, v in labels.items()}


@torch.no_grad()
def image_tokens(model, images: torch.Tensor, batch: int = 200) -> torch.Tensor:
    """The conditioner's tokens, flattened: ``(n, L·W)``."""
    return torch.cat([model.conditioner(images[i : i + batch])[1].flatten(1) for i in range(0, len(images), batch)])


def probe_accuracy(train_x, train_y, test_x, test_y, classes: int, seed: int) -> float:
    """A linear probe fitted on the rows with a label, scored on the test rows with one."""
    keep, held = train_y >= 0, test_y >= 0
    torch.manual_seed(seed)
    linear = torch.nn.Linear(train_x.shape[1], classes)
    optimizer = torch.optim.Adam(linear.parameters(), LR, weight_decay=WEIGHT_DECAY)
    for _ in range(EPOCHS):
        loss = torch.nn.functional.cross_entropy(linear(train_x[keep]), train_y[keep])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        return (linear(test_x[held]).argmax(-1) == test_y[held]).float().mean().item()


def main(args) -> Path:
    torch.set_num_threads(1)
    n_probe, n_eval = (64, 32) if args.smoke else (args.probe_size, args.eval_size)
    train_images, train_labels = scenes(n_probe, "train", PROBE_OFFSET, args.style)
    test_images, test_labels = scenes(n_eval, "test", 0, args.style)
    header = ["model", "steps"] + [f"{a} {g} group" for a in ATTRIBUTES for g in ("first", "second")]
    rows = []
    for name in args.models:
        model = PretrainedModel.from_pretrained(name).eval()
        train_x, test_x = image_tokens(model, train_images), image_tokens(model, test_images)
        mean, std = train_x.mean(0), train_x.std(0) + 1e-5
        train_x, test_x = (train_x - mean) / std, (test_x - mean) / std
        steps = model.checkpoint_extra.get("result", {}).get("step", "–")  # what the run trained for
        row: list[object] = [name, steps]
        for attribute, names in ATTRIBUTES.items():
            for g in (0, 1):
                acc = probe_accuracy(
                    train_x, train_labels[attribute][:, g], test_x, test_labels[attribute][:, g], len(names), args.seed
                )
                row.append(f"{100 * acc:.1f}")
        rows.append(row)
        print(" | ".join(map(str, row)), flush=True)
    text = (
        f"# Linear probes of the captioners' image tokens\n\nCommand: `{command_line()}`. Probes fitted on "
        f"{n_probe} scenes no captioner trained on, scored on {n_eval} held-out test scenes ({args.style} renderer, "
        f"canonical captions), probe seed {args.seed}; accuracy in %.\n\n" + markdown_table(header, rows) + "\n"
    )
    return write_result(args, f"{args.name}.md", text)


if __name__ == "__main__":
    main(get_parser().parse_args())
