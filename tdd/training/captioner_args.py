"""The flags of ``train/train_captioner.py``: its parser, its named recipes and how they layer
(defaults ← ``--recipe`` ← YAML ``--config`` ← command line)."""

from __future__ import annotations

import argparse
import dataclasses
import json
from typing import Any

from tdd.data.scenes import MAX_CAPTION_WORDS
from tdd.data.tokenizer import TOKENIZER_KINDS
from tdd.models import MODELS, PretrainedModel
from tdd.models.captioner_config import INPUT_PRECONDS, CaptionerConfig
from tdd.models.conditioning import POS_EMBEDS
from tdd.schedule import SCHEDULES
from tdd.timesteps import ADAPTIVE_CE_OF, DEFAULT_FLOOR, SAMPLING_SPACINGS, TRAINING_TIMESTEPS
from tdd.training.objectives import OBJECTIVES, SELF_COND_PROB
from tdd.training.scripts import add_caption_data_args, add_engine_args, parse_with_config


def captioner_classes() -> dict[str, type[PretrainedModel]]:
    """``--method`` → the captioner class: every registered model whose kind is a captioner."""
    return {cls.method: cls for cls in MODELS.values() if cls.task == "caption"}


# A named recipe sets these defaults; a config file or a flag given on the command line still wins.
RECIPES: dict[str, dict[str, Any]] = {
    "paper": {},
    "improved": {
        "train_timesteps": "adaptive",
        "input_precond": "posterior",
        "self_cond": True,
        # DiT's adaLN-Zero init: on the ablation's end-to-end runs (900 CPU-s, scenes v2) 94.4 / 95.2 / 98.2 % exact
        # against 86.6 / 94.0 / 95.8 on seeds 0-2 (results/tdd_levers.md); the shipped scenes_tdd.yaml predates it
        "adaln_zero": True,
        # fixed sine-cosine positions (text 1D, the CNN's feature map 2D): at 2,000 steps (scenes v2, AMD EPYC)
        # 89.0 / 90.8 / 96.2 / 86.4 % exact against 86.2 / 77.2 / 90.6 / 85.4 on seeds 0-3, higher on every seed at
        # no cost per step (results/tdd_levers.md, the _sincos row; AR took it too: 97.4 / 99.2 against 97.2 / 97.2);
        # at 900 CPU-s on an Intel Xeon 98.8 / 98.0 against 94.8 / 96.2 on seeds 0-1, 98.4 over seeds 0-5
        "pos_embed": "sincos",
        # not informative sampling spacing: on the shipped scenes-tdd it gave 81.8 % exact at 20 steps against
        # uniform's 84.4 % (500 held-out scenes; docs/results/levers.md), so the checkpoint keeps the paper's uniform
    },
}


def add_tdd_levers(p: argparse.ArgumentParser) -> None:
    """TDD's levers (issue "TDD that learns fast"); the defaults are the paper's, ``--recipe improved`` sets them."""
    recipe = "paper: the defaults below; improved: the levers the ablation supports (a config or flag still wins)"
    p.add_argument("--recipe", default="paper", choices=sorted(RECIPES), help=recipe)
    when = "TDD: t ~ U{1..T} with ᾱ_t-weighted CE (the paper), t ∝ ᾱ_t with plain CE, or adaptive (plain CE)"
    p.add_argument("--train-timesteps", default="uniform", choices=TRAINING_TIMESTEPS, help=when)
    floor = "TDD, adaptive timesteps: the uniform share of the draw (the rest follows the drop of CE)"
    p.add_argument("--timestep-floor", type=float, default=DEFAULT_FLOOR, help=floor)
    ce_of = "TDD, adaptive timesteps: learn the CE curve from all items or only those that saw their image"
    p.add_argument("--adaptive-ce", default="all", choices=ADAPTIVE_CE_OF, help=ce_of)
    strata = "TDD: draw a batch's timesteps at evenly spaced quantiles (VDM's low-discrepancy sampler)"
    p.add_argument("--stratified-timesteps", action=argparse.BooleanOptionalAction, default=False, help=strata)
    p.add_argument("--onehot-scale", type=float, default=1.0, help="TDD: λ of the λ-hot (§3.2)")
    p.add_argument("--input-precond", default="none", choices=INPUT_PRECONDS, help="TDD: how y_t enters the decoder")
    p.add_argument("--adaln-zero", action=argparse.BooleanOptionalAction, default=False, help="DiT's adaLN-Zero init")
    p.add_argument("--self-cond", action=argparse.BooleanOptionalAction, default=False, help="TDD: self-conditioning")
    sc_prob = "TDD, self-conditioning: the share of training rows fed the first pass's prediction (the rest get zeros)"
    p.add_argument("--self-cond-prob", type=float, default=SELF_COND_PROB, help=sc_prob)
    prior = "TDD: add the exact posterior's log p(y_0 | y_t) to the logits (Plaid's output prior)"
    p.add_argument("--output-prior", action=argparse.BooleanOptionalAction, default=False, help=prior)
    p.add_argument("--unroll", type=float, default=0.0, help="TDD: share of items built from the model's own draft")
    mixed = "TDD: share of captions with about half their positions noised less than the t the network is told"
    p.add_argument("--mixed-noise", type=float, default=0.0, help=mixed)
    context = "TDD: share of captions with a random fraction of positions clean, the network told each position's t "
    context += "(its sampler then commits positions, clean, as masked diffusion unmasks them)"
    p.add_argument("--clean-context", type=float, default=0.0, help=context)
    spacing = "TDD: the sampling timesteps the checkpoint uses by default (informative: from its CE curve)"
    p.add_argument("--sample-spacing", default="uniform", choices=SAMPLING_SPACINGS, help=spacing)


