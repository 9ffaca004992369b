"""The training side in one package, apart from the models and the noise processes.

- :mod:`tdd.training.objectives` — TDD's loss and its levers, the baselines' losses, K-fold, condition
  dropout, EMA (re-exported here);
- :mod:`tdd.training.loop` — the loop both training scripts share (:func:`~tdd.training.loop.train`);
- :mod:`tdd.training.metrics` — what rank 0 writes (``metrics.jsonl``, TensorBoard);
- :mod:`tdd.training.state` — resumable checkpoints; :mod:`tdd.distributed` — torchrun's processes.
"""

from tdd.training.objectives import (
    DEFAULT_EMA_DECAY,
    OBJECTIVES,
    SELF_COND_PROB,
    ar_loss,
    clean_context_input,
    kfold_expand,
    make_ema,
    mdd_loss,
    mixed_noise_input,
    per_item_ce,
    sample_drop_mask,
    self_cond_input,
    tdd_loss,
    unrolled_input,
)

__all__ = [
    "DEFAULT_EMA_DECAY",
    "OBJECTIVES",
    "SELF_COND_PROB",
    "ar_loss",
    "kfold_expand",
    "make_ema",
    "mdd_loss",
    "clean_context_input",
    "mixed_noise_input",
    "per_item_ce",
    "sample_drop_mask",
    "self_cond_input",
    "tdd_loss",
    "unrolled_input",
]
