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

from tdd.caption import Captioner
from tdd.caption_eval import clip_rows, generate_captions, text_metrics
from tdd.checkpoint import atomic_write_text
from tdd.data.caption_data import EvalSet
from tdd.data.registry import dataset
from tdd.data.scenes import MAX_CAPTION_WORDS, SCENES_VERSION
from tdd.data.tokenizer import (
    MASK_ID,
    TOKENIZER_KINDS,
    TOKENIZER_NAME,
    encode,
    load_tokenizer,
    save_tokenizer,
    train_tokenizer,
)
from tdd.diffusion import TweedieDiffusion
from tdd.distributed import DistEnv, barrier
from tdd.masked import MaskedDiffusion
from tdd.models.captioner import ARCaptioner, CaptionerConfig, MDDCaptioner, TDDCaptioner
from tdd.models.classifier import LinearClassifier, TDDClassifier
from tdd.timesteps import make_timesteps
from tdd.training import ar_loss, captioner_args, mdd_loss, tdd_loss
from tdd.training.captioner_args import RECIPES, captioner_classes, get_parser  # noqa: F401  (the script's API)
from tdd.training.loop import guarded, train
from tdd.training.scripts import cached_features, engine_config, fit_batch_size, load_data, push_final, run_main, start


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Defaults ← ``--recipe`` ← YAML ``--config`` ← command line (:mod:`tdd.training.captioner_args`)."""
    return captioner_args.parse_args(argv, description=__doc__)


def build_model(args: argparse.Namespace, vocab_size: int, max_len: int = MAX_CAPTION_WORDS) -> Captioner:
    fields = {f.name for f in dataclasses.fields(CaptionerConfig)}
    # MDD and AR keep their defaults
    tdd_only = {"onehot_scale", "input_precond", "self_cond", "output_prior", "per_position_t"}
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
    model: Any = captioner_classes()[args.method](config, pretrained_encoder=args.pretrained_encoder)  # type: ignore[call-arg]
    if args.encoder_from:
        copy_encoder(model, args.encoder_from)
    if args.freeze_encoder or args.cache_dir:
        model.conditioner.encoder.freeze()
    return model


def copy_encoder(model: Captioner, source: str) -> None:
    """Load the encoder weights of the captioner or image classifier saved at ``source`` into ``model``'s encoder
    (e.g. the emoji captioners share the encoder of the emoji classifier, trained on the same pictures)."""
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
    if not isinstance(donor, (TDDCaptioner, MDDCaptioner, ARCaptioner, TDDClassifier, LinearClassifier)) or differ:
        what = ", ".join(f"{k} {getattr(theirs, k, None)!r} ≠ {getattr(mine, k, None)!r}" for k in differ)
        raise _fail(
            f"--encoder-from {source}: not a captioner or classifier with this run's encoder "
            f"({what or type(donor).__name__})"
        )
    model.conditioner.encoder.load_state_dict(donor.conditioner.encoder.state_dict())


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
                        self_cond_prob=args.self_cond_prob, unroll=args.unroll,
                        mixed_noise=args.mixed_noise, clean_context=args.clean_context)  # fmt: skip
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
        tok = dataset(args.data, "caption").caption_tokenizer(captions)  # the data's own, if it has one
        if tok is None and args.tokenizer == "word":
            tok = train_tokenizer(captions, "word")
        elif tok is None and args.tokenizer in TOKENIZER_KINDS:
            tok = train_tokenizer(captions, args.tokenizer, args.vocab_size)
        elif tok is None:
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
