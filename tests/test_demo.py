"""The apps' UI-independent core (tdd.demo): streaming, pins, views, exports, bad input."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tdd import demo as core

WORDS = ["a", "large", "small", "red", "blue", "circle", "square", "above"]  # vocab 3 specials + 8 = 11


@pytest.fixture(scope="module")
def tiny_runs(tmp_path_factory):
    """A runs folder holding tiny random-weight TDD, MDD and AR captioners with their tokenizer."""
    from tdd.data.tokenizer import save_tokenizer, word_tokenizer
    from tdd.models.captioner import ARCaptioner, MDDCaptioner, TDDCaptioner

    root = tmp_path_factory.mktemp("runs")
    tok = word_tokenizer(WORDS)
    for cls in (TDDCaptioner, MDDCaptioner, ARCaptioner):
        model = cls(cls.tiny_config())
        assert model.config.vocab_size == tok.get_vocab_size()
        out = root / cls.model_type / "final"
        model.save_pretrained(out)
        save_tokenizer(tok, out)
    return root


@pytest.fixture
def scene_png(tmp_path):
    from tdd.data.scenes import make_scene

    path = tmp_path / "scene.png"
    Image.fromarray(make_scene(0, split="test").image).save(path)
    return path


def test_available_models_lists_bundled_and_run_directories(tiny_runs, tmp_path):
    assert "digits-tdd" in core.available_models("classify", tmp_path)
    found = core.available_models("caption", tiny_runs)
    assert {str(tiny_runs / t / "final") for t in ("tdd-captioner", "mdd-captioner", "ar-captioner")} <= set(found)
    assert not any("captioner" in n for n in core.available_models("classify", tiny_runs))
    with pytest.raises(core.DemoError, match="task"):
        core.available_models("translate")


def test_classify_streams_one_record_per_step_and_exports(tmp_path):
    seen = []
    for run in core.stream("digits-tdd", "examples/digits/drawn_7.png", core.Settings(steps=6)):
        seen.append(run.num_steps)  # the same Run, growing step by step
    assert seen == [1, 2, 3, 4, 5, 6]
    assert run.text == "7" and run.first_step_seconds <= run.seconds
    loaded = core.load("digits-tdd")
    data = run.to_json(loaded)
    assert data["result"] == "7" and len(data["trajectory"]) == 6
    assert abs(sum(data["probs"]) - 1) < 1e-3 and data["trajectory"][-1]["label"] == 7
    assert "class 7" in core.sentence_html(run, loaded) and "step 3 / 6" in core.sentence_html(run, loaded, 2)
    assert core.bars_figure(run, loaded, 0).data[0].y is not None
    assert json.loads(core.export_json(run, loaded, tmp_path).read_text())["result"] == "7"
    gif = Image.open(core.export_gif(run, loaded, "examples/digits/drawn_7.png", tmp_path))
    assert gif.n_frames == 6


def test_linear_classifier_yields_once():
    (run,) = list(core.stream("digits-linear", "examples/digits/digit_3.png"))
    assert run.text == "3" and run.records == [] and len(run.final_probs) == 10


@pytest.mark.parametrize("kind", ["tdd-captioner", "mdd-captioner"])
def test_caption_streaming_views_and_pins(tiny_runs, scene_png, kind):
    name = str(tiny_runs / kind / "final")
    loaded = core.load(name)
    run = core.run_to_end(name, scene_png, core.Settings(steps=4, cfg=2.0, seed=1))
    assert run.num_steps == 4 and isinstance(run.text, str)
    again = core.run_to_end(name, scene_png, core.Settings(steps=4, cfg=2.0, seed=1))
    assert again.text == run.text  # seeded
    html = core.sentence_html(run, loaded)
    assert html.count('class="tdd-tok"') == loaded.model.config.max_len
    assert len(core.positions(run, loaded)) == loaded.model.config.max_len
    fig = core.heatmap_figure(run, loaded, position=1)
    assert len(fig.data[0].x) == 4 and core.entropy_figure(run) is not None
    changes = [sum(int(r.changed[0, i]) for r in run.records[1:]) for i in range(5)]
    words = [i for i, tok in enumerate(run.records[-1].tokens[0].tolist()) if tok != 0] or [0]  # not padding
    assert core.busiest_position(run) in words and changes[core.busiest_position(run)] == max(changes[i] for i in words)
    rows = run.to_json(loaded)["trajectory"]
    assert [r["step"] for r in rows] == [1, 2, 3, 4] and all(len(r["tokens"]) == 5 for r in rows)
    pinned = core.run_to_end(name, scene_png, core.Settings(steps=4), pins="a _ red")
    assert pinned.pinned == [True, False, True, False, False]
    for r in pinned.records:  # pinned words hold at every step
        assert loaded.words(r.tokens[0])[0] == "a" and loaded.words(r.tokens[0])[2] == "red"
    assert "📌" in core.sentence_html(pinned, loaded)


def test_ar_caption_and_its_limits(tiny_runs, scene_png):
    name = str(tiny_runs / "ar-captioner" / "final")
    (run,) = list(core.stream(name, scene_png))
    assert run.records == [] and isinstance(run.text, str)
    with pytest.raises(core.DemoError, match="pinning"):
        core.run_to_end(name, scene_png, pins="a _")


def test_pins_errors(tiny_runs):
    loaded = core.load(str(tiny_runs / "tdd-captioner" / "final"))
    assert core.parse_pins("   ", loaded) == (None, None)
    with pytest.raises(core.DemoError, match="'zebra' is not in"):
        core.parse_pins("a zebra _", loaded)
    with pytest.raises(core.DemoError, match="at most 5"):
        core.parse_pins("a a a a a _", loaded)
    with pytest.raises(core.DemoError, match="every word is pinned"):
        core.parse_pins("a large red circle above", loaded)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"steps": 0}, "steps"),
        ({"steps": 101}, "steps"),
        ({"cfg": -1}, "CFG"),
        ({"to_one": "softmax"}, "to-one"),
        ({"temperature": 0}, "temperature"),
        ({"remasking": "best"}, "remasking"),
        ({"omega": 2}, "ω"),
        ({"window": (0.6, 0.2)}, "window"),
        ({"cfg_schedule": "cosine"}, "schedule"),
    ],
)
def test_settings_are_validated(kwargs, message):
    with pytest.raises(core.DemoError, match=message):
        core.Settings(**kwargs)


def test_bad_inputs_are_demo_errors(tmp_path):
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "text.png").write_text("not an image")
    for bad in (tmp_path / "empty.png", tmp_path / "text.png", tmp_path / "missing.png", None, {"composite": None}):
        with pytest.raises(core.DemoError):
            core.run_to_end("digits-tdd", bad)
    with pytest.raises(core.DemoError, match="is a classify model; pick a caption model"):
        core.run_to_end("digits-tdd", "examples/digits/drawn_7.png", task="caption")
    with pytest.raises(core.DemoError, match="cannot load model"):
        core.load(str(tmp_path / "no-such-model"))
    # odd but valid images work: 1×1, 16-bit, palette, RGBA, a sketchpad dict
    odd = [
        Image.new("RGB", (1, 1)),
        Image.fromarray(np.full((20, 20), 40000, dtype=np.uint16)),
        Image.new("P", (30, 30)),
        Image.new("RGBA", (30, 30)),
    ]
    for image in odd:
        assert core.run_to_end("digits-tdd", image, core.Settings(steps=2)).text.isdigit()
    assert core.run_to_end("digits-tdd", {"composite": Image.new("RGBA", (50, 50))}, core.Settings(steps=2)).text


# --- the first minute: what a step sends, the truth beside the answer, confidence, timing ------------


def test_a_full_speed_step_sends_the_sentence_alone_and_slow_motion_every_view(scene_png):
    loaded = core.load("scenes-tdd")
    sizes = []
    for run in core.stream("scenes-tdd", scene_png, core.Settings(steps=5)):
        fast = core.live_views(run, loaded, "full speed")
        assert set(fast) == {"sentence"} and f"step {run.num_steps} / 5" in fast["sentence"]
        sizes.append(len(fast["sentence"].encode()))
    assert max(sizes) < 10_000  # a few KB of HTML per step
    slow = core.live_views(run, loaded, "slow motion", position=2)
    assert set(slow) == set(core.VIEWS) and slow["heatmap"] is not None and slow["side"] is not None
    slow_bytes = sum(
        len(v if isinstance(v, str) else json.dumps(v.to_plotly_json(), default=str)) for v in slow.values()
    )
    assert slow_bytes > 2 * max(sizes)  # and two plotly figures for the browser to draw, every step
    with pytest.raises(core.DemoError, match="pace must be one of"):
        core.live_views(run, loaded, "warp")


def test_the_compute_time_leaves_out_the_consumer(scene_png):
    import time

    start = time.perf_counter()
    for run in core.stream("scenes-tdd", scene_png, core.Settings(steps=4)):  # noqa: B007 (the last run)
        time.sleep(0.25)  # a slow consumer (drawing, sending): 1 s in all
    wall = time.perf_counter() - start
    assert wall - run.seconds >= 0.95 and "4 steps (compute" in core.timing_text(run)  # the sleeps are left out
    ar = core.run_to_end("scenes-ar", scene_png)
    assert "written left to right" in core.timing_text(ar) and "step(s)" not in core.timing_text(ar)


def test_bundled_examples_come_with_their_truth_and_marks(tmp_path):
    from pathlib import Path

    folder = Path("examples/scenes")
    truths = core.example_truths(folder)
    lines = dict(line.split("\t") for line in (folder / "captions.txt").read_text().splitlines())
    assert len(truths) == len(lines) == 8  # six scenes of the training renderer, two of the held-out one
    copy = tmp_path / "upload.png"  # an upload or gradio's cached copy of an example: same bytes
    copy.write_bytes((folder / "scene_0.png").read_bytes())
    assert core.truth_of(copy, truths) == lines["scene_0.png"] == core.truth_of(str(folder / "scene_0.png"), truths)
    assert core.truth_of("examples/digits/drawn_7.png", truths) is None and core.truth_of(None, truths) is None
    html = core.truth_html("a large red circle is to the right of a small red circle", lines["scene_0.png"])
    assert html.count("tdd-right") == 10 and html.count("tdd-wrong") == 2 and "(10/12 right)" in html
    assert core.truth_html(lines["scene_2.png"], lines["scene_2.png"]).count("tdd-wrong") == 0


def test_the_confidence_scale_tells_half_from_sure():
    shades = [core.confidence_shade(p) for p in (0.5, 0.9, 0.99, 0.999, 1.0)]
    assert shades == sorted(shades) and shades[0] < 0.15 and 0.6 < shades[2] < 0.75
    assert shades[3] == pytest.approx(1) and shades[4] == pytest.approx(1)
    assert core.confidence_shade(0.99) - core.confidence_shade(0.5) > 0.5  # the old linear shade gave 0.43


def test_masked_diffusion_shows_its_mask_ratio_not_a_timestep(scene_png):
    loaded = core.load("scenes-mdd")
    run = core.run_to_end("scenes-mdd", scene_png, core.Settings(steps=4))
    html = core.sentence_html(run, loaded)
    assert "mask ratio 0." in html and "t = " not in html  # the share still masked when the step began
    assert "t = 1" in core.sentence_html(core.run_to_end("scenes-tdd", scene_png, core.Settings(steps=4)),
                                         core.load("scenes-tdd"))  # fmt: skip


def test_the_app_core_runs_a_thousand_class_classifier(tmp_path):
    from tdd.models.classifier import TDDClassifier

    config = TDDClassifier.tiny_config()
    config.num_classes = 1000
    TDDClassifier(config).save_pretrained(tmp_path / "in1k")
    name = str(tmp_path / "in1k")
    loaded = core.load(name)
    run = core.run_to_end(name, "examples/digits/drawn_7.png", core.Settings(steps=3))
    assert len(run.final_probs) == 1000 and run.text == str(max(range(1000), key=run.final_probs.__getitem__))
    data = run.to_json(loaded)
    assert "top" in data["trajectory"][0] and len(data["trajectory"][-1]["probs"]) == 1000
    assert len(core.bars_figure(run, loaded).data[0].x) == 20 and len(core.bars_figure(run, loaded, 0).data[0].x) == 10
    assert core.heatmap_figure(run, loaded) is not None and "class" in core.sentence_html(run, loaded)


def test_each_task_says_what_its_tab_shows():
    """The layouts read these instead of branching on the task's name."""
    cap, cls = core.task_of("caption"), core.task_of("classify")
    assert cap.takes_pins and cap.sequence and not cls.takes_pins and not cls.sequence
    assert cap.side_label == "entropy per step" and cls.side_label == "class probabilities"
    from tdd.data.scenes import COLOURS

    canvas = cap.canvas  # the scenes canvas: exactly the named colours, a light and a dark background
    assert canvas.names == tuple(COLOURS) and len(canvas.colours) == len(COLOURS)
    assert [tuple(int(c[i : i + 2], 16) for i in (1, 3, 5)) for c in canvas.colours] == list(COLOURS.values())
    light, dark = canvas.background_image("light"), canvas.background_image("dark")
    assert light.size == (canvas.side, canvas.side) and np.asarray(light).mean() > 200 > 50 > np.asarray(dark).mean()
    with pytest.raises(core.DemoError, match="background must be one of light, dark"):
        canvas.background_image("plaid")
    assert cls.canvas.colours == ("#000000",) and cls.canvas.background_image() is None


