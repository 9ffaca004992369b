"""The Gradio app, launched for real on a free local port and driven through gradio_client;
and the Streamlit twin through streamlit's AppTest."""

import os
import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
pytest.importorskip("gradio")


@pytest.fixture(scope="module")
def client(app_server):
    from gradio_client import Client

    return Client(app_server[0], verbose=False)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    from tdd.data.scenes import make_scene

    d = tmp_path_factory.mktemp("inputs")
    scene = make_scene(2, split="test")
    Image.fromarray(scene.image).save(d / "scene.png")
    (d / "empty.png").write_bytes(b"")
    (d / "not_an_image.png").write_text("hello")
    jpeg = d / "ok.jpg"
    Image.fromarray(scene.image).save(jpeg)
    (d / "truncated.jpg").write_bytes(jpeg.read_bytes()[:200])
    Image.new("1", (12000, 12000)).save(d / "huge.png")  # 144 Mpixel, a few KB compressed
    Image.new("RGB", (1, 1), "white").save(d / "tiny.png")
    Image.fromarray(np.full((64, 64), 50000, dtype=np.uint16)).save(d / "sixteen_bit.png")
    Image.new("CMYK", (64, 64), (0, 0, 0, 255)).save(d / "cmyk.jpg")
    frames = [Image.new("P", (64, 64), i) for i in range(3)]
    frames[0].save(d / "animated.gif", save_all=True, append_images=frames[1:])
    (d / "big_upload.bin").write_bytes(os.urandom(11 * 1024 * 1024))  # over the 10 MB upload cap
    return d


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _caption(client, path, **kw):
    from gradio_client import handle_file

    args = dict(steps=5, cfg=1.0, seed=0, method="tdd", model="", to_one="argmax", temperature=1.0, pins="")
    args.update(spacing="checkpoint", best_of=1)
    args.update(kw)
    return client.predict(handle_file(str(path)), *args.values(), api_name="/caption")


def _classify(client, path, **kw):
    from gradio_client import handle_file

    args = dict(steps=5, cfg=1.0, seed=0, model="digits-tdd", to_one="argmax", temperature=1.0)
    args.update(kw)
    return client.predict(handle_file(str(path)), *args.values(), api_name="/classify")


def test_api_endpoints_are_named(client):
    endpoints = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    assert {"/caption", "/classify", "/side_by_side"} <= endpoints


def test_caption_endpoint_returns_the_trajectory(client, files):
    out = _caption(client, files / "scene.png", steps=7, cfg=2.0)
    assert out["task"] == "caption" and out["model"] == "scenes-tdd" and out["settings"]["cfg"] == 2.0
    assert len(out["trajectory"]) == 7 and out["result"] == out["trajectory"][-1]["sentence"]
    assert out["result"] == _caption(client, files / "scene.png", steps=7, cfg=2.0)["result"]  # seeded
    for method in ("mdd", "ar"):
        other = _caption(client, files / "scene.png", method=method)
        assert other["method"] == method and isinstance(other["result"], str)
    best = _caption(client, files / "scene.png", steps=7, best_of=4)  # the kept candidate's own trajectory
    assert best["settings"]["best_of"] == 4 and len(best["trajectory"]) == 7
    assert best["result"] == best["trajectory"][-1]["sentence"]


def test_classify_endpoint(client):
    out = _classify(client, ROOT / "examples" / "digits" / "drawn_7.png", steps=10)
    assert out["result"] == "7" and len(out["trajectory"]) == 10 and len(out["probs"]) == 10
    linear = _classify(client, ROOT / "examples" / "digits" / "digit_3.png", model="digits-linear")
    assert linear["result"] == "3" and linear["trajectory"] == []


def test_side_by_side_streams_both_methods_then_ar(client, files):
    from gradio_client import handle_file

    tdd_html, mdd_html, ar_md = client.predict(handle_file(str(files / "scene.png")), 6, 0, api_name="/side_by_side")
    assert "step 6 / 6" in tdd_html and "step 6 / 6" in mdd_html and "Autoregressive" in ar_md


def test_pinned_words_stay(client, files):
    out = _caption(client, files / "scene.png", pins="there is a small _ _")
    for step in out["trajectory"]:
        assert step["tokens"][:4] == ["there", "is", "a", "small"]
    with pytest.raises(Exception, match="not in this model's vocabulary"):
        _caption(client, files / "scene.png", pins="a purple zebra")


@pytest.mark.parametrize(
    "name, message",
    [
        ("empty.png", "empty"),
        ("not_an_image.png", "not a readable image"),
        ("truncated.jpg", "truncated"),
        ("huge.png", "pixels|too large"),
        ("big_upload.bin", "size|large|exceeds"),
    ],
)
def test_bad_inputs_get_clear_errors_and_the_server_keeps_serving(client, files, name, message):
    with pytest.raises(Exception, match=message) as info:
        _caption(client, files / name)
    assert "Traceback" not in str(info.value)
    assert _classify(client, ROOT / "examples" / "digits" / "drawn_7.png")["result"] == "7"


