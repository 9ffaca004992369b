"""The domain-randomised scenes renderer and the held-out renderer style (issue "Captioners that see")."""

import numpy as np
import pytest

from tdd.data.scene_heldout import PALETTE
from tdd.data.scene_styles import (
    COLOUR_BANDS,
    LONE_LARGE_MAX,
    SIZE_BOUNDARY,
    SIZE_RANGES,
    nearest_colour,
    sample_colour,
)
from tdd.data.scenes import COLOURS, ScenesDataset, make_scene, parse_caption


@pytest.mark.parametrize("split, style", [("train", "random"), ("test", "random"), ("style", "plain")])
def test_styled_scenes_are_deterministic_and_parse(split, style):
    for i in range(12):
        a, b = make_scene(i, 0, split, style=style), make_scene(i, 0, split, style=style)
        assert np.array_equal(a.image, b.image) and a.caption == b.caption
        assert a.image.shape == (64, 64, 3) and a.image.dtype == np.uint8
        assert parse_caption(a.caption) == a.description
    with pytest.raises(ValueError, match="style must be one of"):
        make_scene(0, style="watercolour")


def test_every_colour_band_and_the_heldout_palette_stay_nearest_their_own_name():
    rng = np.random.default_rng(0)
    for name in COLOUR_BANDS:
        assert all(nearest_colour(sample_colour(rng, name)) == name for _ in range(500)), name
    assert {name: nearest_colour(rgb) for name, rgb in PALETTE.items()} == {n: n for n in PALETTE}
    plain = {name: nearest_colour(rgb) for name, rgb in COLOURS.items()}  # the plain renderer's values
    assert plain == {n: n for n in COLOURS}
    assert SIZE_RANGES["small"][1] < SIZE_BOUNDARY < SIZE_RANGES["large"][0]


def test_the_randomisation_is_visible():
    """Same descriptions (same index), other pixels; light and dark backgrounds; colours off the plain values;
    a filled single object's centre pixel names its colour."""
    scenes = [make_scene(i, 0, "train", style="random") for i in range(200)]
    plain = [make_scene(i, 0, "train") for i in range(200)]
    assert all(s.description == p.description for s, p in zip(scenes, plain))
    assert all(not np.array_equal(s.image, p.image) for s, p in zip(scenes, plain))
    corners = [np.concatenate([s.image[:3, :3], s.image[-3:, -3:]]).mean() / 255 for s in scenes]
    assert min(corners) < 0.3 and max(corners) > 0.7  # dark and light backgrounds both occur
    named = []
    for s in scenes:
        if len(s.objects) == 1 and s.objects[0][2] == "large" and s.objects[0][0] in ("circle", "square"):
            _, colour, _, x, y, _ = s.objects[0]
            pixel = s.image[int(y * 64), int(x * 64)]
            named.append((nearest_colour(pixel) == colour, tuple(pixel) != COLOURS[colour]))
    assert len(named) >= 5
    assert all(off for _, off in named)  # never the plain renderer's exact RGB
    assert sum(right for right, _ in named) >= 0.6 * len(named)  # outlined shapes show the background there


def test_object_sizes_keep_their_ranges_and_a_lone_large_object_may_fill_the_image():
    lone, other = [], []
    for i in range(600):
        s = make_scene(i, split="train", style="random")
        for _, _, size, x, y, r in s.objects:
            low, high = SIZE_RANGES[size]
            if len(s.objects) == 1 and size == "large":
                lone.append(r)
                high = LONE_LARGE_MAX
            else:
                other.append((size, r))
            assert low <= r <= high and r <= x <= 1 - r and r <= y <= 1 - r, (s.caption, s.objects)
    assert all((r < SIZE_BOUNDARY) == (size == "small") for size, r in other)
    assert max(lone) > 0.28 and min(lone) < SIZE_RANGES["large"][1]  # wider than the large range, and across it


def test_the_heldout_style_has_its_own_test_set_and_the_dataset_takes_a_style():
    heldout = [make_scene(i, 0, "style") for i in range(10)]
    test = [make_scene(i, 0, "test") for i in range(10)]
    assert [h.description for h in heldout] != [t.description for t in test]  # its own index stream
    image, caption = ScenesDataset(4, "train", style="random")[2]
    assert image.shape == (3, 64, 64) and caption == make_scene(2, style="random").caption


def _photographs():
    """The photographs that scikit-learn and matplotlib ship (nothing is downloaded)."""
    import matplotlib.cbook as cbook
    from PIL import Image
    from sklearn.datasets import load_sample_images

    photos = list(load_sample_images().images)
    with cbook.get_sample_data("grace_hopper.jpg") as f:
        photos.append(np.asarray(Image.open(f).convert("RGB")))
    return photos


def test_scenes_of_every_renderer_look_like_scenes_and_photographs_do_not():
    from tdd.data.domain import SCENE_MAX_COLOURS, distinct_colours, unlike_scenes

    scenes = [make_scene(i, 0, "test").image for i in range(150)]
    scenes += [make_scene(i, 0, "train", style="random").image for i in range(300)]
    scenes += [make_scene(i, 0, "style").image for i in range(100)]
    assert max(distinct_colours(s) for s in scenes) <= SCENE_MAX_COLOURS
    for photo in _photographs():
        note = unlike_scenes(photo)
        assert note is not None and "generated scenes of coloured shapes" in note and "--data folder" in note
    assert unlike_scenes(scenes[0]) is None


def test_the_app_and_the_cli_say_what_a_scenes_captioner_knows(tmp_path):
    import json
    import subprocess
    import sys

    from PIL import Image

    from tdd import demo
    from tdd.models import PretrainedModel

    photo = tmp_path / "photo.jpg"
    Image.fromarray(_photographs()[0]).save(photo)
    scene = tmp_path / "scene.png"
    Image.fromarray(make_scene(0, 0, "test").image).save(scene)
    model = PretrainedModel.from_pretrained("scenes-tdd")
    assert demo.trained_on_scenes(model)
    assert "generated scenes" in demo.domain_note(str(photo), model) and demo.domain_note(str(scene), model) == ""
    out = subprocess.run([sys.executable, "-m", "tdd", "caption", str(photo), str(scene), "--json", "--steps", "2"],
                         capture_output=True, text=True)  # fmt: skip
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert out.returncode == 0 and "generated scenes" in rows[0]["note"] and "note" not in rows[1]