def test_has_drawing_tells_strokes_from_an_empty_canvas():
    empty_layer = Image.new("RGBA", (32, 32), (0, 0, 0, 0))
    stroke = empty_layer.copy()
    stroke.paste((220, 40, 40, 255), (10, 10, 20, 20))
    background = Image.new("RGB", (32, 32), "#202020")
    assert not core.has_drawing({"background": background, "layers": [empty_layer], "composite": background})
    assert core.has_drawing({"background": background, "layers": [stroke], "composite": background})
    painted = background.convert("RGBA")  # what an opaque canvas sends without layers: the composite
    assert not core.has_drawing({"background": background, "layers": [], "composite": painted.copy()})
    painted.paste((50, 100, 235, 255), (4, 4, 12, 12))
    assert core.has_drawing({"background": background, "layers": [], "composite": painted})
    assert core.has_drawing({"background": None, "layers": [], "composite": stroke})  # no background: alpha
    assert not core.has_drawing({"background": None, "layers": [], "composite": empty_layer})
    assert not core.has_drawing(None) and not core.has_drawing("examples/scenes/scene_0.png")


def test_a_late_change_of_the_drawing_that_ran_keeps_its_answer(monkeypatch):
    """The canvas's change event clears the answer, except when it carries the drawing the last run read (on a
    loaded server it can arrive after that run has finished: the answer was cleared under the user's eyes)."""
    import gradio as gr

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parent.parent / "app"))
    from gradio_tabs import fresh_input, sketch_changed

    background = Image.new("RGB", (32, 32), "#202020")
    drawn = background.convert("RGBA")
    drawn.paste((220, 40, 40, 255), (10, 10, 20, 20))
    ran = {"background": background, "layers": [], "composite": drawn}
    same = {"background": background.copy(), "layers": [], "composite": drawn.copy()}  # as the late event sends it
    more = drawn.copy()
    more.paste((50, 100, 235, 255), (2, 2, 6, 6))
    assert core.same_drawing(same, ran) and not core.same_drawing({**same, "composite": more}, ran)
    assert not core.same_drawing(None, ran) and not core.same_drawing(same, "examples/scenes/scene_0.png")
    kept = sketch_changed("caption", same, ran)
    assert len(kept) == len(fresh_input("caption")) and all(v == gr.skip() for v in kept)
    for new in ({**same, "composite": more}, same):  # a further stroke; the first run of a drawing (nothing ran)
        cleared = sketch_changed("caption", new, ran if new is not same else None)
        assert cleared[0] == fresh_input("caption")[0] and core.task_of("caption").placeholder in cleared[0]
    empty = {"background": background, "layers": [], "composite": background.convert("RGBA")}
    assert sketch_changed("caption", empty, empty)[0] == fresh_input("caption")[0]  # a cleared canvas is new


def test_class_names_come_from_the_checkpoint_when_it_has_them(tmp_path):
    from tdd.models.classifier import TDDClassifier

    config = TDDClassifier.tiny_config()
    names = [f"name {k}" for k in range(config.num_classes)]
    TDDClassifier(config).save_pretrained(tmp_path / "named", extra={"class_names": names})
    TDDClassifier(config).save_pretrained(tmp_path / "numbered")
    assert core.class_names(core.load(str(tmp_path / "named"))) == names
    assert core.class_names(core.load(str(tmp_path / "numbered"))) == [str(k) for k in range(config.num_classes)]
