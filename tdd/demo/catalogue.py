"""Which models the apps offer (the catalogue), and loading them once."""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tdd.checkpoint import CheckpointError
from tdd.data.tokenizer import load_tokenizer
from tdd.demo.common import METHODS, MODELS_ENV, RUNS_DIR_ENV, DemoError
from tdd.demo.task import TASKS as TABS
from tdd.demo.task import Task
from tdd.models import TASKS, kind_of
from tdd.models.registry import BUNDLED_DIR, PretrainedModel, bundled_checkpoints, resolve_checkpoint


@dataclass
class Loaded:
    """A model ready to run: its task, method (tdd/mdd/ar/linear), tokenizer (captioners) and name."""

    name: str
    model: Any
    task: str
    method: str
    tokenizer: Any = None

    @property
    def image_size(self) -> int:
        return self.model.config.image_size

    def words(self, ids) -> list[str]:
        return [self.id_to_token(int(i)) for i in ids]

    def id_to_token(self, i: int) -> str:
        if self.tokenizer is None:
            return str(i)
        return self.tokenizer.id_to_token(i) or "?"


def runs_dir() -> Path:
    """The folder searched for user checkpoints: ``$TDD_RUNS_DIR`` or ``./runs``."""
    return Path(os.environ.get(RUNS_DIR_ENV, "runs"))


def _model_type(directory: Path) -> str | None:
    try:
        return json.loads((directory / "config.json").read_text(encoding="utf-8")).get("model_type")
    except (OSError, ValueError, AttributeError):
        return None


def _task_of(model_type: str | None) -> str:
    """The app task of a model type ("" for a type the app cannot run, or none): its kind's task."""
    kind = kind_of(model_type)
    return kind.task if kind else ""


def available_models(task: str, runs: Path | None = None) -> list[str]:
    """Bundled model names for ``task``, then checkpoint directories (with ``config.json``) found
    up to three levels under the runs folder."""

    if task not in TASKS:
        raise DemoError(f"task must be one of {TASKS}, got {task!r}")
    names = [n for n in bundled_checkpoints() if _task_of(_model_type(BUNDLED_DIR / n)) == task]
    root = runs if runs is not None else runs_dir()
    if root.is_dir():
        found = sorted(
            {p.parent for pattern in ("config.json", "*/config.json", "*/*/config.json") for p in root.glob(pattern)}
        )
        names += [str(d) for d in found if _task_of(_model_type(d)) == task]
    return names


def operator_models() -> list[str]:
    """Models the operator added by ``$TDD_MODELS`` (comma-separated checkpoint directories or Hub
    ids, e.g. ``owner/name`` or ``owner/name@revision``) or by :func:`add_operator_models`."""
    names = [n.strip() for n in os.environ.get(MODELS_ENV, "").split(",")]
    return list(dict.fromkeys([n for n in names if n] + _EXTRA_MODELS))


_EXTRA_MODELS: list[str] = []


def add_operator_models(names: list[str]) -> None:
    """Allow these models in the app's catalogue (the app's ``--model`` flag)."""
    _EXTRA_MODELS.extend(n for n in names if n not in _EXTRA_MODELS)


@functools.lru_cache(maxsize=64)
def _operator_task(name: str) -> str | None:
    """The task of an operator's model; ``None`` when it cannot be loaded (listed nowhere then)."""
    try:
        return load(name).task
    except DemoError:
        return None


def checkpoint_meta(name: str) -> dict[str, Any] | None:
    """A catalogue model's ``config.json`` (``model_type``, ``config``, ``extra``), read without its weights;
    ``None`` when it cannot be read."""
    try:
        meta = json.loads((resolve_checkpoint(name) / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, CheckpointError):
        return None
    return meta if isinstance(meta, dict) else None


def trained_on(name: str) -> str | None:
    """The dataset a model was trained on (its checkpoint's ``extra.train_args.data``), ``None`` where unsaid."""
    data = (((checkpoint_meta(name) or {}).get("extra") or {}).get("train_args") or {}).get("data")
    return data if isinstance(data, str) else None


def models_of_task(model_task: str) -> list[str]:
    """Every model of a model task (caption, classify) the app can run, whatever it was trained on: the bundled
    models, checkpoint directories under the runs folder and the operator's models (:func:`operator_models`)."""
    names = available_models(model_task)
    return names + [n for n in operator_models() if n not in names and _operator_task(n) == model_task]


def catalogue(task: str) -> list[str]:
    """Every model the app offers for ``task`` (a tab of :mod:`tdd.demo.task`, or a model task), and the only
    ones its endpoints accept: the bundled models, checkpoint directories under the runs folder, and the
    operator's models (:func:`operator_models`). A tab lists the models of its model task trained on its
    dataset or on one that no other tab of that task claims: the digits tab never offers an emoji classifier
    (it would read the emoji as a digit), and a model trained on your own folder appears in each."""
    single = {name: t for name, t in TABS.items() if isinstance(t, Task) and t.layout == "single"}
    tab = single.get(task)
    names = models_of_task(tab.model_task if tab is not None else task)
    if tab is None:
        return names
    claimed = {t.data for t in single.values() if t is not tab and t.model_task == tab.model_task} - {tab.data}
    return [n for n in names if trained_on(n) not in claimed]


def check_model(name: Any, task: str) -> str:
    """``name`` if it is in the catalogue of ``task``, else one :class:`DemoError` that lists the
    choices. The check is on the name alone, before any file is touched, so the answer is the same
    whether or not a path of that name exists on the server."""
    choices = catalogue(task)
    if not isinstance(name, str) or name not in choices:
        raise DemoError(f"unknown model {str(name)[:80]!r}; choose one of: {', '.join(choices)}")
    return name


def check_method(method: Any) -> str:
    if method not in METHODS:
        raise DemoError(f"method must be one of {', '.join(METHODS)}, got {str(method)[:40]!r}")
    return method


@functools.lru_cache(maxsize=8)
def load(name: str) -> Loaded:
    """Load a bundled model or checkpoint directory once (cached); errors name the file at fault."""

    try:
        model = PretrainedModel.from_pretrained(name)
    except (CheckpointError, FileNotFoundError) as e:
        raise DemoError(f"cannot load model {name!r}: {e}") from e
    task, method = model.task, model.method
    if not task:
        raise DemoError(f"{name!r} holds a {type(model).__name__}, which the app cannot run")
    tokenizer = load_tokenizer(resolve_checkpoint(name)) if task == "caption" else None
    return Loaded(name, model, task, method, tokenizer)


def class_names(loaded: Loaded) -> list[str]:
    """What each class is: the names its checkpoint carries (``extra.class_names``), else the class numbers."""
    names = loaded.model.checkpoint_extra.get("class_names")
    if isinstance(names, list) and len(names) == loaded.model.num_outputs:
        return [str(n) for n in names]
    return [str(k) for k in range(loaded.model.num_outputs)]
