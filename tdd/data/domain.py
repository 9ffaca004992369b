"""Does an image look like the generated scenes the bundled captioners learned from?

A documented test on the image's statistics, not on the model: resized to 64×64 and quantised to 8 levels
per channel, a scene (any of the renderers in :mod:`tdd.data.scenes`, :mod:`tdd.data.scene_styles`,
:mod:`tdd.data.scene_heldout`) fills at most 23 colour bins with ≥ 0.5 % of its pixels (over 1,000 drawn;
a background and a few flat shapes; 99.5 % fill ≤ 20), while a photograph fills more (the three that
scikit-learn and matplotlib ship fill 25, 28 and 33). Above ``SCENE_MAX_COLOURS`` the app and the CLI
say what the captioner knows. It is a rough test with a thin margin: a photograph of a few flat colours
passes as a scene, and the note is a hint, not a verdict.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from tdd.data.images import ImageInput, open_image

SCENE_MAX_COLOURS = 24  # scenes of every renderer fill ≤ 23 bins (tests/test_scene_styles.py); photographs ≥ 25
MIN_SHARE = 0.005  # a colour bin counts when it holds this share of the pixels
SCENES_NOTE = (
    "This captioner knows generated scenes of coloured shapes (circle, square, triangle, star, diamond, "
    "cross in seven colours); this image looks unlike them ({n} colours where scenes have at most "
    f"{SCENE_MAX_COLOURS}), so its caption will name shapes that may not be there. To caption your own "
    "kind of images, train on them: notebook 06, or train/train_captioner.py --data folder | coco."
)


def distinct_colours(image: ImageInput) -> int:
    """How many of the 512 colour bins (8 levels per channel) hold ≥ 0.5 % of the pixels at 64×64."""
    rgb = open_image(image).convert("RGB").resize((64, 64), Image.Resampling.BILINEAR)
    q = np.asarray(rgb, dtype=np.int64) // 32
    counts = np.bincount((q[..., 0] * 64 + q[..., 1] * 8 + q[..., 2]).ravel(), minlength=512)
    return int((counts >= MIN_SHARE * 64 * 64).sum())


def unlike_scenes(image: ImageInput) -> str | None:
    """A note for the user when ``image`` does not look like a generated scene, else ``None``."""
    n = distinct_colours(image)
    return SCENES_NOTE.format(n=n) if n > SCENE_MAX_COLOURS else None
