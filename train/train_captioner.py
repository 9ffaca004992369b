"""Train a TDD, masked-diffusion (MDD) or autoregressive (AR) image captioner, on one CPU or many GPUs.

All three share the encoder, conditioning module and decoder size, and see the same number of
image–caption pairs with the same optimizer (``--method``).

    # COCO 2017 captions (annotations/captions_{train,val}2017.json + train2017/, val2017/), 8 GPUs
    torchrun --nproc_per_node=8 train/train_captioner.py --data coco --data-dir /data/coco \\
        --method tdd --encoder vit_base_patch16_224 --encoder-kwargs '{}' --image-size 224 --width 768 \\
        --depth 12 --heads 12 --tokenizer wordpiece --max-len 32 --output runs/coco_tdd \\
        --clip-model ViT-B-32 --clip-weights /weights/open_clip_vit_b_32.bin
    # imagenet-1k-vl-enriched (its parquet files, or a datasets directory): image, label, caption_enriched
    torchrun --nproc_per_node=8 train/train_captioner.py --data hf --data-dir /data/imagenet-1k-vl-enriched \\
        --caption-column caption_enriched --val-split validation --tokenizer bpe ...

    # the bundled scenes captioners (one CPU process)
    python train/train_captioner.py --config train/configs/scenes_tdd.yaml
    python train/train_captioner.py --config train/configs/scenes_ar.yaml

    # your own folder of images with a captions.txt (``file name<TAB>caption`` per line)
    python train/train_captioner.py --data folder --data-dir my_images/ --steps 2000 --output runs/mine

Tokenizer: ``--tokenizer word|wordpiece|bpe`` trains one on the training captions with HF
``tokenizers`` (``--vocab-size``); a directory holding ``tokenizer.json`` loads that one. The scenes
and folder data use a word tokenizer. Evaluation on ``--eval-size`` held-out images (COCO val: all
five references each): exact match, BLEU-4 and CIDEr (scenes: exact match and attribute accuracy),
every ``--eval-every`` steps; at the end, with ``--clip-model``/``--clip-weights``, the CLIP score
of the ground truth, shuffled ground truth and this model's captions (Tab. 3 rows;
``train/compare_captioners.py`` puts several trained models in one table).

Outputs under ``--output``: ``metrics.jsonl``, ``tb/``, ``checkpoints/`` (resumable: ``--resume``),
``tokenizer.json``, ``final/`` (EMA weights + tokenizer) and ``result.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

import torch
from tokenizers import Tokenizer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

from train_utils import (  # noqa: E402
    add_caption_data_args,
    add_engine_args,
    cached_features,
    engine_config,
    fit_batch_size,
    load_data,
    parse_with_config,
    push_final,
    run_main,
    start,
)

from tdd.caption import Captioner  # noqa: E402
from tdd.caption_eval import clip_rows, generate_captions, text_metrics  # noqa: E402
from tdd.checkpoint import atomic_write_text  # noqa: E402
from tdd.data.caption_data import EvalSet  # noqa: E402
from tdd.data.scenes import MAX_CAPTION_WORDS, SCENES_VERSION, vocabulary  # noqa: E402
from tdd.data.tokenizer import (  # noqa: E402
    MASK_ID,
    TOKENIZER_KINDS,
    TOKENIZER_NAME,
    encode,
    load_tokenizer,
    save_tokenizer,
    train_tokenizer,
    word_tokenizer,
)
from tdd.diffusion import TweedieDiffusion  # noqa: E402
from tdd.masked import MaskedDiffusion  # noqa: E402
from tdd.models.captioner import INPUT_PRECONDS, ARCaptioner, CaptionerConfig, MDDCaptioner, TDDCaptioner  # noqa: E402
from tdd.models.conditioning import POS_EMBEDS  # noqa: E402
from tdd.schedule import SCHEDULES  # noqa: E402
from tdd.timesteps import (  # noqa: E402
    ADAPTIVE_CE_OF,
    DEFAULT_FLOOR,
    SAMPLING_SPACINGS,
    TRAINING_TIMESTEPS,
    make_timesteps,
)
from tdd.training import OBJECTIVES, SELF_COND_PROB, ar_loss, mdd_loss, tdd_loss  # noqa: E402
from tdd.training.distributed import DistEnv, barrier  # noqa: E402
from tdd.training.loop import guarded, train  # noqa: E402

METHODS = {"tdd": TDDCaptioner, "mdd": MDDCaptioner, "ar": ARCaptioner}
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


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default=None, help="YAML file whose keys override these defaults")
    p.add_argument("--method", default="tdd", choices=sorted(METHODS))
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
    # TDD's levers (issue "TDD that learns fast"); the defaults are the paper's, --recipe improved sets them
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
    spacing = "TDD: the sampling timesteps the checkpoint uses by default (informative: from its CE curve)"
    p.add_argument("--sample-spacing", default="uniform", choices=SAMPLING_SPACINGS, help=spacing)
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


def build_model(args: argparse.Namespace, vocab_size: int, max_len: int = MAX_CAPTION_WORDS) -> Captioner:
    fields = {f.name for f in dataclasses.fields(CaptionerConfig)}
    tdd_only = {"onehot_scale", "input_precond", "self_cond", "output_prior"}  # MDD and AR keep their defaults
    config = CaptionerConfig(
        **{
            k: v
            for k, v in vars(args).items()
            if k in fields and k not in ("max_len", "vocab_size") and (args.method == "tdd" or k not in tdd_only)
        },
        vocab_size=vocab_size,
        max_len=max_len,
        mask_id=MASK_ID,
        parameterization="epsilon" if args.loss == "eps_mse" else "x0",
    )
    model = METHODS[args.method](config, pretrained_encoder=args.pretrained_encoder)
    if args.encoder_from:
        copy_encoder(model, args.encoder_from)
    if args.freeze_encoder or args.cache_dir:
        model.conditioner.encoder.freeze()
    return model


def copy_encoder(model: Captioner, source: str) -> None:
    """Load the encoder weights of the captioner saved at ``source`` into ``model``'s encoder."""
    from tdd.checkpoint import CheckpointError
    from tdd.models.registry import PretrainedModel

    try:
        donor: Any = PretrainedModel.from_pretrained(source)
    except (CheckpointError, FileNotFoundError, ValueError) as e:
        hint = "train that captioner first (a shipped config says how), or pass --encoder-from '' to train one here"
        raise _fail(f"--encoder-from {source}: {e}; {hint}") from None
    mine, theirs = model.config, donor.config
    keys = ("encoder", "encoder_kwargs", "image_size", "in_chans")
    differ = [k for k in keys if getattr(mine, k, None) != getattr(theirs, k, None)]
    if not isinstance(donor, (TDDCaptioner, MDDCaptioner, ARCaptioner)) or differ:
        what = ", ".join(f"{k} {getattr(theirs, k, None)!r} ≠ {getattr(mine, k, None)!r}" for k in differ)
        raise _fail(
            f"--encoder-from {source}: not a captioner with this run's encoder ({what or type(donor).__name__})"
        )
    model.conditioner.encoder.load_state_dict(donor.conditioner.encoder.state_dict())


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Defaults ← ``--recipe`` ← YAML ``--config`` ← command line."""
    parser = get_parser()
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
    if args.unroll and args.output_prior:
        parser.error("--unroll and --output-prior do not mix: the output prior trusts y_t, which unrolling corrupts")
    return args


def training_timesteps(args: argparse.Namespace, diffusion: TweedieDiffusion) -> Any:
    """The run's sampler of training timesteps (``None``: the paper's uniform draw)."""
    if args.train_timesteps == "uniform" and not args.stratified_timesteps:
        return None
    kwargs: dict[str, Any] = {"stratified": args.stratified_timesteps}
    if args.train_timesteps == "adaptive":
        kwargs["floor"] = args.timestep_floor
        kwargs["ce_of"] = args.adaptive_ce
    return make_timesteps(args.train_timesteps, diffusion.schedule, **kwargs)


def batch_loss(
    model: Captioner, args: argparse.Namespace, images: torch.Tensor, tokens: torch.Tensor,
    diffusion: TweedieDiffusion, process: MaskedDiffusion, g: torch.Generator, timesteps: Any = None,
) -> torch.Tensor:  # fmt: skip
    """One batch's loss for the model's method; the image path runs once."""
    cond = model.encode(images)
    if args.method == "tdd":
        return tdd_loss(model, diffusion, cond, tokens, objective=args.loss, kfold=args.kfold, cond_drop=args.cond_drop,
                        generator=g, timesteps=timesteps, self_cond=args.self_cond,
                        self_cond_prob=args.self_cond_prob, unroll=args.unroll)  # fmt: skip
    if args.method == "mdd":
        return mdd_loss(model, process, cond, tokens, cond_drop=args.cond_drop, generator=g)
    return ar_loss(model, cond, tokens, cond_drop=args.cond_drop, generator=g)  # AR, teacher forcing


# ----------------------------------------------------------------------------------------------
# data


def _fail(message: Any) -> SystemExit:
    return SystemExit(f"{Path(sys.argv[0]).name}: error: {message}")


def require_clip_weights(args: argparse.Namespace) -> None:
    """With ``--clip-model``: stop now, not after a multi-day run, when its weights file is missing."""
    if args.clip_model:
        from tdd.evaluation import check_clip_weights

        try:
            check_clip_weights(args.clip_model, args.clip_weights)
        except FileNotFoundError as e:
            raise _fail(e) from None


def make_tokenizer(args: argparse.Namespace, captions: list[str], env: DistEnv) -> Tokenizer:
    """The run's tokenizer: kept in ``OUTPUT/tokenizer.json`` so that a resumed run uses the same one."""
    saved = Path(args.output) / TOKENIZER_NAME
    if env.is_main and not (args.resume and saved.is_file()):
        if args.data == "scenes":
            tok = word_tokenizer(vocabulary())
        elif args.data == "folder" or args.tokenizer == "word":
            tok = train_tokenizer(captions, "word")
        elif args.tokenizer in TOKENIZER_KINDS:
            tok = train_tokenizer(captions, args.tokenizer, args.vocab_size)
        else:
            tok = load_tokenizer(args.tokenizer)
        Path(args.output).mkdir(parents=True, exist_ok=True)
        save_tokenizer(tok, args.output)
    barrier()
    return load_tokenizer(args.output)