def get_parser(description: str | None = None) -> argparse.ArgumentParser:
    """The captioning script's flags (``description``: its help text)."""
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default=None, help="YAML file whose keys override these defaults")
    p.add_argument("--method", default="tdd", choices=sorted(captioner_classes()))
    p.add_argument("--loss", default="ce", choices=OBJECTIVES, help="TDD objective")
    add_caption_data_args(p)
    p.add_argument("--tokenizer", default="wordpiece", help=f"coco/hf: {'|'.join(TOKENIZER_KINDS)} or a directory")
    p.add_argument("--vocab-size", type=int, default=8000, help="coco/hf: sub-word vocabulary to train")
    p.add_argument("--max-len", type=int, default=MAX_CAPTION_WORDS, help="tokens per caption (longer are cut)")
    # model
    p.add_argument("--encoder", default="vit_tiny_patch16_224")
    p.add_argument(
        "--encoder-kwargs", type=json.loads, default=dataclasses.asdict(CaptionerConfig(1))["encoder_kwargs"]
    )
    p.add_argument("--pretrained-encoder", default=None)
    freeze = "train everything but the encoder (kept in eval mode)"
    p.add_argument("--freeze-encoder", action=argparse.BooleanOptionalAction, default=False, help=freeze)
    share = "start the encoder from this saved captioner's (a bundled name or a directory); with --freeze-encoder, "
    share += "several captioners can share one frozen encoder ('' for none)"
    p.add_argument("--encoder-from", default=None, help=share)
    p.add_argument("--cache-dir", default=None, help="cache the frozen encoder's features (implies --freeze-encoder)")
    p.add_argument("--image-size", type=int, default=64)
    p.add_argument("--width", type=int, default=128)
    p.add_argument("--cond-depth", type=int, default=1)
    p.add_argument("--cond-heads", type=int, default=4)
    p.add_argument("--depth", type=int, default=4)
    p.add_argument("--heads", type=int, default=4)
    where = "positions of the text tokens and of a CNN's feature map: learned from random, or fixed sine-cosine"
    p.add_argument("--pos-embed", default="learned", choices=POS_EMBEDS, help=where)
    # diffusion
    p.add_argument("--schedule", default="linear", choices=sorted(SCHEDULES))
    p.add_argument("--num-timesteps", type=int, default=1000)
    p.add_argument("--kfold", type=int, default=4, help="TDD: timesteps per image (§3.3)")
    add_tdd_levers(p)
    p.add_argument("--cond-drop", type=float, default=0.1)
    # optimisation
    p.add_argument("--steps", type=int, default=20_000, help="optimizer steps")
    p.add_argument("--batch-size", type=int, default=64, help="effective (global) batch size")
    p.add_argument("--lr", type=float, default=3e-4)
    enc_lr = "the image encoder's learning rate as a multiple of --lr (its own AdamW param group)"
    p.add_argument("--encoder-lr-scale", type=float, default=1.0, help=enc_lr)
    p.add_argument("--weight-decay", type=float, default=0.05)
    p.add_argument("--warmup-steps", type=int, default=500)
    p.add_argument("--grad-clip", type=float, default=3.0)
    p.add_argument("--ema-decay", type=float, default=0.999)
    # evaluation
    p.add_argument("--eval-steps", type=int, default=20, help="sampling steps for evaluation")
    p.add_argument("--eval-every", type=int, default=1000)
    p.add_argument("--log-every", type=int, default=100)
    p.add_argument("--clip-model", default=None, help="open_clip model for the final CLIP score, e.g. ViT-B-32")
    p.add_argument("--clip-weights", default=None, help="its local weights file (nothing is downloaded)")
    # run
    p.add_argument("--output", default="runs/scenes_tdd")
    p.add_argument("--seed", type=int, default=0)
    add_engine_args(p)
    return p


def parse_args(argv: list[str] | None = None, description: str | None = None) -> argparse.Namespace:
    """Defaults ← ``--recipe`` ← YAML ``--config`` ← command line."""
    parser = get_parser(description)
    recipe = parser.parse_known_args(argv)[0].recipe
    if recipe not in RECIPES:
        parser.error(f"unknown recipe {recipe!r}")
    parser.set_defaults(**RECIPES[recipe])
    args = parse_with_config(parser, argv)
    if args.recipe != recipe:  # the config file named the recipe: apply it under the file and the flags
        parser.set_defaults(**RECIPES[args.recipe])
        args = parse_with_config(parser, argv)
    if not 0 < args.timestep_floor <= 1:
        parser.error(f"--timestep-floor must lie in (0, 1], got {args.timestep_floor}")
    if not 0 < args.self_cond_prob < 1:
        parser.error(f"--self-cond-prob must lie in (0, 1), got {args.self_cond_prob}")
    if not 0 <= args.mixed_noise <= 1:
        parser.error(f"--mixed-noise must lie in [0, 1], got {args.mixed_noise}")
    if not 0 <= args.clean_context <= 1:
        parser.error(f"--clean-context must lie in [0, 1], got {args.clean_context}")
    if args.clean_context and args.method != "tdd":
        parser.error(f"--clean-context is a TDD lever; --method {args.method} does not take it")
    if args.clean_context and (args.unroll or args.mixed_noise):
        parser.error("--clean-context does not mix with --unroll or --mixed-noise: each rebuilds y_t its own way")
    args.per_position_t = args.method == "tdd" and args.clean_context > 0
    if args.unroll and args.output_prior:
        parser.error("--unroll and --output-prior do not mix: the output prior trusts y_t, which unrolling corrupts")
    return args
