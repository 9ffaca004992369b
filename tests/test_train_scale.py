"""Training at scale, on tiny fixtures: DDP through torchrun (gloo, 2 CPU processes), resume after
SIGKILL, feature caching, the ImageNet / COCO / imagenet-1k-vl-enriched data formats, CLIP score.

Every fixture is written here in the dataset's exact on-disk format; models are tiny.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from tdd.checkpoint import CheckpointError
from tdd.data.sampler import ResumableDistributedSampler
from tdd.training.state import list_states, load_latest, load_state, save_state

ROOT = Path(__file__).resolve().parent.parent
TRAIN = ROOT / "train"
pytestmark = pytest.mark.slow
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
TINY_VIT = ["--encoder", "vit_tiny_patch16_224", "--encoder-kwargs",
            '{"img_size": 32, "patch_size": 8, "embed_dim": 32, "depth": 1, "num_heads": 2}',
            "--image-size", "32", "--width", "32", "--cond-heads", "2"]  # fmt: skip
TINY_CLASSIFIER = [*TINY_VIT, "--denoiser-width", "32", "--denoiser-depth", "1", "--cond-depth", "1"]
TINY_CAPTIONER = [*TINY_VIT, "--depth", "1", "--heads", "2"]
COLOURS = {"red": (220, 30, 30), "blue": (30, 60, 220), "green": (30, 190, 60)}


def _run(*args, timeout=300, check=True):
    out = subprocess.run([*map(str, args)], capture_output=True, text=True, timeout=timeout, env=ENV, cwd=ROOT)
    if check:
        assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-4000:]
    return out


def _script(name, *args, **kw):
    return _run(sys.executable, TRAIN / name, "--threads", "1", *args, **kw)


def _image(colour, seed):
    rng = np.random.default_rng(seed)
    pixels = np.clip(np.array(COLOURS[colour]) + rng.normal(0, 20, (24, 24, 3)), 0, 255).astype(np.uint8)
    return Image.fromarray(pixels)


def _rows(run: Path):
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


# ----------------------------------------------------------------------------------------------
# fixtures in the datasets' own formats


@pytest.fixture(scope="module")
def imagefolder(tmp_path_factory):
    """ImageNet layout: train/<class>/*.JPEG, val/<class>/*.JPEG, plus an unreadable file in each split."""
    root = tmp_path_factory.mktemp("imagenet")
    for split, n in (("train", 8), ("val", 3)):
        for c, colour in enumerate(("n01440764", "n01443537")):
            (root / split / colour).mkdir(parents=True)
            for i in range(n):
                _image(list(COLOURS)[c], i).save(root / split / colour / f"{colour}_{i}.JPEG")
    (root / "train" / "n01440764" / "broken.JPEG").write_bytes(b"\xff\xd8 truncated")
    (root / "val" / "n01443537" / "broken.JPEG").write_bytes(b"")  # evaluation skips it too
    return root


@pytest.fixture(scope="module")
def coco(tmp_path_factory):
    """COCO 2017: annotations/captions_{train,val}2017.json and the image folders; one training entry's
    file is missing and one image of each split is corrupt."""
    root = tmp_path_factory.mktemp("coco")
    (root / "annotations").mkdir()
    for split, n in (("train", 12), ("val", 4)):
        (root / f"{split}2017").mkdir()
        images, anns = [], []
        for i in range(n):
            colour = list(COLOURS)[i % 3]
            name = f"{i:012d}.jpg"
            images.append({"id": i, "file_name": name, "height": 24, "width": 24})
            if not (split == "train" and i == 5):  # image 5 is missing on disk
                _image(colour, i).save(root / f"{split}2017" / name)
            for k, text in enumerate((f"A {colour} square.", f"a square that is {colour}")):
                anns.append({"id": 10 * i + k, "image_id": i, "caption": text})
        bad = 7 if split == "train" else 3  # one corrupt image in each split
        (root / f"{split}2017" / f"{bad:012d}.jpg").write_bytes(b"not a jpeg")
        payload = {"info": {}, "licenses": [], "images": images, "annotations": anns}
        (root / "annotations" / f"captions_{split}2017.json").write_text(json.dumps(payload))
    return root


def _hf_dataset(n, seed):
    import datasets

    colours = [list(COLOURS)[i % 3] for i in range(n)]
    features = datasets.Features(
        image_id=datasets.Value("string"),
        image=datasets.Image(),
        label=datasets.ClassLabel(names=list(COLOURS)),
        caption_enriched=datasets.Value("string"),
    )
    return datasets.Dataset.from_dict(
        {
            "image_id": [f"img_{seed}_{i}" for i in range(n)],
            "image": [_image(c, seed + i) for i, c in enumerate(colours)],
            "label": [list(COLOURS).index(c) for c in colours],
            "caption_enriched": [f"a photo of a {c} square" for c in colours],
        },
        features=features,
    )


@pytest.fixture(scope="module")
def vl_parquet(tmp_path_factory):
    """imagenet-1k-vl-enriched as on the Hub: data/{train,validation}-0000X-of-0000N.parquet."""
    root = tmp_path_factory.mktemp("vl")
    (root / "data").mkdir()
    _hf_dataset(12, 0).to_parquet(str(root / "data" / "train-00000-of-00001.parquet"))
    _hf_dataset(4, 100).to_parquet(str(root / "data" / "validation-00000-of-00001.parquet"))
    return root


@pytest.fixture(scope="module")
def hf_saved(tmp_path_factory):
    """A ``datasets`` save_to_disk directory with train and validation splits."""
    import datasets

    root = tmp_path_factory.mktemp("hf") / "imagenet"
    datasets.DatasetDict(train=_hf_dataset(12, 0), validation=_hf_dataset(4, 100)).save_to_disk(str(root))
    return root


# ----------------------------------------------------------------------------------------------
# the sampler and the checkpoint files


def test_sampler_shards_do_not_depend_on_the_layout():
    data = range(50)
    two = [list(ResumableDistributedSampler(data, 4, 1, num_replicas=2, rank=r, seed=3)) for r in (0, 1)]
    one = list(ResumableDistributedSampler(data, 4, 2, num_replicas=1, rank=0, seed=3))
    assert len(one) == 48 and len(set(one)) == 48  # 6 global batches of 8, no item twice
    for step in range(6):  # global batch k: rank 0's 4 items then rank 1's = micro-steps 0 and 1 of one process
        assert one[8 * step : 8 * step + 8] == two[0][4 * step : 4 * step + 4] + two[1][4 * step : 4 * step + 4]
    resumed = ResumableDistributedSampler(data, 4, 2, num_replicas=1, rank=0, seed=3)
    resumed.set_epoch(0, start_step=4)
    assert list(resumed) == one[32:] and len(resumed) == 16
    resumed.set_epoch(1)
    assert list(resumed) != one
    with pytest.raises(ValueError, match="fewer than one global batch"):
        ResumableDistributedSampler(range(5), 4, 1, num_replicas=2, rank=0)


def test_checkpoints_keep_the_newest_and_fall_back_past_a_damaged_one(tmp_path):
    for step in (2, 4, 6):
        save_state(tmp_path, step, {"model": {"w": torch.full((2,), float(step))}}, keep=2)
    assert [p.name for p in list_states(tmp_path)] == ["step_00000004.pt", "step_00000006.pt"]
    (tmp_path / ".step_00000008.pt.tmp").write_bytes(b"a save killed half way")  # ignored
    assert load_latest(tmp_path)["step"] == 6
    path = tmp_path / "step_00000006.pt"
    path.write_bytes(path.read_bytes()[:100])  # truncated
    with pytest.raises(CheckpointError, match="step_00000006.pt: corrupt or truncated"):
        load_state(path)
    state = load_latest(tmp_path)
    assert state["step"] == 4 and state["model"]["w"].tolist() == [4.0, 4.0]
    (tmp_path / "step_00000004.pt").write_bytes(b"junk")
    with pytest.raises(CheckpointError, match="every checkpoint is damaged"):
        load_latest(tmp_path)
    assert load_latest(tmp_path / "none") is None


def test_a_non_finite_loss_stops_the_run_naming_the_step(tmp_path):
    from tdd.distributed import DistEnv
    from tdd.models import MLPDenoiser
    from tdd.training.loop import EngineConfig, train

    model = MLPDenoiser(MLPDenoiser.tiny_config())
    data = [torch.zeros(1)] * 8

    calls = []

    def loss_fn(model, batch, generator):
        calls.append(1)
        return sum(p.sum() for p in model.parameters()) * 0 + (float("nan") if len(calls) == 3 else 1.0)

    config = EngineConfig(output=str(tmp_path), batch_size=2, steps=4, lr=1e-3, save_every=1, log_every=1)
    with pytest.raises(FloatingPointError, match="loss is nan at step 3"):
        train(model, data, loss_fn, config, DistEnv())
    assert load_latest(tmp_path / "checkpoints")["step"] == 2  # the update with NaN was never applied


def test_evaluation_runs_on_its_own_schedule_not_only_at_log_rows(tmp_path):
    from tdd.distributed import DistEnv
    from tdd.models import MLPDenoiser
    from tdd.training.loop import EngineConfig, train

    model = MLPDenoiser(MLPDenoiser.tiny_config())
    evaluated = []

    def evaluate(ema):
        evaluated.append(len(evaluated))
        return {"score": float(len(evaluated))}

    config = EngineConfig(output=str(tmp_path), batch_size=2, steps=6, lr=1e-3, log_every=3, eval_every=2)
    loss_fn = lambda model, batch, g: sum(p.pow(2).sum() for p in model.parameters())  # noqa: E731
    run = train(model, [torch.zeros(1)] * 8, loss_fn, config, DistEnv(), evaluate=evaluate)
    rows = _rows(tmp_path)
    assert [r["step"] for r in rows] == [2, 3, 4, 6] and len(evaluated) == 3  # evaluations at 2, 4, 6
    assert [("score" in r) for r in rows] == [True, False, True, True] and run.metrics["score"] == 3.0


# ----------------------------------------------------------------------------------------------
# torchrun: two processes equal one process with two accumulation steps


@pytest.mark.distributed
def test_torchrun_two_processes_match_one_process_with_accumulation(tmp_path):
    tiny = '{"img_size": 32, "patch_size": 8, "in_chans": 1, "embed_dim": 32, "depth": 1, "num_heads": 2}'
    common = ["--config", TRAIN / "configs" / "digits_tdd.yaml", "--encoder", "vit_tiny_patch16_224",
              "--encoder-kwargs", tiny, "--image-size", "32", "--width", "32",
              "--cond-heads", "2", "--cond-depth", "1", "--denoiser-width", "32", "--batch-size", "16",
              "--max-steps", "2", "--save-every", "1", "--eval-curve", "", "--eval-size", "8",
              "--eval-steps", "2"]  # fmt: skip
    ddp = tmp_path / "ddp"
    _run(sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         TRAIN / "train_classifier.py", *common, "--threads", "1", "--output", ddp)  # fmt: skip
    single = tmp_path / "single"
    _script("train_classifier.py", *common, "--micro-batch-size", "8", "--output", single)
    for step in (1, 2):
        a = load_state(ddp / "checkpoints" / f"step_{step:08d}.pt")
        b = load_state(single / "checkpoints" / f"step_{step:08d}.pt")
        assert a["world_size"] == 2 and b["world_size"] == 1 and len(a["rng"]) == 2
        for name, value in b["model"].items():
            torch.testing.assert_close(a["model"][name], value, rtol=1e-5, atol=1e-6, msg=f"{name} at step {step}")
    losses = [r["loss"] for r in _rows(ddp)], [r["loss"] for r in _rows(single)]
    assert losses[0] == pytest.approx(losses[1], rel=1e-5)


@pytest.mark.distributed
def test_torchrun_captioner_on_coco_with_sharded_evaluation(tmp_path, coco):
    out = tmp_path / "run"
    _run(sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         TRAIN / "train_captioner.py", "--data", "coco", "--data-dir", coco, *TINY_CAPTIONER, "--threads", "1",
         "--tokenizer", "wordpiece", "--vocab-size", "60", "--max-len", "8", "--batch-size", "4", "--steps", "3",
         "--eval-size", "3", "--eval-steps", "2", "--output", out)  # fmt: skip
    result = json.loads((out / "result.json").read_text())
    assert {"exact_match", "bleu4", "cider"} <= set(result) and result["skipped_unreadable"] >= 0


# ----------------------------------------------------------------------------------------------
# kill -9 and resume


def test_a_run_killed_with_sigkill_resumes_on_the_same_loss_curve(tmp_path):
    args = ["train_captioner.py", "--config", TRAIN / "configs" / "scenes_tdd.yaml", "--batch-size", "8",
            "--steps", "12", "--save-every", "3", "--log-every", "1", "--eval-every", "0", "--eval-size", "4",
            "--eval-steps", "2", "--threads", "1", "--encoder-from", "", "--no-freeze-encoder"]  # fmt: skip
    whole = tmp_path / "whole"
    _script(*args, "--output", whole)

    killed = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, TRAIN / args[0], *map(str, args[1:]), "--output", str(killed)],
                            env=ENV, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.time() + 240
    while not (killed / "checkpoints" / "step_00000006.pt").exists():
        assert proc.poll() is None and time.time() < deadline, "the run ended before its second checkpoint"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (killed / "final").exists()
    saved = load_latest(killed / "checkpoints")["step"]
    assert saved >= 6

    out = _script(*args, "--output", killed, "--resume")
    assert f"resumed from {killed / 'checkpoints'}" in out.stdout
    a, b = _rows(whole), _rows(killed)
    assert [r["step"] for r in b] == list(range(1, 13))  # rows of redone steps were replaced, none doubled
    assert [r["loss"] for r in b] == pytest.approx([r["loss"] for r in a], rel=1e-6)
    final_a, final_b = (
        load_state(whole / "checkpoints" / "step_00000012.pt"),
        load_state(killed / "checkpoints" / "step_00000012.pt"),
    )
    for name, value in final_a["model"].items():
        torch.testing.assert_close(final_b["model"][name], value, rtol=1e-6, atol=1e-7)


# ----------------------------------------------------------------------------------------------
# the data formats, end to end


def test_classifier_on_an_imagefolder_with_an_unreadable_image(tmp_path, imagefolder):
    out = tmp_path / "run"
    _script("train_classifier.py", "--data", "imagefolder", "--data-dir", imagefolder, *TINY_CLASSIFIER,
            "--epochs", "2", "--batch-size", "4", "--warmup-epochs", "1", "--eval-curve", "1,2", "--eval-steps", "2",
            "--output", out)  # fmt: skip
    result = json.loads((out / "result.json").read_text())
    assert result["skipped_unreadable"] >= 1  # broken.JPEG, counted in every epoch it is drawn
    assert set(result["accuracy_vs_steps"]) == {"1", "2"} and 0 <= result["test_top1"] <= 1
    rows = _rows(out)
    assert [r["epoch"] for r in rows] == [1, 2] and all("test_top1" in r for r in rows)
    assert any(p.name.startswith("events.out.tfevents") for p in (out / "tb").iterdir())


def test_linear_baseline_with_mixup_on_a_huggingface_datasets_directory(tmp_path, hf_saved):
    out = tmp_path / "run"
    _script("train_classifier.py", "--data", "hf", "--data-dir", hf_saved, "--val-split", "validation",
            "--head", "linear", "--mixup", "0.8", "--cutmix", "1.0", *TINY_CLASSIFIER, "--epochs", "1",
            "--batch-size", "4", "--warmup-epochs", "0", "--output", out)  # fmt: skip
    from tdd.models import PretrainedModel

    model = PretrainedModel.from_pretrained(out / "final")
    assert model.model_type == "linear-classifier" and model.config.num_classes == 3


def test_captioner_on_coco_json_skips_missing_and_unreadable_images(tmp_path, coco):
    out = tmp_path / "run"
    done = _script("train_captioner.py", "--data", "coco", "--data-dir", coco, *TINY_CAPTIONER, "--method", "ar",
                   "--tokenizer", "word", "--batch-size", "4", "--steps", "6", "--log-every", "3", "--eval-size", "4",
                   "--output", out)  # fmt: skip
    assert "2 captions name missing image files" in done.stderr
    assert "evaluation: skipping" in done.stdout and "000000000003.jpg" in done.stdout
    from tdd.data.tokenizer import load_tokenizer

    assert load_tokenizer(out / "final").token_to_id("square") is not None
    result = json.loads((out / "result.json").read_text())
    assert result["skipped_unreadable"] >= 0 and {"bleu4", "cider"} <= set(result)


def test_captioner_on_vl_enriched_parquet_with_a_trained_bpe_tokenizer(tmp_path, vl_parquet):
    out = tmp_path / "run"
    _script("train_captioner.py", "--data", "hf", "--data-dir", vl_parquet, "--val-split", "validation",
            *TINY_CAPTIONER, "--method", "mdd", "--tokenizer", "bpe", "--vocab-size", "50", "--max-len", "10",
            "--batch-size", "4", "--steps", "3", "--eval-size", "2", "--eval-steps", "2", "--output", out)  # fmt: skip
    from tdd.data.tokenizer import load_tokenizer

    tok = load_tokenizer(out / "final")
    text = "a photo of a red square"
    assert tok.get_vocab_size() <= 50 and tok.decode(tok.encode(text).ids) == text


@pytest.mark.parametrize(
    "script, data, problem",
    [
        ("train_classifier.py", "imagefolder", "dataset directory not found"),
        ("train_classifier.py", "hf", "dataset directory not found"),
        ("train_captioner.py", "coco", "COCO directory not found"),
        ("train_captioner.py", "hf", "dataset directory not found"),
    ],
)
def test_a_dataset_path_that_does_not_exist_fails_at_once(tmp_path, script, data, problem):
    out = _script(script, "--data", data, "--data-dir", tmp_path / "nowhere", "--output", tmp_path / "r", check=False)
    assert out.returncode != 0 and problem in out.stderr and "Traceback" not in out.stderr


# ----------------------------------------------------------------------------------------------
# feature caching


def test_feature_cache_is_built_once_and_trains_the_rest_of_the_model(tmp_path, imagefolder):
    cache = tmp_path / "cache"
    args = ["train_classifier.py", "--data", "imagefolder", "--data-dir", imagefolder, *TINY_CLASSIFIER,
            "--cache-dir", cache, "--epochs", "1", "--batch-size", "4", "--warmup-epochs", "0", "--eval-curve", "",
            "--eval-steps", "2"]  # fmt: skip
    first = _script(*args, "--output", tmp_path / "a")
    meta = json.loads((cache / "cache.json").read_text())
    assert meta["size"] == 17 and len(meta["missing"]) == 1  # broken.JPEG
    assert "feature cache" in first.stdout
    second = _script(*args, "--output", tmp_path / "b")
    assert "feature cache" not in second.stdout  # reused, not rebuilt
    from tdd.data.feature_cache import CachedFeatures

    tokens, label = CachedFeatures(cache)[0]
    assert tokens.shape == (16, 32) and label in (0, 1)
    wider = '{"img_size": 32, "patch_size": 8, "embed_dim": 48, "depth": 1, "num_heads": 2}'
    other = _script(*args, "--encoder-kwargs", wider, "--output", tmp_path / "c", check=False)
    assert other.returncode != 0 and "this feature cache was built for" in other.stderr


# ----------------------------------------------------------------------------------------------
# CLIP score


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory):
    """An open_clip model config of our own and its random weights (nothing can be downloaded)."""
    import open_clip

    root = tmp_path_factory.mktemp("clip")
    config = {
        "embed_dim": 32,
        "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 16, "head_width": 16},
        "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
    }
    path = root / "tiny-clip.json"
    path.write_text(json.dumps(config))
    open_clip.add_model_config(str(path))
    torch.manual_seed(0)
    torch.save(open_clip.create_model("tiny-clip").state_dict(), root / "weights.pt")
    return path, root / "weights.pt"


def test_clip_score_with_random_weights_and_the_missing_weights_message(tiny_clip, tmp_path):
    from tdd.evaluation import ClipWeightsMissing, clip_image_features, clip_score, load_clip, mean_clip_score

    config, weights = tiny_clip
    model, preprocess, tokenize = load_clip(str(config), weights)
    images = [_image("red", 0), _image("blue", 1)]
    texts = ["a red square", "a blue square"]
    feats = clip_image_features(model, preprocess, images, batch_size=1)
    assert feats.shape == (2, 32) and torch.allclose(feats.norm(dim=-1), torch.ones(2), atol=1e-5)
    score = mean_clip_score(model, tokenize, feats, texts, batch_size=1)
    pixels = torch.stack([preprocess(im) for im in images])
    assert score == pytest.approx(clip_score(model, pixels, tokenize(texts)).mean().item(), abs=1e-5)
    assert mean_clip_score(model, tokenize, feats[:1].repeat(2, 1), texts[:1] * 2) == pytest.approx(
        mean_clip_score(model, tokenize, feats[:1], texts[:1]), abs=1e-5
    )
    with pytest.raises(ClipWeightsMissing, match="Nothing is downloaded: pass a local file with --clip-weights"):
        load_clip("ViT-B-32", tmp_path / "absent.bin")


def test_tab3_rows_from_the_training_script_and_the_comparison_script(tmp_path, coco, tiny_clip):
    config, weights = tiny_clip
    clip = ["--clip-model", config, "--clip-weights", weights]
    data = ["--data", "coco", "--data-dir", coco, "--tokenizer", "word", "--eval-size", "3", "--eval-steps", "2"]
    runs = {}
    for method in ("tdd", "ar"):
        runs[method] = tmp_path / method
        _script("train_captioner.py", *data, *TINY_CAPTIONER, "--method", method, "--batch-size", "4", "--steps", "2",
                *clip, "--output", runs[method])  # fmt: skip
    rows = json.loads((runs["tdd"] / "result.json").read_text())["clip_score"]
    assert set(rows) == {"ground truth", "shuffled ground truth", "tdd"}
    assert all(-1 <= v <= 1 for v in rows.values())
    table = tmp_path / "tab3.md"
    data = [a for a in data if a not in ("--tokenizer", "word")]  # each checkpoint brings its own tokenizer
    _script("compare_captioners.py", *data, *clip, "--checkpoints", runs["tdd"] / "final", runs["ar"] / "final",
            "--output", table)  # fmt: skip
    text = table.read_text()
    for row in ("| ground truth |", "| shuffled ground truth |", "tdd-captioner", "ar-captioner"):
        assert row in text
    missing = _script("train_captioner.py", *data, "--clip-model", "ViT-B-32", "--clip-weights", tmp_path / "no.bin",
                      "--output", tmp_path / "x", check=False)  # fmt: skip
    assert missing.returncode != 0 and "Nothing is downloaded" in missing.stderr and "Traceback" not in missing.stderr


def test_push_to_hub_flag_reaches_the_upload_after_saving(tmp_path, imagefolder):
    """Offline, --push-to-hub saves the final checkpoint first, then fails with a clear message (exit 1)."""
    out = tmp_path / "run"
    done = _script("train_classifier.py", "--data", "imagefolder", "--data-dir", imagefolder, *TINY_CLASSIFIER,
                   "--epochs", "1", "--batch-size", "4", "--warmup-epochs", "0", "--eval-curve", "", "--eval-steps",
                   "1", "--push-to-hub", "alice/tiny", "--output", out, check=False)  # fmt: skip
    assert done.returncode == 1 and "alice/tiny: upload to the Hugging Face Hub failed" in done.stderr
    assert "Traceback" not in done.stderr and (out / "final" / "model.safetensors").is_file()


def test_captioners_share_one_frozen_encoder_started_from_a_saved_captioner(tmp_path):
    from safetensors.torch import load_file

    tiny = ["--train-size", "32", "--batch-size", "4", "--steps", "3", "--warmup-steps", "1", "--eval-every", "0",
            "--eval-size", "4", "--eval-steps", "2", "--width", "32", "--depth", "1", "--heads", "2",
            "--encoder-kwargs", '{"channels": [8, 8, 8, 8], "stem_width": 8, "output_stride": 8}']  # fmt: skip
    configs = TRAIN / "configs"
    alone = ["--encoder-from", "", "--no-freeze-encoder"]  # the donor trains its own encoder
    _script("train_captioner.py", "--config", configs / "scenes_ar.yaml", *tiny, *alone, "--output", tmp_path / "ar")
    donor = tmp_path / "ar" / "final"
    # the shipped TDD config freezes the encoder it names; here it names the donor
    _script("train_captioner.py", "--config", configs / "scenes_tdd.yaml", *tiny, "--encoder-from", donor,
            "--output", tmp_path / "tdd")  # fmt: skip
    encoder = "conditioner.encoder."
    theirs, mine = load_file(donor / "model.safetensors"), load_file(tmp_path / "tdd" / "final" / "model.safetensors")
    shared = [k for k in theirs if k.startswith(encoder)]
    assert shared and all(torch.equal(mine[k], theirs[k]) for k in shared)  # weights and batch-norm statistics
    moved = [k for k in mine if not k.startswith(encoder) and k in theirs and mine[k].shape == theirs[k].shape]
    assert any(not torch.equal(mine[k], theirs[k]) for k in moved)  # the rest was trained (and started afresh)
    wider = '{"channels": [8, 8, 8, 16], "stem_width": 8, "output_stride": 8}'
    other = _script("train_captioner.py", "--config", TRAIN / "configs" / "scenes_tdd.yaml", *tiny, "--encoder-kwargs",
                    wider, "--encoder-from", donor, "--output", tmp_path / "bad", check=False)  # fmt: skip
    assert other.returncode == 1 and "--encoder-from" in other.stderr and "encoder_kwargs" in other.stderr
    missing = _script("train_captioner.py", "--config", TRAIN / "configs" / "scenes_tdd.yaml", *tiny, "--encoder-from",
                      tmp_path / "nowhere", "--output", tmp_path / "bad2", check=False)  # fmt: skip
    assert missing.returncode == 1 and "nowhere" in missing.stderr
