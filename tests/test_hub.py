"""Checkpoints on the Hugging Face Hub, offline: a local cache laid out as huggingface_hub writes it
(refs/ and snapshots/), HF_HUB_OFFLINE=1, and uploads against a stub HfApi that records the files."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tdd.checkpoint import CheckpointError
from tdd.hub import parse_hub_id, push_checkpoint
from tdd.models.captioner import TDDCaptioner
from tdd.models.classifier import TDDClassifier
from tdd.models.registry import BUNDLED_DIR, PretrainedModel

ROOT = Path(__file__).resolve().parent.parent
MAIN_SHA, V1_SHA = "a" * 40, "b" * 40


def _cache_repo(cache: Path, repo_id: str, refs: dict[str, tuple[str, Path]]) -> None:
    """Lay ``repo_id`` out in a Hub cache: refs/<name> holds a commit, snapshots/<commit>/ the files."""
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    for ref, (sha, source) in refs.items():
        (repo / "refs" / ref).write_text(sha)
        snapshot = repo / "snapshots" / sha
        snapshot.mkdir(parents=True, exist_ok=True)
        for f in source.iterdir():
            (snapshot / f.name).write_bytes(f.read_bytes())


@pytest.fixture
def hub_cache(tmp_path, monkeypatch):
    import huggingface_hub.constants as constants

    assert constants.HF_HUB_OFFLINE, "tests run with HF_HUB_OFFLINE=1 (tests/conftest.py)"
    cache = tmp_path / "hf" / "hub"
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    torch.manual_seed(0)
    first, second = tmp_path / "m1", tmp_path / "m2"
    TDDClassifier(TDDClassifier.tiny_config()).save_pretrained(first)
    TDDClassifier(TDDClassifier.tiny_config()).save_pretrained(second)
    _cache_repo(cache, "alice/tiny-digits", {"main": (MAIN_SHA, first), "v1": (V1_SHA, second)})
    _cache_repo(cache, "alice/scenes-tdd", {"main": (MAIN_SHA, BUNDLED_DIR / "scenes-tdd")})
    return cache, first, second


def _same_weights(a, b) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def test_hub_ids_are_told_apart_from_paths(tmp_path):
    assert parse_hub_id("alice/tiny") == ("alice/tiny", None)
    assert parse_hub_id("alice/tiny@v1.0") == ("alice/tiny", "v1.0")
    assert parse_hub_id("scenes-tdd") is None and parse_hub_id("/etc/passwd") is None
    assert parse_hub_id("runs/x/final") is None
    (tmp_path / "owner" / "name").mkdir(parents=True)
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        assert parse_hub_id("owner/name") is None  # an existing local directory wins
    finally:
        os.chdir(cwd)


def test_from_pretrained_reads_the_cache_offline_with_revisions(hub_cache):
    _, first, second = hub_cache
    main = PretrainedModel.from_pretrained("alice/tiny-digits")
    v1 = PretrainedModel.from_pretrained("alice/tiny-digits@v1")
    assert isinstance(main, TDDClassifier) and not main.training
    assert _same_weights(main, PretrainedModel.from_pretrained(first))
    assert _same_weights(v1, PretrainedModel.from_pretrained(second)) and not _same_weights(main, v1)


def test_hub_errors_are_clear(hub_cache):
    cache, *_ = hub_cache
    with pytest.raises(CheckpointError, match="not in the local Hugging Face cache .* HF_HUB_OFFLINE is set"):
        PretrainedModel.from_pretrained("alice/never-uploaded")
    with pytest.raises(CheckpointError, match="holds a TDDClassifier, not a TDDCaptioner"):
        TDDCaptioner.from_pretrained("alice/tiny-digits")
    broken = cache / "models--alice--tiny-digits" / "snapshots" / V1_SHA / "model.safetensors"
    broken.unlink()
    with pytest.raises(CheckpointError, match="model.safetensors"):
        PretrainedModel.from_pretrained("alice/tiny-digits@v1")


@pytest.mark.slow
def test_cli_and_tokenizer_load_from_a_hub_id_honouring_hf_home(hub_cache):
    cache, *_ = hub_cache
    env = {**os.environ, "HF_HOME": str(cache.parent), "HF_HUB_OFFLINE": "1"}
    env.pop("HF_HUB_CACHE", None)
    out = subprocess.run(
        [sys.executable, "-m", "tdd.cli", "caption", "examples/scenes/scene_2.png", "--model", "alice/scenes-tdd"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    bundled = subprocess.run(
        [sys.executable, "-m", "tdd.cli", "caption", "examples/scenes/scene_2.png"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout == bundled.stdout  # the same weights, from the Hub cache


class RecordingApi:
    """Stands in for huggingface_hub.HfApi: records what would be sent."""

    def __init__(self):
        self.repos, self.files = [], {}

    def create_repo(self, repo_id, **kw):
        self.repos.append((repo_id, kw))

    def upload_folder(self, *, repo_id, folder_path, **kw):
        self.files = {p.name: p.read_bytes() for p in Path(folder_path).iterdir()}
        return {"repo_id": repo_id, **kw}


def test_push_to_hub_sends_the_checkpoint_the_tokenizer_and_a_model_card(tmp_path):
    from huggingface_hub import ModelCard

    model = PretrainedModel.from_pretrained("scenes-tdd")
    model.checkpoint_extra = {
        "train_args": {"data": "scenes", "method": "tdd", "steps": 6000, "lr": 0.001},
        "result": {"exact_match": 0.5, "cider": 6.0},
    }
    model.save_pretrained(tmp_path / "final")
    (tmp_path / "final" / "tokenizer.json").write_bytes((BUNDLED_DIR / "scenes-tdd" / "tokenizer.json").read_bytes())
    api = RecordingApi()
    push_checkpoint(tmp_path / "final", "alice/my-captioner", api=api)
    assert api.repos[0][0] == "alice/my-captioner"
    assert set(api.files) == {"config.json", "model.safetensors", "tokenizer.json", "README.md"}
    card = ModelCard(api.files["README.md"].decode())
    assert card.data.library_name == "tdd" and "discrete-diffusion" in card.data.tags
    assert card.data.pipeline_tag == "image-to-text" and card.data.datasets == ["generated-scenes"]
    assert "python train/train_captioner.py" in card.text and "--steps 6000" in card.text
    assert '"exact_match": 0.5' in card.text and 'from_pretrained("alice/my-captioner")' in card.text
    config = json.loads(api.files["config.json"])
    assert config["model_type"] == "tdd-captioner"
    with pytest.raises(ValueError, match="owner/name"):
        push_checkpoint(tmp_path / "final", "not a repo id", api=api)


def test_push_offline_fails_with_a_clear_message(tmp_path):
    TDDClassifier(TDDClassifier.tiny_config()).save_pretrained(tmp_path / "final")
    with pytest.raises(CheckpointError, match="upload to the Hugging Face Hub failed"):
        push_checkpoint(tmp_path / "final", "alice/tiny")


def test_the_card_tags_come_from_the_model_kinds_as_before():
    """The tags the Hub card had when they were a table keyed by model type, now read from the kinds."""
    from tdd.hub import card_tags
    from tdd.models import kind_of

    expected = {
        "tdd-classifier": ("image-classification", ["tdd", "discrete-diffusion", "image-classification"]),
        "linear-classifier": ("image-classification", ["tdd", "image-classification", "baseline"]),
        "tdd-captioner": ("image-to-text", ["tdd", "discrete-diffusion", "image-captioning"]),
        "mdd-captioner": ("image-to-text", ["tdd", "masked-diffusion", "image-captioning"]),
        "ar-captioner": ("image-to-text", ["tdd", "autoregressive", "image-captioning", "baseline"]),
    }
    assert {t: card_tags(kind_of(t)) for t in expected} == expected
