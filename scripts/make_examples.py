"""Write the example images under examples/ (committed; a few KB).

- examples/digits/digit_<label>.png: the first held-out image of each class (white on black, as in
  the dataset), upscaled 8×8 → 64×64 with nearest neighbours.
- examples/digits/drawn_<label>.png: digits drawn with dark strokes on a transparent 200×200
  canvas, the way a user's sketch or photo looks, to exercise the preprocessing of user images.

    python scripts/make_examples.py
"""

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from tdd.data.digits import load_digits_split

OUT = Path(__file__).resolve().parent.parent / "examples" / "digits"
UPSCALE = 64
STROKES = {  # polylines on a 200×200 canvas
    1: [[(100, 30), (100, 170)], [(75, 55), (100, 30)]],
    4: [[(130, 170), (130, 30), (50, 125), (155, 125)]],
    7: [[(50, 40), (150, 40), (85, 170)]],
}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    split = load_digits_split()
    for label in range(10):
        i = int((split.test_labels == label).nonzero()[0, 0])
        pixels = (split.test_images[i].numpy() * 255).astype(np.uint8)
        Image.fromarray(pixels).resize((UPSCALE, UPSCALE), Image.Resampling.NEAREST).save(OUT / f"digit_{label}.png")
    for label, lines in STROKES.items():
        canvas = Image.new("RGBA", (200, 200), (0, 0, 0, 0))
        draw = ImageDraw.Draw(canvas)
        for line in lines:
            draw.line(line, fill=(20, 20, 60, 255), width=16, joint="curve")
        canvas.save(OUT / f"drawn_{label}.png")
    print(f"wrote {len(list(OUT.iterdir()))} images to {OUT}")


if __name__ == "__main__":
    main()