def max_length(args: argparse.Namespace, tokenizer: Tokenizer, captions: list[str]) -> int:
    """Scenes and folders: the longest caption (every caption fits); COCO/HF: ``--max-len`` (longer are cut)."""
    if args.data in ("scenes", "folder"):
        longest = max(len(tokenizer.encode(c).ids) for c in captions)
        if args.data == "folder" and longest > args.max_len:
            raise _fail(f"{args.data_dir}: a caption has {longest} words; raise --max-len")
        return MAX_CAPTION_WORDS if args.data == "scenes" else longest
    return args.max_len


# ----------------------------------------------------------------------------------------------
# evaluation


def store_ce_curve(model: TDDCaptioner, tokenizer: Tokenizer, evals: EvalSet, args: argparse.Namespace) -> None:
    """Measure the model's teacher-forced CE curve on held-out captions (:func:`tdd.diagnostics.measure_ce_curve`)
    and keep it in the config, with the run's choice of default sampling spacing (``--sample-spacing``)."""
    from tdd.diagnostics import measure_ce_curve

    model.config.ce_curve_t, model.config.ce_curve = measure_ce_curve(model, tokenizer, evals, seed=args.seed)
    model.config.spacing = args.sample_spacing


def write_final(ema: Any, tokenizer: Tokenizer, args: argparse.Namespace, result: dict, env: DistEnv) -> None:
    """``OUTPUT/final`` (EMA weights, config, tokenizer) and ``OUTPUT/result.json``; rank 0 writes."""
    if not env.is_main:
        return
    out = Path(args.output)
    extra: dict[str, Any] = {"train_args": vars(args), "result": result}
    if args.data == "scenes":  # which generator drew its training scenes (results name it beside the model)
        extra["scenes_version"] = SCENES_VERSION
    ema.save_pretrained(out / "final", extra=extra)
    save_tokenizer(tokenizer, out / "final")
    atomic_write_text(out / "result.json", json.dumps(result, indent=2) + "\n")


