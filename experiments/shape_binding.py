"""Where a captioner's shape errors are: scenes of one group against the first and second group of two-group scenes.

Teacher-forced, on ``--eval-size`` held-out test scenes with canonical captions: the share of the shape words the
model's argmax gets right. A TDD model sees the true caption noised to each ``--timesteps`` t (no draft); an AR model
the true words before each position. In a two-group scene the caption names the left (or upper) group first, so at
t = T, where y_t says nothing, a TDD decoder must find which object each shape word is about from the image alone,
while AR's shape query already knows the size and colour words of its group. A gap between the one-group column and
the two-group ones is a binding cost, not an eye for shapes.

    python experiments/shape_binding.py runs/levers/improved_canonical_k2_shared_adaln_zero_n2000_s2/final \\
        runs/levers/ar_canonical_n2000_s2/final --name shape_binding_n2000
"""

from __future__ import annotations

from pathlib import Path

import torch
from captioning import as_batch
from common import command_line, experiment_parser, markdown_table, write_result

from tdd.checkpoint import CheckpointError
from tdd.data.scenes import PLURAL, SHAPES, make_scene
from tdd.data.tokenizer import encode, load_tokenizer
from tdd.diffusion import TweedieDiffusion
from tdd.models.registry import PretrainedModel, resolve_checkpoint

GROUPS = ("one group", "two groups, first", "two groups, second")


def get_parser():
    p = experiment_parser(__doc__)
    p.add_argument("models", nargs="+", help="checkpoint directories (a run's final/) or bundled model names")
    p.add_argument("--eval-size", type=int, default=500, help="held-out test scenes")
    p.add_argument("--timesteps", type=int, nargs="+", default=[1000, 400, 250], help="TDD: the t of y_t")
    p.add_argument("--style", default="plain", help="the renderer of the test scenes")
    p.add_argument("--seed", type=int, default=0, help="the noise of y_t")
    p.add_argument("--name", default="shape_binding", help="results/<name>.md")
    return p


def test_scenes(n: int, style: str) -> tuple[torch.Tensor, list[str], torch.Tensor]:
    """Images ``(n, 3, 64, 64)``, canonical captions, and ``(n,)`` bool: the scene has two groups."""
    images, descriptions, _, captions = as_batch([make_scene(i, 0, "test", 64, style, "canonical") for i in range(n)])
    return images, captions, torch.tensor([d.second is not None for d in descriptions])


def group_masks(tokens: torch.Tensor, shape_ids: list[int], two: torch.Tensor) -> dict[str, torch.Tensor]:
    """``(n, N)`` bool per entry of ``GROUPS``: where that group's shape word is."""
    is_shape = torch.isin(tokens, torch.tensor(shape_ids))
    nth = is_shape.cumsum(1)
    return {
        GROUPS[0]: is_shape & (nth == 1) & ~two[:, None],
        GROUPS[1]: is_shape & (nth == 1) & two[:, None],
        GROUPS[2]: is_shape & (nth == 2) & two[:, None],
    }


def accuracies(right: torch.Tensor, masks: dict[str, torch.Tensor]) -> list[str]:
    return [f"{100 * right[m].float().mean().item():.1f}" if m.any() else "–" for m in masks.values()]


@torch.inference_mode()
def model_rows(name: str, images, captions, two, args) -> list[list[object]]:
    try:
        model = PretrainedModel.from_pretrained(name).eval()
        tokenizer = load_tokenizer(resolve_checkpoint(name))
    except CheckpointError as error:
        raise SystemExit(f"shape_binding.py: error: {error}") from None
    c = model.config
    tokens, _ = encode(tokenizer, captions, c.max_len, truncate=True)
    ids = sorted({tokenizer.token_to_id(w) for w in (*SHAPES, *PLURAL.values())} - {None})
    masks = group_masks(tokens, ids, two)
    if getattr(model, "task", "") != "caption" or model.method not in ("tdd", "ar"):
        kind = getattr(model, "model_type", type(model).__name__)
        raise SystemExit(f"shape_binding.py: error: {name} is a {kind}; a TDD or AR captioner is needed")
    steps = model.checkpoint_extra.get("result", {}).get("step", "–")
    cond = model.encode(images)
    if model.method == "ar":
        right = model(tokens, cond, None).argmax(-1) == tokens
        return [[name, steps, "true words before", *accuracies(right, masks)]]
    diffusion = TweedieDiffusion(c.vocab_size, c.schedule, c.num_timesteps, c.onehot_scale)
    g = torch.Generator().manual_seed(args.seed)
    rows = []
    for t in args.timesteps:
        tt = torch.full((len(tokens),), t)
        y_t = diffusion.q_sample(diffusion.one_hot(tokens), tt, generator=g)
        right = model(y_t, tt, cond, None).argmax(-1) == tokens
        rows.append([name, steps, f"y_t at t = {t}", *accuracies(right, masks)])
    return rows


def main(args) -> Path:
    torch.set_num_threads(1)
    n = 32 if args.smoke else args.eval_size
    images, captions, two = test_scenes(n, args.style)
    header = ["model", "steps", "sees", *(f"shape, {g}" for g in GROUPS)]
    rows = []
    for name in args.models:
        for row in model_rows(name, images, captions, two, args):
            rows.append(row)
            print(" | ".join(map(str, row)), flush=True)
    text = (
        f"# Shape words right, by group\n\nCommand: `{command_line()}`. Teacher-forced argmax on {n} held-out test "
        f"scenes ({args.style} renderer, canonical captions; {int(two.sum())} of two groups), noise seed {args.seed}; "
        "in %.\n\n" + markdown_table(header, rows) + "\n"
    )
    return write_result(args, f"{args.name}.md", text)


if __name__ == "__main__":
    main(get_parser().parse_args())
