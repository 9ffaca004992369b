"""Sampling settings defined once (tdd.samplers.config), samplers built in one place (tdd.sampling)."""

from pathlib import Path

import pytest
import torch

from tdd.caption import caption_steps
from tdd.classify import classify_steps
from tdd.data.digits import load_digits_split, to_model_input
from tdd.masked import MaskedDiffusion
from tdd.models import PretrainedModel
from tdd.samplers import Guidance, MDDSampler, TDDSampler
from tdd.samplers.config import SamplingConfig, SamplingError
from tdd.sampling import diffusion_for, sampler_for

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"steps": 0}, "steps must be between 1"),
        ({"steps": 2.5}, "steps must be a whole number"),
        ({"cfg": -1}, r"CFG scale must be in \[0, 20\]"),
        ({"cfg": float("nan")}, "CFG scale"),
        ({"temperature": 0}, r"temperature must be in \(0, 10\]"),
        ({"to_one": "softmax"}, "to-one must be one of argmax, multinomial"),
        ({"cfg_schedule": "cosine"}, "CFG schedule must be one of"),
        ({"remasking": "best"}, "remasking must be one of"),
        ({"omega": 2}, "ω must be in"),
        ({"window": (0.6, 0.2)}, "start ≤ end"),
        ({"spacing": "soon"}, "timesteps must be one of checkpoint, uniform, informative"),
    ],
)
def test_every_setting_is_checked_with_a_message_naming_it(kwargs, message):
    with pytest.raises(SamplingError, match=message):
        SamplingConfig(**kwargs)


def test_settings_are_cast_and_explicit_timesteps_kept():
    config = SamplingConfig(steps="5", cfg="2", window=[0.1, 0.2], spacing=[1000, 300, 50])
    assert (config.steps, config.cfg, config.window, config.spacing) == (5, 2.0, (0.1, 0.2), (1000, 300, 50))
    assert config.timesteps == [1000, 300, 50] and SamplingConfig().timesteps is None
    assert SamplingConfig(spacing="uniform").timesteps == "uniform"


def _scene_images(model, n=2):
    from tdd.data.images import preprocess_rgb
    from tdd.data.scenes import make_scene

    size = model.config.image_size
    return torch.stack([preprocess_rgb(make_scene(i, split="test").image, size) for i in range(n)])


def test_sampler_for_builds_what_the_samplers_were_built_from_by_hand():
    """Same seed → the same trajectory as the samplers constructed explicitly from the checkpoint's config."""
    tdd_model = PretrainedModel.from_pretrained("scenes-tdd")
    c = tdd_model.config
    x = _scene_images(tdd_model)
    config = SamplingConfig(steps=6, cfg=2.0, spacing="uniform")
    by_hand = TDDSampler(diffusion_for(tdd_model), 6, Guidance(2.0), parameterization=c.parameterization,
                         self_cond=c.self_cond)  # fmt: skip
    built = sampler_for(tdd_model, config)
    assert isinstance(built, TDDSampler) and built.process.onehot_scale == c.onehot_scale
    a = list(caption_steps(tdd_model, x, built, generator=torch.Generator().manual_seed(3)))
    b = list(caption_steps(tdd_model, x, by_hand, generator=torch.Generator().manual_seed(3)))
    assert len(a) == 6 and all(torch.equal(r.tokens, s.tokens) for r, s in zip(a, b))

    mdd_model = PretrainedModel.from_pretrained("scenes-mdd")
    config = SamplingConfig(steps=5, omega=0.2, window=(0.2, 0.8))
    by_hand = MDDSampler(MaskedDiffusion(mdd_model.config.vocab_size, mdd_model.config.mask_id), 5, omega=0.2,
                         window=(0.2, 0.8))  # fmt: skip
    a = list(caption_steps(mdd_model, x, sampler_for(mdd_model, config), generator=torch.Generator().manual_seed(4)))
    b = list(caption_steps(mdd_model, x, by_hand, generator=torch.Generator().manual_seed(4)))
    assert all(torch.equal(r.tokens, s.tokens) for r, s in zip(a, b))

    digits = PretrainedModel.from_pretrained("digits-tdd")
    images = to_model_input(load_digits_split().test_images[:4], digits.config.image_size)
    by_hand = TDDSampler(diffusion_for(digits), 5, parameterization=digits.config.parameterization)
    built = sampler_for(digits, SamplingConfig(steps=5))
    a = list(classify_steps(digits, images, built, generator=torch.Generator().manual_seed(5)))
    b = list(classify_steps(digits, images, by_hand, generator=torch.Generator().manual_seed(5)))
    assert all(torch.equal(r.tokens, s.tokens) for r, s in zip(a, b))


def test_models_without_a_denoising_process_are_refused():
    with pytest.raises(TypeError, match="no denoising process"):
        diffusion_for(PretrainedModel.from_pretrained("scenes-ar"))


def test_the_cli_and_the_apps_read_the_defaults_and_choices_from_the_config():
    from tdd import demo
    from tdd.cli import build_parser

    d = SamplingConfig()
    for command in ("classify", "caption"):
        args = build_parser().parse_args([command, "x.png"])
        assert (args.steps, args.cfg, args.to_one) == (d.steps, d.cfg, d.to_one)
    assert demo.Settings().steps == d.steps and demo.Settings.CHOICES is SamplingConfig.CHOICES
    with pytest.raises(demo.DemoError, match="steps must be between 1 and 100"):
        demo.Settings(steps=101)  # the app bounds S more tightly than the library
    copies = []
    for path in [
        *ROOT.joinpath("app").glob("*.py"),
        ROOT / "tdd" / "cli.py",
        *ROOT.joinpath("tdd", "demo").glob("*.py"),
    ]:
        text = path.read_text(encoding="utf-8")
        copies += [f"{path.name}: {s}" for s in ("0.3, 0.55", '"argmax", "multinomial"', "value=20") if s in text]
    assert not copies, copies
