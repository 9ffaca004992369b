"""Write the example images under examples/ (committed; a few KB).

- examples/digits/digit_<label>.png: the first held-out MNIST image of each class (white on black, as
  in the dataset), upscaled 28×28 → 112×112 with nearest neighbours.
- examples/digits/drawn_<label>.png: digits drawn with dark strokes on a transparent 200×200
  canvas, the way a user's sketch or photo looks, to exercise the preprocessing of user images.
- examples/scenes/scene_<i>.png: held-out generated scenes (test split, seed 0) drawn by the
  domain-randomised renderer the bundled captioners train on, and style_<i>.png: scenes of the
  ``style`` split, drawn by the held-out renderer no captioner trains on; upscaled 64 → 256 with
  nearest neighbours; their captions in examples/scenes/captions.txt.

    python scripts/make_examples.py
"""

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from tdd.data.digits import load_digits_split
from tdd.data.scenes import make_scene

OUT = Path(__file__).resolve().parent.parent / "examples" / "digits"
SCENES_OUT = OUT.parent / "scenes"
SCENE_INDICES = (0, 1, 2, 3, 5, 8)  # a mix of one-group, counted and related scenes
HELDOUT_INDICES = (0, 1)  # two scenes of the held-out renderer ("style" split)
UPSCALE = 112
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
    SCENES_OUT.mkdir(parents=True, exist_ok=True)
    lines = []
    named = [(f"scene_{i}.png", make_scene(i, 0, "test", style="random")) for i in SCENE_INDICES]
    named += [(f"style_{i}.png", make_scene(i, 0, "style")) for i in HELDOUT_INDICES]
    for name, scene in named:
        Image.fromarray(scene.image).resize((256, 256), Image.Resampling.NEAREST).save(SCENES_OUT / name)
        lines.append(f"{name}\t{scene.caption}")
    (SCENES_OUT / "captions.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(named)} scenes to {SCENES_OUT}")


if __name__ == "__main__":
    main()
