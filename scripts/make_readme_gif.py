"""Write docs/assets/caption.gif, the README's picture: the bundled TDD captioner's 20 denoising steps on
an example scene, drawn by the app's own GIF export (:func:`tdd.demo.export_gif`), so it shows exactly
what the app shows.

    python scripts/make_readme_gif.py                      # scenes-tdd on examples/scenes/scene_0.png
    python scripts/make_readme_gif.py --model scenes-mdd   # the masked baseline, for comparison
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from tdd import demo

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> Path:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="scenes-tdd")
    p.add_argument("--image", default=str(ROOT / "examples" / "scenes" / "scene_0.png"))
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--output", default=str(ROOT / "docs" / "assets" / "caption.gif"))
    args = p.parse_args(argv)
    run = demo.run_to_end(args.model, args.image, demo.Settings(steps=args.steps, seed=args.seed))
    with tempfile.TemporaryDirectory() as tmp:
        gif = demo.export_gif(run, demo.load(args.model), args.image, tmp)
        out = Path(args.output)
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(gif, out)
    print(f"{out}: {args.model}, {run.num_steps} steps, final caption {run.text!r}")
    return out


if __name__ == "__main__":
    main()
