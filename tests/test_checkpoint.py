import json
import os

import pytest
import torch

from tdd.checkpoint import CONFIG_NAME, WEIGHTS_NAME, CheckpointError, atomic_write_text
from tdd.models import MLPDenoiser, MLPDenoiserConfig, PretrainedModel


@pytest.fixture
def saved(tmp_path):
    torch.manual_seed(0)
    model = MLPDenoiser(MLPDenoiserConfig(num_classes=9, cond_dim=4, width=24, depth=2)).eval()
    directory = model.save_pretrained(tmp_path / "ckpt", extra={"diffusion": {"schedule": "linear"}})
    return model, directory


def test_round_trip_gives_identical_outputs(saved):
    model, directory = saved
    assert sorted(os.listdir(directory)) == [CONFIG_NAME, WEIGHTS_NAME]  # no temp files left behind
    loaded = PretrainedModel.from_pretrained(directory)
    assert isinstance(loaded, MLPDenoiser) and not loaded.training
    assert loaded.checkpoint_extra == {"diffusion": {"schedule": "linear"}}
    inputs = model.example_inputs(5, torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.equal(model(*inputs), loaded(*inputs))


def test_missing_directory_and_files(saved, tmp_path):
    _, directory = saved
    with pytest.raises(CheckpointError, match="no such checkpoint directory"):
        MLPDenoiser.from_pretrained(tmp_path / "nope")
    (directory / WEIGHTS_NAME).unlink()
    with pytest.raises(CheckpointError, match=f"{WEIGHTS_NAME}: missing"):
        MLPDenoiser.from_pretrained(directory)
    (directory / CONFIG_NAME).unlink()
    with pytest.raises(CheckpointError, match=f"{CONFIG_NAME}: missing"):
        MLPDenoiser.from_pretrained(directory)


@pytest.mark.parametrize("content", [b"", b"{not json", b"\xff\xfe\x00", b"[1, 2]", b'{"format_version": 1}'])
def test_corrupt_config(saved, content):
    _, directory = saved
    (directory / CONFIG_NAME).write_bytes(content)
    with pytest.raises(CheckpointError, match=CONFIG_NAME):
        MLPDenoiser.from_pretrained(directory)


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_corrupt_weights(saved, damage):
    _, directory = saved
    path = directory / WEIGHTS_NAME
    data = path.read_bytes()
    path.write_bytes({"truncate": data[: len(data) // 2], "garbage": os.urandom(len(data)), "empty": b""}[damage])
    with pytest.raises(CheckpointError, match=rf"{WEIGHTS_NAME}: corrupt or truncated"):
        MLPDenoiser.from_pretrained(directory)


def test_config_that_does_not_match_weights(saved):
    _, directory = saved
    meta = json.loads((directory / CONFIG_NAME).read_text())
    meta["config"]["width"] = 32
    (directory / CONFIG_NAME).write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match=rf"{WEIGHTS_NAME}: weights do not match config.json: shape mismatch"):
        MLPDenoiser.from_pretrained(directory)
    meta["config"]["depth"] = 3
    meta["config"]["width"] = 24
    (directory / CONFIG_NAME).write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="missing tensors"):
        MLPDenoiser.from_pretrained(directory)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda m: m.update(model_type="gpt-9"), "unknown model_type 'gpt-9'"),
        (lambda m: m["config"].update(colour="red"), r"unknown config fields \['colour'\]"),
        (lambda m: m["config"].pop("num_classes"), "invalid config"),
        (lambda m: m.update(format_version=99), "newer than this tdd understands"),
    ],
)
def test_config_contents_errors(saved, edit, message):
    _, directory = saved
    meta = json.loads((directory / CONFIG_NAME).read_text())
    edit(meta)
    (directory / CONFIG_NAME).write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match=message):
        PretrainedModel.from_pretrained(directory)


def test_unknown_bundled_name():
    with pytest.raises(CheckpointError, match="not a bundled model name"):
        PretrainedModel.from_pretrained("no-such-model")


def test_atomic_write_keeps_old_file_when_writer_dies(tmp_path):
    path = tmp_path / "config.json"
    atomic_write_text(path, "old")

    def boom(tmp):
        with open(tmp, "w") as f:
            f.write("half")
        raise KeyboardInterrupt  # a kill in the middle of a save

    from tdd.checkpoint import atomic_write

    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, boom)
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["config.json"]


def test_a_model_saved_in_half_precision_loads_back_at_its_dtype(tmp_path):
    """Shipped checkpoints may store fp16 weights (half the file); loading casts them back."""
    from tdd.models.classifier import TDDClassifier

    model = TDDClassifier(TDDClassifier.tiny_config())
    full, half = model.save_pretrained(tmp_path / "full"), model.save_pretrained(tmp_path / "half", dtype=torch.float16)
    size = lambda d: (d / "model.safetensors").stat().st_size  # noqa: E731
    assert size(half) < 0.6 * size(full)
    loaded = PretrainedModel.from_pretrained(half)
    for k, v in model.state_dict().items():
        assert loaded.state_dict()[k].dtype == v.dtype
        assert torch.allclose(loaded.state_dict()[k].float(), v.float(), rtol=1e-3, atol=1e-3), k
