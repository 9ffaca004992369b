"""Named model factories (timm's ``@register_model``, DiT's ``DiT_models``) and the
``save_pretrained`` / ``from_pretrained`` pair every registered model has.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn

from tdd import hub_cache
from tdd.checkpoint import (
    CONFIG_NAME,
    WEIGHTS_NAME,
    CheckpointError,
    check_state_dict,
    read_config,
    read_weights,
    save_checkpoint,
)

MODELS: dict[str, type[PretrainedModel]] = {}
TASKS = ("classify", "caption")  # what a model does: an image → a label, an image → a sentence
METHODS = ("tdd", "mdd", "ar", "linear")  # how: TDD, masked diffusion, autoregressive, a linear head
BUNDLED_DIR = Path(__file__).resolve().parent.parent / "checkpoints"  # shipped inside the package
RUN_FINAL, RUN_STATES = "final", "checkpoints"  # a training run's folder: OUTPUT/final, OUTPUT/checkpoints
log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class ModelKind:
    """What a registered model is, read from its class: the one table of kinds that sampling, the Hub
    card, the app's catalogue and the bench consult (none of them spells a ``model_type``)."""

    model_type: str
    task: str  # one of TASKS, or "" for a building block (the MLP denoiser) that no app or script runs alone
    method: str  # one of METHODS

    @property
    def denoises(self) -> bool:
        """Sampled by a denoising loop (TDD or masked diffusion) rather than decoded directly."""
        return self.method in ("tdd", "mdd")

    @property
    def baseline(self) -> bool:
        """One of the paper's baselines (the AR captioner, the linear head)."""
        return self.method in ("ar", "linear")


def register_model(cls: type[PretrainedModel]) -> type[PretrainedModel]:
    """Class decorator: make ``cls`` buildable by its ``model_type`` name; its ``task`` and ``method``
    must be known ones."""
    if cls.model_type in MODELS:
        raise ValueError(f"model type {cls.model_type!r} is registered twice")
    if cls.task not in (*TASKS, "") or cls.method not in METHODS:
        raise ValueError(f"{cls.__name__}: task {cls.task!r} must be one of {TASKS} (or ''), "
                         f"method {cls.method!r} one of {METHODS}")  # fmt: skip
    MODELS[cls.model_type] = cls
    return cls


def kind_of(model_type: str | None) -> ModelKind | None:
    """The kind of a registered ``model_type`` (as a checkpoint's ``config.json`` records it); ``None``
    for an unknown one. Import :mod:`tdd.models` first so that every model is registered."""
    cls = MODELS.get(model_type or "")
    return None if cls is None else cls.kind()


def bundled_checkpoints() -> list[str]:
    """Names of the checkpoints shipped inside the package (usable with ``from_pretrained``)."""
    if not BUNDLED_DIR.is_dir():
        return []
    return sorted(p.name for p in BUNDLED_DIR.iterdir() if (p / CONFIG_NAME).is_file())


def resolve_checkpoint(name_or_dir: str | os.PathLike) -> Path:
    """A checkpoint directory, the name of a bundled checkpoint, or a Hugging Face Hub id
    (``owner/name`` or ``owner/name@revision``, fetched into the Hub's local cache) → its directory.

    A local directory wins over a Hub id of the same spelling. A training run's folder (``--output`` of
    the training scripts) resolves to its ``final/`` checkpoint (:func:`run_checkpoint`).
    """
    path = Path(name_or_dir)
    if path.is_dir():
        return run_checkpoint(path)
    bundled = BUNDLED_DIR / str(name_or_dir)
    if os.sep not in str(name_or_dir) and bundled.is_dir():
        return bundled
    names = ", ".join(bundled_checkpoints()) or "none"
    hub_id = hub_cache.parse_hub_id(name_or_dir)
    if hub_id is not None:
        try:
            return hub_cache.download(*hub_id)
        except CheckpointError as e:
            raise CheckpointError(path, f"not a local directory nor a bundled model ({names}); as a Hub id: "
                                  f"{e.problem}") from None  # fmt: skip
    raise CheckpointError(path, f"no such checkpoint directory, and not a bundled model name (bundled: {names})")


def run_checkpoint(path: Path) -> Path:
    """``path`` itself when it holds a checkpoint (or is no run folder: reading it names what is missing);
    a training run's folder → its ``final/``; a run without ``final/`` yet → a :class:`CheckpointError`
    naming its newest resumable checkpoint and how to finish the run."""
    final, states = path / RUN_FINAL, path / RUN_STATES
    if (path / CONFIG_NAME).is_file() or not (final.is_dir() or states.is_dir()):
        return path
    if (final / CONFIG_NAME).is_file():
        log.info("%s is a training run: loading its final checkpoint %s", path, final)
        return final
    newest = sorted(states.glob("step_*.pt"))
    where = f"; its newest resumable checkpoint is {newest[-1]}" if newest else ""
    raise CheckpointError(
        path,
        f"a training run with no {RUN_FINAL}/ yet (still training, or stopped){where}. Finish it: run the same "
        f"training command again with --resume, which writes {final}",
    )


