"""Copy a trained checkpoint into the package as a bundled model (``tdd/checkpoints/NAME``), its weights stored in
float16 by default (half the file; :meth:`~tdd.models.PretrainedModel.save_pretrained` casts them back on load), with
a captioner's tokenizer. The model card (``README.md`` beside it) is written by hand.

python scripts/ship_checkpoint.py runs/experiments/emoji_caption_tdd/final emoji-names-tdd
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import torch

from tdd.data.tokenizer import TOKENIZER_NAME
from tdd.models import PretrainedModel

ROOT = Path(__file__).resolve().parent.parent
LIMIT = 10 * 1024 * 1024  # bytes a shipped model's weights may take


def portable(value: object) -> object:
    """An absolute path of this machine as the repository names it (relative to its root), or its last two parts
    when it lies elsewhere: a shipped checkpoint names no machine's folders."""
    if not isinstance(value, str) or not value.startswith("/"):
        return value
    path = Path(value)
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(Path(*path.parts[-2:]))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("source", help="a checkpoint directory (a run's final/)")
    p.add_argument("name", help="the bundled model's name (tdd/checkpoints/NAME)")
    p.add_argument("--dtype", choices=("float16", "float32"), default="float16")
    args = p.parse_args()
    model = PretrainedModel.from_pretrained(args.source)
    extra = model.checkpoint_extra
    if isinstance(extra.get("train_args"), dict):  # the run's own paths, as the repository names them
        extra["train_args"] = {k: portable(v) for k, v in extra["train_args"].items()}
    out = ROOT / "tdd" / "checkpoints" / args.name
    model.save_pretrained(out, extra=extra, dtype=getattr(torch, args.dtype))
    tokenizer = Path(args.source) / TOKENIZER_NAME
    if tokenizer.is_file():
        shutil.copy(tokenizer, out / TOKENIZER_NAME)
    size = sum(f.stat().st_size for f in out.iterdir())
    if size > LIMIT:
        raise SystemExit(f"{out}: {size / 2**20:.1f} MB, over the {LIMIT / 2**20:.0f} MB a shipped model may take")
    print(f"{out}: {size / 2**20:.1f} MB ({args.dtype})")


if __name__ == "__main__":
    main()
