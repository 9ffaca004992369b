"""Write the emoji tab's example pictures, ``examples/emoji/``: a fixed list of emoji drawn at the classifier's
glyph size in two openly licensed styles — Twemoji (CC-BY 4.0, a training style) and OpenMoji colour (CC BY-SA
4.0, a style the models never saw) — with ``captions.txt`` (each file's true name) and ``ATTRIBUTION.md``.

    python scripts/make_emoji_examples.py        # needs both npm tarballs: `tdd data emoji` says how
"""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image

from tdd.data import emoji
from tdd.data.emoji_styles import STYLES

ROOT = Path(__file__).resolve().parent.parent
EMOJI = ("🐼", "🚀", "🍕", "❤️", "😇", "👍🏽", "👩‍🚒", "🇯🇵")
STYLE_ORDER = ("twemoji", "openmoji")  # a training style, then a held-out one


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=str(ROOT / "examples" / "emoji"))
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    lines = []
    for style in STYLE_ORDER:
        for i, text in enumerate(EMOJI):
            typed = emoji.draw_typed(text, style)
            name = f"{style}_{i}.png"
            Image.fromarray(typed.image, "RGBA").save(out / name, optimize=True)
            lines.append(f"{name}\t{typed.name}")
    (out / "captions.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    credits = [
        "# Where these pictures come from",
        "",
        "Written by `scripts/make_emoji_examples.py`; each file's true name is in `captions.txt` (CLDR names).",
        "",
    ]
    credits += [f"- `{s}_*.png`: {STYLES[s].title}, {STYLES[s].licence}; drawn unchanged at "
                f"{emoji.DEFAULT_SIZE} px." for s in STYLE_ORDER]  # fmt: skip
    credits += [
        "",
        "OpenMoji's pictures are shared under the same licence (CC BY-SA 4.0, https://openmoji.org); Twemoji's "
        "under CC-BY 4.0 (https://github.com/jdecked/twemoji).",
    ]
    (out / "ATTRIBUTION.md").write_text("\n".join(credits) + "\n", encoding="utf-8")
    print(f"wrote {len(lines)} examples to {out}")


if __name__ == "__main__":
    main()