def test_a_user_mistake_logs_one_line_and_no_traceback(client, files, app_server):
    log = app_server[1].log_path
    before = log.read_text()
    with pytest.raises(Exception, match="not a readable image"):
        _caption(client, files / "not_an_image.png")
    with pytest.raises(Exception, match="steps must be between 1 and 100"):
        _classify(client, ROOT / "examples" / "digits" / "drawn_7.png", steps=0)
    time.sleep(0.5)  # the log line is flushed by the server's thread
    added = log.read_text()[len(before) :]
    assert "Traceback" not in added, added
    refusals = [line for line in added.splitlines() if "refused: " in line]
    assert len(refusals) == 2 and "not a readable image" in refusals[0] and "steps" in refusals[1], added


@pytest.mark.parametrize("name", ["tiny.png", "sixteen_bit.png", "cmyk.jpg", "animated.gif", "ok.jpg"])
def test_odd_images_work(client, files, name):
    assert isinstance(_caption(client, files / name)["result"], str)
    assert _classify(client, files / name)["result"].isdigit()


def test_settings_errors_reach_the_client(client, files):
    with pytest.raises(Exception, match="steps must be between 1 and 100"):
        _caption(client, files / "scene.png", steps=0)


def test_sixteen_clients_four_requests_each(client, app_server, files):
    from gradio_client import Client

    url, proc = app_server
    before = _rss_mb(proc.pid)
    digit = ROOT / "examples" / "digits" / "drawn_7.png"

    def one_client(i):
        c = Client(url, verbose=False)
        out = []
        for j in range(4):
            if j % 2:
                out.append(_classify(c, digit, seed=i * 10 + j)["result"])
            else:
                out.append(_caption(c, files / "scene.png", seed=0, steps=4)["result"])
        return out

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(one_client, range(16)))
    expected_caption = _caption(client, files / "scene.png", seed=0, steps=4)["result"]
    for out in results:
        assert out == [expected_caption, "7", expected_caption, "7"]
    assert _rss_mb(proc.pid) - before < 300  # trajectories keep top-k summaries, not whole distributions


def test_streamlit_twin_runs_every_task():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app" / "streamlit_app.py"), default_timeout=120).run()
    assert not at.exception and "Tweedie" in at.title[0].value
    assert at.radio(key="task").value == "emoji"  # the first page: name an emoji, its first example the panda
    at.button[0].click().run()
    html = " ".join(m.value for m in at.markdown)
    assert not at.exception and "🐼 panda" in html and "true name: <b>panda</b>" in html and "✓ right" in html
    at.text_input(key="typed-emoji").input("hello").run()
    assert [e.value for e in at.error] == ["no emoji in 'hello'; type or paste one, e.g. 🐼"]
    at.text_input(key="typed-emoji").input("").run()
    at.radio(key="task").set_value("emoji_words").run()  # the name written word by word, marked word by word
    at.selectbox(key="example-emoji_words").select_index(11).run()  # examples/emoji/twemoji_3.png, a red heart
    at.button[0].click().run()
    html = " ".join(m.value for m in at.markdown)
    assert not at.exception and "true name: <b>red heart</b>" in html and "the answer, word by word" in html
    at.radio(key="task").set_value("caption").run()
    at.button[0].click().run()
    assert not at.exception and not at.error
    html = " ".join(m.value for m in at.markdown)
    assert "step 20 / 20" in html and html.count('class="tdd-tok"') == 16
    assert len(at.get("plotly_chart")) == 3  # the noisy state, the token heatmap and the entropy
    assert "what the noise reads" in html and html.count('class="tdd-noise"') == 16
    at.slider(key="step").set_value(3).run()
    assert "step 3 / 20" in " ".join(m.value for m in at.markdown)
    at.checkbox(key="blind-caption").check().run()
    at.button(key="samples-caption").click().run()  # without the picture, several samples as one batch
    assert not at.exception and "8 samples" in " ".join(m.value for m in at.markdown)
    at.checkbox(key="blind-caption").uncheck().run()
    at.selectbox(key="example-caption").select_index(3).run()
    html = " ".join(m.value for m in at.markdown)  # a new example: no trace of the last answer
    assert "step 20 / 20" not in html and "tdd-tok" not in html and "The caption will form here" in html
    at.radio(key="task").set_value("compare").run()  # side by side: an emoji example selects the emoji captioners
    assert at.selectbox(key="sbs-family").value == "scenes"
    at.selectbox(key="sbs-example").select_index(8).run()  # examples/emoji/openmoji_0.png, after the 8 scenes
    assert at.selectbox(key="sbs-family").value == "emoji"
    at.button(key="sbs-run").click().run()
    html = " ".join(m.value for m in at.markdown)
    assert not at.exception and "**Autoregressive:**" in html and html.count("step 20 / 20") == 2
    at.radio(key="task").set_value("classify").run()
    assert "ten one-hot class vectors" in " ".join(m.value for m in at.markdown)  # the tab speaks of classes
    at.button[0].click().run()
    assert not at.exception and "class 0" in " ".join(m.value for m in at.markdown)  # examples/digits/digit_0.png


