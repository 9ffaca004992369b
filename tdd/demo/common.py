"""What every part of the apps' core shares: the words on the page, the bounds, and :class:`DemoError`."""

from __future__ import annotations

RUNS_DIR_ENV = "TDD_RUNS_DIR"  # where the apps look for your own checkpoint directories
MODELS_ENV = "TDD_MODELS"  # the operator's own models: checkpoint directories or Hub ids, comma-separated
MAX_STEPS = 100  # the app's bound on S (the library's own ranges: tdd.samplers.config.SamplingConfig)
METHODS = ("tdd", "mdd", "ar")  # the captioning methods a bundled scenes model exists for
FREE_WORD = "_"  # in a pinned caption, a word to be regenerated
HEATMAP_TOP = 8
ONE_SENTENCE = (
    "TDD writes a caption (or picks a class) by starting from pure Gaussian noise over one-hot word "
    "vectors and repeatedly predicting the clean sentence, snapping it to words, and re-noising it a "
    "little less, until the words settle."
)
CLASS_LEGEND = (
    "The class is shaded by the model's confidence p on a log scale — pale at p = 0.5, mid-blue at 0.99, dark at "
    "0.999 and above — with p printed under it; the bars show p(class) at the chosen step, the heatmap every class "
    "at every step."
)
COLOUR_LEGEND = (
    "Each word is shaded by the model's confidence p on a log scale — pale at p = 0.5, mid-blue at 0.99, dark at "
    "0.999 and above — and p is printed under it; an orange outline marks a word that changed since the previous "
    "step; a faint · is an empty slot after the end and [mask] a still-masked slot of the masked-diffusion baseline."
)


class DemoError(ValueError):
    """A problem with the user's input or settings, worded for the user."""
