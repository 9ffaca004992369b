"""The captioners' configuration (:class:`CaptionerConfig`): sizes, the diffusion settings and TDD's levers, each
checked on construction; saved with a checkpoint as its ``config.json``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tdd.models.conditioning import POS_EMBEDS

INPUT_PRECONDS = ("none", "unit_var", "posterior")
SPACINGS = ("uniform", "informative")
COMMIT_RULES = ("confidence", "left_to_right")  # a per_position_t model's sampler: which positions it commits first


def _scenes_vit() -> dict[str, Any]:
    """A tiny ViT for 64×64 RGB scenes (8×8 patches → 64 image tokens)."""
    return dict(img_size=64, patch_size=8, in_chans=3, embed_dim=96, depth=4, num_heads=3, mlp_ratio=2.0)


@dataclass
class CaptionerConfig:
    """Args: vocab_size V and max_len N of the captions; the encoder and conditioning module as for
    :class:`~tdd.models.classifier.ClassifierConfig`; depth/heads of the decoder; the diffusion
    settings (TDD) and the mask id (MDD) the model was trained with.

    TDD's levers (:mod:`tdd.timesteps`, issue "TDD that learns fast"); the defaults are the paper's, and a
    checkpoint without these fields loads with them:

    - ``onehot_scale``: λ of the λ-hot (§3.2), used by training and sampling alike.
    - ``input_precond``: how y_t enters the decoder: ``"none"`` (``Linear(V, W)(y_t)``), ``"unit_var"``
      (EDM's c_in · y_t, unit mean square at every t) or ``"posterior"`` (the exact p(y_0 | y_t), an
      in-situ function of y_t, through ``Linear(V, W)``).
    - ``adaln_zero``: DiT's initialisation (every block's modulation and the output head start at zero).
    - ``self_cond``: the previous prediction p̂ ``(B, N, V)`` enters through a zero-initialised projection.
    - ``output_prior``: Plaid's output prior: the logits are the network's plus the exact posterior's,
      log p(y_0 | y_t) (:meth:`~tdd.diffusion.TweedieDiffusion.posterior_logits`), so the network learns only
      what y_t does not already say (at small t nothing; at t = T everything, from the image).
    - ``pos_embed``: where the tokens are: ``"learned"`` (embeddings learned from random, text positions and a CNN's
      feature map alike) or ``"sincos"`` (fixed sine-cosine ones: 1D for the text as in the Transformer, 2D for the
      feature map as in DETR and pix2seq; a ViT encoder keeps its own). Not a TDD-only lever: MDD and AR take it too.
    - ``per_position_t``: the network is told each position's timestep ``(B, N)`` (an embedding added to each
      token's input; the blocks' adaLN keeps the row's largest t), as Diffusion Forcing does; a model trained with
      clean context (:func:`~tdd.training.objectives.clean_context_input`) has it, and its sampler commits the
      positions it is surest of, clean, as masked diffusion unmasks them (``commit``: which positions, the surest
      ``"confidence"`` or the leftmost ``"left_to_right"``; :class:`~tdd.samplers.tdd_sampler.TDDSampler`).
    - ``spacing``: the sampling timesteps used by default, ``"uniform"`` (the paper) or ``"informative"``
      (equal drops of ``ce_curve``, the model's held-out CE at ``ce_curve_t``, measured after training).
    """

    vocab_size: int
    max_len: int = 16
    encoder: str = "vit_tiny_patch16_224"
    encoder_kwargs: dict[str, Any] = field(default_factory=_scenes_vit)
    image_size: int = 64
    in_chans: int = 3
    width: int = 128
    cond_depth: int = 1
    cond_heads: int = 4
    depth: int = 4
    heads: int = 4
    mlp_ratio: float = 4.0
    schedule: str = "linear"
    num_timesteps: int = 1000
    parameterization: str = "x0"
    mask_id: int = 1
    onehot_scale: float = 1.0
    input_precond: str = "none"
    adaln_zero: bool = False
    self_cond: bool = False
    output_prior: bool = False
    spacing: str = "uniform"
    pos_embed: str = "learned"
    per_position_t: bool = False
    # leftmost first: on the four-phrasing scenes 75.0 / 75.8 % exact (test / held-out renderer) against 72.6 / 71.4 for
    # the surest first, and two distinct right phrasings among 8 samples on 8 of the app's 8 examples against 5
    # (results/phrasings_clean_context.md): the surest words come first in any phrasing ("a", "the") and commit the
    # count before the group it belongs to is chosen
    commit: str = "left_to_right"
    ce_curve_t: list[int] | None = None
    ce_curve: list[float] | None = None

    def __post_init__(self):
        if self.input_precond not in INPUT_PRECONDS:
            raise ValueError(f"input_precond must be one of {INPUT_PRECONDS}, got {self.input_precond!r}")
        if self.pos_embed not in POS_EMBEDS:
            raise ValueError(f"pos_embed must be one of {POS_EMBEDS}, got {self.pos_embed!r}")
        if self.commit not in COMMIT_RULES:
            raise ValueError(f"commit must be one of {COMMIT_RULES}, got {self.commit!r}")
        if self.spacing not in SPACINGS:
            raise ValueError(f"spacing must be one of {SPACINGS}, got {self.spacing!r}")
        if self.spacing == "informative" and not self.ce_curve:
            raise ValueError("spacing 'informative' needs the measured ce_curve")