class PretrainedModel(nn.Module):
    """Base of registered models: a config dataclass in, a checkpoint directory out and back.

    Subclasses set ``model_type`` and ``config_class`` and build themselves from ``config``.
    """

    model_type: ClassVar[str]
    config_class: ClassVar[type]
    task: ClassVar[str] = ""  # one of TASKS
    method: ClassVar[str] = ""  # one of METHODS

    def __init__(self, config: Any):
        super().__init__()
        self.config = config
        self.checkpoint_extra: dict[str, Any] = {}

    @property
    def num_outputs(self) -> int:
        """K, the size of the predicted distribution (classes, or the vocabulary of a captioner)."""
        return self.config.num_classes

    @classmethod
    def kind(cls) -> ModelKind:
        """This class's row of the table of kinds."""
        return ModelKind(cls.model_type, cls.task, cls.method)

    def noise_process(self) -> Any:
        """The noise process this model was trained with (a :class:`~tdd.diffusion.TweedieDiffusion` or
        :class:`~tdd.masked.MaskedDiffusion`, built from its config); ``None`` for a model that decodes
        directly (the AR and linear baselines). The sampler follows from it (:func:`tdd.sampling.sampler_for`)."""
        return None

    @classmethod
    def tiny_config(cls) -> Any:
        """The smallest sensible config, for contract tests over the registry."""
        raise NotImplementedError

    def example_inputs(self, batch_size: int, generator: torch.Generator | None = None) -> tuple:
        """Positional inputs of ``forward`` for a batch, for contract tests over the registry."""
        raise NotImplementedError

    def example_forward(self, batch_size: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """The model's output ``(B, ..., K)`` on example inputs through every trainable part."""
        return self(*self.example_inputs(batch_size, generator))

    def save_pretrained(
        self, directory: str | os.PathLike, extra: dict[str, Any] | None = None, dtype: torch.dtype | None = None
    ) -> Path:
        """Write ``config.json`` + ``model.safetensors`` into ``directory`` (atomically). ``dtype`` (e.g.
        ``torch.float16``, as diffusers' fp16 variants): the floating-point weights stored in it, half the file
        for a shipped model; loading casts them back to the model's dtype."""
        extra = {**self.checkpoint_extra, **(extra or {})}
        state = self.state_dict()
        if dtype is not None:
            state = {k: v.to(dtype) if v.is_floating_point() else v for k, v in state.items()}
        return save_checkpoint(
            directory,
            model_type=self.model_type,
            config=dataclasses.asdict(self.config),
            state_dict=state,
            extra=extra,
        )

    def push_to_hub(self, repo_id: str, *, tokenizer_dir: str | os.PathLike | None = None, **kwargs: Any) -> Any:
        """Upload this model (and a captioner's tokenizer) with a generated model card (:func:`tdd.hub.push_to_hub`)."""
        from tdd.hub import push_to_hub  # tdd.hub builds on this module (the card reads the model's kind)

        return push_to_hub(self, repo_id, tokenizer_dir=tokenizer_dir, **kwargs)

    @classmethod
    def from_pretrained(cls, name_or_dir: str | os.PathLike, *, device: torch.device | str = "cpu") -> PretrainedModel:
        """Load a checkpoint directory, a bundled model by name, or a Hugging Face Hub id
        (``owner/name[@revision]``, see :mod:`tdd.hub`), in eval mode.

        Raises:
            CheckpointError: naming the file at fault when the directory, ``config.json`` or
                ``model.safetensors`` is missing, corrupt, or does not match.
        """
        import tdd.models  # noqa: F401  (registers every model type before the lookup)

        directory = resolve_checkpoint(name_or_dir)
        meta = read_config(directory)
        config_path = directory / CONFIG_NAME
        model_cls = MODELS.get(meta["model_type"])
        if model_cls is None:
            raise CheckpointError(
                config_path, f"unknown model_type {meta['model_type']!r} (registered: {sorted(MODELS)})"
            )
        if not issubclass(model_cls, cls):
            raise CheckpointError(config_path, f"holds a {model_cls.__name__}, not a {cls.__name__}")
        config = model_cls.config_from_dict(meta["config"], config_path)
        model = model_cls(config)
        weights = read_weights(directory)
        check_state_dict(directory / WEIGHTS_NAME, model.state_dict(), weights)
        model.load_state_dict(weights)
        model.checkpoint_extra = meta["extra"]
        return model.to(device).eval()

    @classmethod
    def config_from_dict(cls, values: dict[str, Any], path: str | os.PathLike = CONFIG_NAME) -> Any:
        """Build ``config_class`` from a dict, with an error naming ``path`` for unknown or missing fields."""
        fields = {f.name for f in dataclasses.fields(cls.config_class)}
        unknown = sorted(set(values) - fields)
        if unknown:
            raise CheckpointError(path, f"unknown config fields {unknown} for {cls.__name__}")
        try:
            return cls.config_class(**values)
        except TypeError as e:
            raise CheckpointError(path, f"invalid config for {cls.__name__} ({e})") from e
