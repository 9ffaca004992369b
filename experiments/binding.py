"""Where four-phrasing captioners fail: one-group scenes against two-group ones, and what a model writes for the
second group once the first is given.

For each model (a run's ``final/`` or a bundled name), on ``--eval-size`` held-out test scenes at 20 steps, argmax:
- exact % over all scenes, the one-group scenes and the two-group scenes (any of the four phrasings counts);
- the second group given the first (``phrasings.pinned_runs``): the true first group and relation pinned, exact %
  in the scene's order and swapped;
- *copied*: of those pinned runs (both orders) where the true second group differs from the pinned one in colour
  (in shape), the share whose written second group repeats the pinned group's colour (shape): the model naming
  the same object twice instead of the other one.

    python experiments/binding.py runs/phr4/final runs/phr4m/final [DIR ...] [--eval-size 500]
"""

from __future__ import annotations

from captioning import as_batch, caption_batched
from common import command_line, experiment_parser, markdown_table, write_result
from eval_scenes_captioners import budget
from phrasings import candidate_label, pinned_runs

from tdd.checkpoint import CheckpointError
from tdd.data.scenes import PLURAL, caption_metrics, make_scene
from tdd.data.tokenizer import load_tokenizer
from tdd.models.registry import PretrainedModel, resolve_checkpoint

SMOKE_SIZE = 12


def get_parser():
    p = experiment_parser(__doc__)
    p.add_argument("models", nargs="+", help="checkpoint directories (a run's final/) or bundled model names")
    p.add_argument("--eval-size", type=int, default=500, help="held-out test scenes")
    p.add_argument("--seed", type=int, default=0, help="sampling seed")
    p.add_argument("--output", default="binding.md", help="the table's file name under --results-dir")
    return p


def exact_by_groups(model, tokenizer, n: int, seed: int) -> tuple[float, float, float, int]:
    """Exact % over ``n`` test scenes, over their one-group and their two-group scenes, and how many have two."""
    scenes = [make_scene(i, 0, "test", model.config.image_size, "random") for i in range(n)]
    images, descriptions, _, _ = as_batch(scenes)
    captions, _ = caption_batched(model, tokenizer, images, seed, steps=20)

    def exact(keep) -> float:
        pairs = [(c, d) for c, d in zip(captions, descriptions) if keep(d)]
        return 100 * caption_metrics(*map(list, zip(*pairs)))["exact_match"] if pairs else float("nan")

    two = sum(d.second is not None for d in descriptions)
    return exact(lambda d: True), exact(lambda d: d.second is None), exact(lambda d: d.second is not None), two


def second_group_words(caption: str, first, relation: str) -> list[str]:
    """The words a pinned run wrote after its pinned first group and relation."""
    return caption.split()[len(first.words().split()) + len(relation.split()) :]


def copied(runs: list[tuple[str, tuple]]) -> tuple[float, float, int, int]:
    """% of pinned runs whose written second group repeats the pinned group's colour / shape where the truth's
    differs, and the two denominators."""
    colour = [c for c in runs if c[1][0].colour != c[1][2].colour]
    shape = [c for c in runs if c[1][0].shape != c[1][2].shape]

    def share(items, word) -> float:
        hits = 0
        for caption, (first, relation, _) in items:
            hits += bool(set(word(first)) & set(second_group_words(caption, first, relation)))
        return 100 * hits / len(items) if items else float("nan")

    return (
        share(colour, lambda g: [g.colour]),
        share(shape, lambda g: [g.shape, PLURAL[g.shape]]),
        len(colour),
        len(shape),
    )


def main() -> None:
    args = get_parser().parse_args()
    n = SMOKE_SIZE if args.smoke else args.eval_size
    rows = []
    for name in args.models:
        try:
            model = PretrainedModel.from_pretrained(name).eval()
            tokenizer = load_tokenizer(resolve_checkpoint(name))
        except CheckpointError as error:
            raise SystemExit(f"binding.py: error: {error}") from None
        if model.method not in ("tdd", "mdd"):
            raise SystemExit(f"binding.py: error: {name} is a {model.method} captioner; pinning words needs TDD or MDD")
        four = model.checkpoint_extra.get("train_args", {}).get("scene_phrasing") == "any"
        label = candidate_label(model) if four else name
        if getattr(model.config, "per_position_t", False):  # its sampler's commit rule, as the checkpoint names it
            label += f", commits {model.config.commit.replace('_', ' ')}"
        everything, one, two, m = exact_by_groups(model, tokenizer, n, args.seed)
        runs, pinned = [], []
        for swap in (False, True):
            captions, descriptions, given = pinned_runs(model, tokenizer, n, args.seed, swap)
            pinned.append(100 * caption_metrics(captions, descriptions)["exact_match"])
            runs += list(zip(captions, given))
        colour, shape, n_colour, n_shape = copied(runs)
        rows.append([
            label, budget(model), f"{everything:.1f}", f"{one:.1f}", f"{two:.1f} ({m})",
            f"{pinned[0]:.1f} / {pinned[1]:.1f}", f"{colour:.1f} ({n_colour})", f"{shape:.1f} ({n_shape})",
        ])  # fmt: skip
        print(rows[-1], flush=True)
    text = "# Where four-phrasing captioners fail: the second group\n\n"
    text += f"Command: `{command_line()}`. Sampling seed {args.seed}; {n} held-out test scenes, 20 steps, argmax, no "
    text += "CFG; exact when the caption parses to the true scene, in any of the four phrasings. *Given the first*: "
    text += "the true first group and relation pinned (`clamp_tokens`), exact % in the scene's order / swapped. "
    text += "*Copied*: of the pinned runs (both orders) whose true second group differs from the pinned one in "
    text += "colour (shape), the share whose written second group repeats the pinned group's colour (shape).\n\n"
    header = ["model", "training", "exact %", "one group %", "two groups % (scenes)", "given the first %"]
    header += ["copied colour % (runs)", "copied shape % (runs)"]
    text += markdown_table(header, rows)
    write_result(args, args.output, text)


if __name__ == "__main__":
    main()
