"""Registered models. Importing this package registers every model in ``MODELS``."""

from tdd.models.captioner import ARCaptioner, CaptionerConfig, MDDCaptioner, TDDCaptioner
from tdd.models.classifier import ClassifierConfig, LinearClassifier, TDDClassifier
from tdd.models.mlp_denoiser import MLPDenoiser, MLPDenoiserConfig
from tdd.models.registry import (
    METHODS,
    MODELS,
    TASKS,
    ModelKind,
    PretrainedModel,
    bundled_checkpoints,
    kind_of,
    register_model,
    resolve_checkpoint,
)

__all__ = [
    "ARCaptioner",
    "CaptionerConfig",
    "MDDCaptioner",
    "TDDCaptioner",
    "ClassifierConfig",
    "LinearClassifier",
    "TDDClassifier",
    "METHODS",
    "MODELS",
    "ModelKind",
    "TASKS",
    "kind_of",
    "MLPDenoiser",
    "MLPDenoiserConfig",
    "PretrainedModel",
    "bundled_checkpoints",
    "register_model",
    "resolve_checkpoint",
]
