"""Datasets as plug-ins: one registry that both training scripts, the evaluation scripts and the library
read (``--data NAME`` everywhere).

A dataset is one module of :mod:`tdd.data.sources` holding a :class:`DataSource` (what it offers: the
training set, the held-out set and, where known, the truth the marks are computed from) and one line in
:data:`BUILT_IN` below; :func:`register_dataset` adds one at run time (a test, your own package).
"""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

EXAMPLES_ROOT = Path(__file__).resolve().parents[2] / "examples"  # a checkout's committed examples (none in a wheel)
DATA_TASKS = ("caption", "classify")  # what a dataset's items train: image → sentence, image → label
# name → the module of tdd.data.sources that defines it (imported on first use: the data libraries stay unloaded)
BUILT_IN = {
    "scenes": "tdd.data.sources.scenes",
    "folder": "tdd.data.sources.folder",
    "coco": "tdd.data.sources.coco",
    "digits": "tdd.data.sources.digits",
    "imagefolder": "tdd.data.sources.imagefolder",
    "hf": "tdd.data.sources.hf",
    "emoji": "tdd.data.sources.emoji",
}


@runtime_checkable
class DataSource(Protocol):
    """One dataset. ``opts`` is the training script's parsed flags (or any object with those attributes)."""

    name: str  # what ``--data`` names it
    tasks: tuple[str, ...]  # which of DATA_TASKS it serves
    help: str  # one line for ``--help``
    examples_dir: Path | None  # committed example images the apps offer (``captions.txt``: their truths), or None

    def examples(self) -> list[Path]:
        """The committed example images, in order (none without ``examples_dir`` or outside a checkout)."""
        ...

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Its own flags (beyond the scripts' shared --data-dir, --train-split, --val-split, columns, sizes)."""
        ...

    def caption_data(self, opts: Any) -> tuple[Any, list[str], Any]:
        """(training set of (image, caption), its captions, the held-out :class:`~tdd.data.caption_data.EvalSet`)."""
        ...

    def classify_data(self, opts: Any) -> tuple[Any, Any, int]:
        """(training set of (image, label), held-out set, number of classes)."""
        ...

    def caption_tokenizer(self, captions: list[str]) -> Any:
        """The tokenizer its captions need (e.g. one word per token), or ``None``: ``--tokenizer`` decides."""
        ...


class Source:
    """A base for :class:`DataSource` entries: no flags of its own, and a clear error for a task it lacks."""

    name = ""
    tasks: tuple[str, ...] = ()
    help = ""
    examples_dir: Path | None = None

    def examples(self) -> list[Path]:
        return sorted(self.examples_dir.glob("*.png")) if self.examples_dir else []

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        return None

    def caption_data(self, opts: Any) -> tuple[Any, list[str], Any]:
        raise ValueError(f"--data {self.name} has no captions (it serves: {', '.join(self.tasks)})")

    def classify_data(self, opts: Any) -> tuple[Any, Any, int]:
        raise ValueError(f"--data {self.name} has no class labels (it serves: {', '.join(self.tasks)})")

    def caption_tokenizer(self, captions: list[str]) -> Any:
        return None

    def data_dir(self, opts: Any) -> str:
        """``--data-dir``, required by this dataset."""
        if not getattr(opts, "data_dir", None):
            raise ValueError(f"--data {self.name} needs --data-dir DIR")
        return str(opts.data_dir)


DATASETS: dict[str, DataSource] = {}  # the loaded entries (BUILT_IN ones on first use, and registered ones)


def register_dataset(source: DataSource) -> DataSource:
    """Add a dataset (its ``name`` must be new, its ``tasks`` known)."""
    if not source.tasks or any(t not in DATA_TASKS for t in source.tasks):
        raise ValueError(f"{type(source).__name__}: tasks must be some of {DATA_TASKS}, got {source.tasks!r}")
    built_in = BUILT_IN.get(source.name)
    if source.name in DATASETS or (built_in is not None and type(source).__module__ != built_in):
        raise ValueError(f"dataset {source.name!r} is registered twice")
    DATASETS[source.name] = source
    return source


def _load_built_in() -> None:
    for module in BUILT_IN.values():
        importlib.import_module(module)  # each module registers its entry


def datasets(task: str | None = None) -> dict[str, DataSource]:
    """Every dataset (those serving ``task``), by name: the built-in ones in :data:`BUILT_IN`'s order, then
    the registered ones."""
    _load_built_in()
    order = {name: i for i, name in enumerate(BUILT_IN)}
    names = sorted(DATASETS, key=lambda n: order.get(n, len(order)))
    return {n: DATASETS[n] for n in names if task is None or task in DATASETS[n].tasks}


def dataset(name: str, task: str | None = None) -> DataSource:
    """The dataset called ``name`` (serving ``task``); a ``ValueError`` naming the choices otherwise."""
    found = datasets(task)
    if name not in found:
        what = f"{task} datasets" if task else "datasets"
        raise ValueError(f"unknown dataset {str(name)[:40]!r}; the {what} are: {', '.join(found)}")
    return found[name]


def add_data_arguments(parser: argparse.ArgumentParser, task: str, default: str) -> None:
    """``--data`` (the datasets serving ``task``) and every such dataset's own flags."""
    found = datasets(task)
    names = "; ".join(f"{n}: {d.help}" for n, d in found.items())
    parser.add_argument("--data", default=default, choices=list(found), help=names)
    for source in found.values():
        source.add_arguments(parser)