# --- the public app serves only its own catalogue, with bounded settings and queue -----------------


def _refusal(call) -> str:
    with pytest.raises(Exception) as info:
        call()
    return str(info.value)


def test_model_names_outside_the_catalogue_are_refused_alike(client, files, tmp_path):
    """Any path is refused with the same words whether it exists, is a checkpoint, or nothing at all."""
    real_checkpoint = str(ROOT / "tdd" / "checkpoints" / "digits-tdd")  # exists and would load
    probes = ["/etc", "/etc/passwd", "/no/such/dir", real_checkpoint, "../../tdd/checkpoints/scenes-tdd", str(tmp_path)]
    scene, digit = files / "scene.png", ROOT / "examples" / "digits" / "drawn_7.png"
    for endpoint, call in (("caption", lambda m: _caption(client, scene, model=m)),
                           ("classify", lambda m: _classify(client, digit, model=m))):  # fmt: skip
        messages = {p: _refusal(lambda c=call, p=p: c(p)) for p in probes}
        shapes = {m.replace(repr(p)[1:-1], "NAME") for p, m in messages.items()}
        assert len(shapes) == 1, shapes  # one answer, whatever exists on the server
        (shape,) = shapes
        assert "unknown model 'NAME'; choose one of" in shape and "digits-tdd" in shape or endpoint == "caption"
        assert "missing" not in shape and "no such" not in shape and "config.json" not in shape
    assert _caption(client, scene, model="scenes-mdd")["method"] == "mdd"  # catalogue names still work


@pytest.mark.parametrize(
    "kw, message",
    [
        (dict(seed=2**70), "seed must be between 0 and"),
        (dict(seed=-3), "seed must be between 0 and"),
        (dict(cfg=1e9), r"CFG scale must be in \[0, 20\]"),
        (dict(temperature=0), r"temperature must be in \(0, 10\]"),
        (dict(steps=101), "steps must be between 1 and 100"),
        (dict(method="bogus"), "method must be one of tdd, mdd, ar"),
        (dict(to_one="softmax"), "to-one must be one of"),
        (dict(best_of=17), "best of n must be between 1 and 16"),
    ],
)
def test_out_of_range_settings_get_their_own_message(client, files, kw, message):
    text = _refusal(lambda: _caption(client, files / "scene.png", **kw))
    assert re.search(message, text) and "upstream Gradio app has raised an exception" not in text


def test_a_burst_beyond_the_queue_bound_is_told_busy_and_the_server_keeps_serving(tmp_path, files):
    from conftest import launch_app, stop_app
    from gradio_client import Client

    url, proc = launch_app(tmp_path, {"TDD_QUEUE_SIZE": "2"})
    try:

        def one(i):
            try:
                _caption(Client(url, verbose=False), files / "scene.png", steps=100, cfg=2.0, seed=i)
                return "ok"
            except Exception as e:  # gradio_client's QueueError: "Queue is full! Please try again."
                return str(e)

        with ThreadPoolExecutor(12) as pool:
            answers = list(pool.map(one, range(12)))
        busy = [a for a in answers if "Queue is full" in a and "try again" in a]
        assert busy and "ok" in answers and len(busy) + answers.count("ok") == len(answers), answers
        assert _caption(Client(url, verbose=False), files / "scene.png")["result"]  # still serving
    finally:
        stop_app(proc)


def test_operator_models_join_the_catalogue(tmp_path):
    from tdd import demo as core

    extra = tmp_path / "mine"
    core.load("digits-linear").model.save_pretrained(extra)
    assert str(extra) not in core.catalogue("classify")
    with pytest.raises(core.DemoError, match="unknown model"):
        core.check_model(str(extra), "classify")
    os.environ[core.MODELS_ENV] = f" {extra} , scenes-tdd"
    try:
        assert str(extra) in core.catalogue("classify") and str(extra) not in core.catalogue("caption")
        assert core.check_model(str(extra), "classify") == str(extra)
    finally:
        del os.environ[core.MODELS_ENV]


def test_exports_older_than_the_limit_are_removed(tmp_path, monkeypatch):
    from tdd import demo as core

    monkeypatch.setenv(core.EXPORT_ROOT_ENV, str(tmp_path))
    monkeypatch.setenv(core.EXPORT_MAX_AGE_ENV, "60")
    first = core.export_dir()
    (first / "tdd_trajectory.json").write_text("{}")
    old = time.time() - 120
    os.utime(first, (old, old))
    second = core.export_dir()
    assert not first.exists() and second.is_dir() and second.parent == tmp_path
    assert core.export_dir(now=time.time() + 3600).is_dir() and not second.exists()
