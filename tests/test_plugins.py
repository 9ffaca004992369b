"""A new dataset and a new app tab are each one class, registered: this test adds a throwaway dataset and a
throwaway tab from here alone (no file of the project changes), trains a captioner on the dataset with the
training script's own code, and finds the tab in both apps and in a run."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from tdd import demo as core
from tdd.data.caption_data import EvalSet, load_caption_data
from tdd.data.registry import DATASETS, Source, dataset, datasets, register_dataset
from tdd.demo.tasks import CaptionTask

ROOT = Path(__file__).resolve().parent.parent
COLOURS = {"red": (220, 40, 40), "blue": (40, 60, 220), "green": (40, 180, 70)}


class Swatches(Source):
    """Solid colour squares captioned by their colour."""

    name = "swatches"
    tasks = ("caption",)
    help = "solid colour squares (a test's throwaway dataset)"

    def caption_data(self, opts):
        import torch

        items = []
        for i in range(12):
            word = list(COLOURS)[i % 3]
            pixels = torch.tensor(COLOURS[word], dtype=torch.float32)[:, None, None] / 127.5 - 1
            items.append((pixels.expand(3, opts.image_size, opts.image_size).clone(), f"a {word} square"))
        held_out = [np.full((16, 16, 3), COLOURS[w], np.uint8) for w in COLOURS][: opts.eval_size]
        return items, [c for _, c in items], EvalSet(held_out, [[f"a {w} square"] for w in COLOURS][: len(held_out)])


class Mirror(CaptionTask):
    """The caption tab on the mirrored picture."""

    name, title = "mirror", "Mirror"
    header = "**The mirror tab**: the caption of the picture flipped left to right."

    def preprocess(self, image, size):
        return super().preprocess(image, size).flip(-1)


@pytest.fixture
def plugins():
    source, tab = register_dataset(Swatches()), core.register_task(Mirror())
    yield source, tab
    DATASETS.pop("swatches"), core.TASKS.pop("mirror")


def test_a_dataset_registered_from_outside_is_offered_everywhere(plugins):
    assert "swatches" in datasets("caption") and "swatches" not in datasets("classify")
    data, captions, evals = load_caption_data("swatches", None, 8, eval_size=2)
    assert len(data) == 12 and captions[0] == "a red square" and len(evals.sources) == 2
    with pytest.raises(ValueError, match="has no class labels"):
        dataset("swatches").classify_data(None)
    with pytest.raises(ValueError, match="the caption datasets are: scenes, folder, .*, swatches"):
        dataset("nope", "caption")
    with pytest.raises(ValueError, match="registered twice"):
        register_dataset(Swatches())


@pytest.mark.slow
def test_the_training_script_trains_on_a_registered_dataset(plugins, tmp_path):
    """The script's own parser offers ``--data swatches`` and its ``main`` trains and evaluates on it."""
    spec = importlib.util.spec_from_file_location("train_captioner_plugins", ROOT / "train" / "train_captioner.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    args = script.parse_args(["--data", "swatches", "--steps", "3", "--batch-size", "4", "--eval-every", "3",
                              "--eval-size", "2", "--eval-steps", "2", "--image-size", "16", "--width", "32",
                              "--depth", "1", "--heads", "2", "--cond-heads", "2", "--encoder-kwargs",
                              '{"img_size": 16, "patch_size": 8, "embed_dim": 32, "depth": 1, "num_heads": 2}',
                              "--warmup-steps", "1", "--output", str(tmp_path / "run"), "--threads", "1"])  # fmt: skip
    result = script.main(args)
    assert 0.0 <= result["exact_match"] <= 1.0
    config = json.loads((tmp_path / "run" / "final" / "config.json").read_text())
    assert config["extra"]["train_args"]["data"] == "swatches"


@pytest.mark.slow  # builds both apps
def test_a_tab_registered_from_outside_runs_and_appears_in_both_apps(plugins, monkeypatch):
    example = core.task_of("caption").examples()[0]
    run = core.run_to_end("scenes-tdd", example, core.Settings(steps=2), task="mirror")
    assert run.task == "mirror" and run.text  # the mirror tab's own preprocessing, its own views
    assert "step 2 / 2" in core.sentence_html(run, core.load("scenes-tdd"))
    with pytest.raises(core.DemoError, match="pick a caption model"):
        core.run_to_end("digits-tdd", example, core.Settings(steps=2), task="mirror")
    # Gradio: one tab per registered task
    monkeypatch.syspath_prepend(str(ROOT / "app"))  # where app/main.py finds its sibling gradio_tabs, as when run
    spec = importlib.util.spec_from_file_location("tdd_app_main", ROOT / "app" / "main.py")
    app = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(app)
    labels = [c["props"].get("label") for c in app.build().config["components"] if c["type"] == "tabitem"]
    assert [x for x in labels if x in ("Caption", "Side by side", "Classify", "Mirror")] == [
        "Caption", "Side by side", "Classify", "Mirror"]  # fmt: skip
    # Streamlit: one page per registered task
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app" / "streamlit_app.py"), default_timeout=120).run()
    assert "mirror" in at.radio(key="task").options or "Mirror" in at.radio(key="task").options
    at.radio(key="task").set_value("mirror").run()
    assert not at.exception and "The mirror tab" in " ".join(m.value for m in at.markdown)