def main(args: argparse.Namespace, env: DistEnv | None = None) -> dict:
    env = env or start(args)
    require_clip_weights(args)
    data, captions, evals = load_data(args)
    fit_batch_size(args, len(data), env)
    tokenizer = make_tokenizer(args, captions, env)
    max_len = max_length(args, tokenizer, captions)
    torch.manual_seed(args.seed)
    model = build_model(args, tokenizer.get_vocab_size(), max_len)
    data = cached_features(args, model, data, env)
    diffusion = TweedieDiffusion(model.config.vocab_size, args.schedule, args.num_timesteps, args.onehot_scale)
    timesteps = training_timesteps(args, diffusion) if args.method == "tdd" else None
    process = MaskedDiffusion(model.config.vocab_size, MASK_ID)
    if env.is_main:
        n_params = sum(p.numel() for p in model.parameters())
        print(f"{args.method} captioner, {n_params / 1e6:.2f}M parameters, vocabulary {tokenizer.get_vocab_size()}")

    def loss_fn(model: Any, batch: Any, generator: torch.Generator) -> torch.Tensor:
        images, texts = batch
        tokens, _ = encode(tokenizer, texts, max_len, truncate=True)
        return batch_loss(model, args, images, tokens.to(images.device), diffusion, process, generator, timesteps)

    def evaluate(ema: Any) -> dict[str, float]:
        captions = generate_captions(
            ema, tokenizer, evals, args.image_size, args.eval_steps, args.seed, env
        )  # a share each
        return text_metrics(captions, evals) if env.is_main else {}

    scales = None if args.encoder_lr_scale == 1 else {"conditioner.encoder.": args.encoder_lr_scale}
    config = engine_config(args, steps=args.steps, lr=args.lr, warmup_steps=args.warmup_steps, lr_scales=scales)
    config.log_every, config.eval_every = args.log_every, args.eval_every
    stateful = timesteps if hasattr(timesteps, "state_dict") else None
    pending = {"eval_steps": args.eval_steps, "evaluation": "pending"}  # final/ exists before any evaluation
    run = train(model, data, loss_fn, config, env, evaluate=evaluate, stateful=stateful,
                on_trained=lambda ema: write_final(ema, tokenizer, args, pending, env))  # fmt: skip
    ema = run.ema_model.eval()
    result = {k: v for k, v in run.metrics.items() if k not in ("epoch", "lr", "images_per_s", "seconds")}
    result["eval_steps"] = args.eval_steps
    skipped = result.setdefault("skipped_metrics", [])
    if args.method == "tdd":  # the CE curve on held-out data: informative spacing, kept with the checkpoint
        guarded("the CE curve (informative spacing)", lambda: store_ce_curve(ema, tokenizer, evals, args), skipped)
    if args.clip_model:
        final = guarded(
            "the CLIP score", lambda: generate_captions(ema, tokenizer, evals, args.image_size, args.eval_steps,
                                                       args.seed, env), skipped)  # fmt: skip
        if env.is_main and final is not None:
            clip = guarded("the CLIP score", lambda: clip_rows(args.clip_model, args.clip_weights, evals,
                                                               {args.method: final}, env.device), skipped)  # fmt: skip
            if clip is not None:
                result["clip_score"] = clip
    if not skipped:
        del result["skipped_metrics"]
    if env.is_main:
        write_final(ema, tokenizer, args, result, env)
        print(json.dumps(result), flush=True)
        push_final(args, Path(args.output) / "final")
    return result


if __name__ == "__main__":
    run_main(main, parse_args())
