"""Your own captioned images: tdd.data.folder.CaptionFolder and train_captioner.py --data folder."""

import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from tdd.data.folder import CaptionFolder
from tdd.data.images import ImageError
from tdd.data.loading import TrainItems

ROOT = Path(__file__).resolve().parent.parent


def _folder(tmp_path, lines, images=("a.png", "b.png")):
    for name in images:
        Image.new("RGB", (20, 30), "red").save(tmp_path / name)
    (tmp_path / "captions.txt").write_text("\n".join(lines) + "\n")
    return tmp_path


def test_entries_missing_and_unreadable_files_are_skipped_and_counted(tmp_path):
    (tmp_path / "broken.png").write_bytes(b"not a png")
    d = _folder(
        tmp_path, ["# comment", "a.png\tA Red  Thing", "", "gone.png\tmissing", "broken.png\tbad", "b.png\tred"]
    )
    data = CaptionFolder(d, 16)
    assert len(data) == 3 and data.missing == 1
    assert data.captions == ["a red thing", "bad", "red"]
    assert sorted({w for c in data.captions for w in c.split()}) == ["a", "bad", "red", "thing"]
    assert max(len(c.split()) for c in data.captions) == 3
    with pytest.raises(ImageError, match="broken.png"):
        data[1]
    (x, text), skipped = TrainItems(data)[1]  # in training, the next entry stands in and is counted
    assert x.shape == (3, 16, 16) and text == "red" and skipped == 1


@pytest.mark.parametrize(
    "lines, error, message",
    [
        (["a.png no tab here"], ValueError, r"captions.txt:1: expected"),
        (["gone.png\tx"], ValueError, "no entry names an existing image"),
    ],
)
def test_bad_listings_fail_at_once_naming_the_line(tmp_path, lines, error, message):
    with pytest.raises(error, match=message):
        CaptionFolder(_folder(tmp_path, lines), 16)


def test_missing_folder_or_listing(tmp_path):
    with pytest.raises(FileNotFoundError, match="dataset folder not found"):
        CaptionFolder(tmp_path / "nope", 16)
    with pytest.raises(FileNotFoundError, match="captions.txt: not found"):
        CaptionFolder(tmp_path, 16)


@pytest.mark.slow
def test_train_script_on_a_folder(tmp_path):
    import json

    (tmp_path / "data").mkdir()
    d = _folder(tmp_path / "data", ["a.png\ta red thing", "b.png\tred"])
    out = tmp_path / "run"
    script = [sys.executable, str(ROOT / "train" / "train_captioner.py"), "--data", "folder", "--data-dir"]
    cmd = [*script, str(d), "--steps", "2", "--batch-size", "2", "--eval-every", "2", "--eval-size", "2"]
    done = subprocess.run(
        [*cmd, "--eval-steps", "2", "--output", str(out)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    row = json.loads((out / "metrics.jsonl").read_text().splitlines()[-1])
    assert {"exact_match", "bleu4", "cider", "skipped_unreadable"} <= set(row)
    config = json.loads((out / "final" / "config.json").read_text())["config"]
    assert config["max_len"] == 3 and config["vocab_size"] == 3 + 3  # specials + a, red, thing
    missing = subprocess.run([*script, str(tmp_path / "nowhere")], capture_output=True, text=True)
    assert missing.returncode != 0 and "dataset folder not found" in missing.stderr


def test_reading_an_item_seeds_the_cpu_generator_only_and_restores_it(monkeypatch):
    """Per-item seeds reach torch's CPU generator (and Python's, NumPy's); GPUs' generators are left alone."""
    import random

    import numpy as np
    import torch

    class Draws:
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return torch.rand(2), random.random(), np.random.rand()

    reseeded = []
    monkeypatch.setattr(torch.cuda, "manual_seed_all", lambda seed: reseeded.append(seed))
    items = TrainItems(Draws(), seed=5)
    state = torch.get_rng_state()
    (a, _), (b, _), (c, _) = items[2], items[2], items[3]
    assert torch.equal(a[0], b[0]) and a[1:] == b[1:] and not torch.equal(a[0], c[0])
    assert torch.equal(torch.get_rng_state(), state) and reseeded == []
