import pytest
import torch

from tdd.diffusion import TweedieDiffusion
from tdd.masked import MaskedDiffusion
from tdd.models import ARCaptioner, MDDCaptioner, TDDCaptioner
from tdd.samplers import Guidance, GuidedDenoiser, MDDSampler, TDDSampler


def _model(cls):
    torch.manual_seed(0)
    return cls(cls.tiny_config()).eval()


def _images(model, n=3):
    return model.example_images(n, torch.Generator().manual_seed(1))


def test_ar_kv_cache_decoding_equals_full_recomputation():
    model = _model(ARCaptioner)
    cond = model.encode(_images(model))
    cached = model.generate(cond)
    tokens = torch.zeros(3, model.config.max_len, dtype=torch.long)
    with torch.no_grad():
        for i in range(model.config.max_len):  # greedy, recomputing the whole prefix each time
            tokens[:, i] = model(tokens, cond)[:, i].argmax(-1)
    assert torch.equal(cached, tokens)


def test_causal_decoder_ignores_later_tokens():
    model = _model(ARCaptioner)
    cond = model.encode(_images(model))
    a = torch.randint(11, (3, 5), generator=torch.Generator().manual_seed(2))
    b = a.clone()
    b[:, 3:] = (b[:, 3:] + 1) % 11
    with torch.no_grad():
        assert torch.allclose(model(a, cond)[:, :4], model(b, cond)[:, :4], atol=1e-5)


def test_condition_is_cached_and_null_condition_differs():
    model = _model(TDDCaptioner)
    images = _images(model)
    cond = model.encode(images)
    assert len(cond["kv"]) == model.config.depth and cond["kv"][0][0].shape[:2] == (3, model.config.heads)
    y = torch.randn(3, 5, 11)
    t = torch.full((3,), 500)
    with torch.no_grad():
        a = model(y, t, cond)
        b = model(y, t, model.encode(images))
        dropped = model(y, t, cond, torch.ones(3, dtype=torch.bool))
    assert torch.equal(a, b) and not torch.allclose(a, dropped)


@pytest.mark.parametrize("cls", [TDDCaptioner, MDDCaptioner])
def test_prepared_condition_gives_the_same_outputs_step_after_step(cls):
    """prepare_condition applies the null rows once and fills key/value buffers; every later call
    (the text part is rewritten in place each time) must equal the unprepared forward."""
    model = _model(cls)
    cond = model.encode(_images(model))
    drop = torch.tensor([False, True, False])
    prepared = model.prepare_condition(cond, drop, 5)
    assert prepared["kv"][0].keys.shape[2] == cond["kv"][0][0].shape[2] + 5
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for _ in range(3):
            x = torch.randn(3, 5, 11, generator=g) if cls is TDDCaptioner else torch.randint(11, (3, 5), generator=g)
            t = torch.randint(1, 1000, (3,), generator=g) if cls is TDDCaptioner else torch.rand(3, generator=g)
            torch.testing.assert_close(model(x, t, prepared), model(x, t, cond, drop), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="already holds its null rows"):
        model(x, t, prepared, drop)


def test_guided_denoiser_gives_eq1_and_prepares_once():
    model = _model(TDDCaptioner)
    cond = model.encode(_images(model))
    calls = []
    original = model.prepare_condition

    def counting(*args):
        calls.append(args[1] is None)
        return original(*args)

    y, t = torch.randn(3, 5, 11, generator=torch.Generator().manual_seed(4)), torch.full((3,), 700)
    scales = (2.0, 1.0, 2.0, 3.0, 1.0)
    with torch.no_grad():
        c_, u_ = model(y, t, cond), model(y, t, cond, torch.ones(3, dtype=torch.bool))  # unprepared halves
        for scale in scales:  # a one-off call gives eq. (1)
            torch.testing.assert_close(
                GuidedDenoiser(model, cond, 3)(y, t, scale), u_ + scale * (c_ - u_), rtol=1e-5, atol=1e-5
            )
        model.prepare_condition = counting
        net = GuidedDenoiser(model, cond, batch_size=3, seq_len=5)
        for scale in scales:  # so does a run's denoiser, step after step
            torch.testing.assert_close(net(y, 700, scale), u_ + scale * (c_ - u_), rtol=1e-5, atol=1e-5)
    assert calls == [False, True]  # the doubled condition prepared once, the plain one once


def test_samplers_drive_the_captioners_with_cfg():
    tdd_model, mdd_model = _model(TDDCaptioner), _model(MDDCaptioner)
    g = torch.Generator().manual_seed(0)
    sampler = TDDSampler(TweedieDiffusion(11), steps=4, guidance=Guidance(2.0))
    rec = sampler.sample(tdd_model, tdd_model.encode(_images(tdd_model)), batch_size=3, seq_len=5, generator=g)
    assert rec.tokens.shape == (3, 5)
    mdd = MDDSampler(MaskedDiffusion(11, mdd_model.config.mask_id), steps=5, guidance=Guidance(2.0))
    rec = mdd.sample(mdd_model, mdd_model.encode(_images(mdd_model)), batch_size=3, seq_len=5, generator=g)
    assert not bool(rec.is_masked.any())


@pytest.mark.slow
def test_train_script_and_caption_cli_end_to_end(tmp_path):
    """A few steps of each method's training, then `tdd caption` on its checkpoint, with a bad file."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    from PIL import Image

    from tdd.data.scenes import make_scene

    root = Path(__file__).resolve().parent.parent
    image = tmp_path / "scene.png"
    Image.fromarray(make_scene(0, split="test").image).save(image)
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg")
    for method in ("tdd", "mdd", "ar"):
        out = tmp_path / method
        train = [sys.executable, str(root / "train" / "train_captioner.py"), "--config"]
        train += [str(root / "train" / "configs" / "scenes_tdd.yaml"), "--method", method, "--steps", "2"]
        train += ["--batch-size", "4", "--eval-every", "2", "--eval-size", "4", "--eval-steps", "2"]
        train += ["--encoder-from", "", "--no-freeze-encoder"]  # the config's shared encoder is not trained here
        if method == "tdd":
            train += ["--train-timesteps", "alpha_bar"]  # t ∝ ᾱ_t with plain CE (tdd.timesteps)
        done = subprocess.run([*train, "--output", str(out)], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        assert (out / "final" / "tokenizer.json").is_file()
        cli = [sys.executable, "-m", "tdd", "caption", str(image), str(tmp_path / "broken.jpg")]
        run = subprocess.run(
            [*cli, "--model", str(out / "final"), "--steps", "3", "--json"], capture_output=True, text=True
        )
        assert run.returncode == 1 and "broken.jpg" in run.stderr and "Traceback" not in run.stderr
        row, bad = [json.loads(line) for line in run.stdout.splitlines()]  # one line per input, in order
        assert set(row) == {"image", "caption", "trajectory", "seconds"} and isinstance(row["caption"], str)
        assert bad["image"].endswith("broken.jpg") and "error" in bad
        assert len(row["trajectory"]) == (0 if method == "ar" else 3)
    default = subprocess.run([sys.executable, "-m", "tdd", "caption", str(image)], capture_output=True, text=True)
    assert default.returncode == 0 and default.stdout.startswith(f"{image}: ")  # the bundled scenes-tdd
    cli = [sys.executable, "-m", "tdd", "caption", str(image), "--model", "no-such-model"]
    missing = subprocess.run(cli, capture_output=True, text=True)
    assert missing.returncode == 2 and "not a bundled model name" in missing.stderr


def _copied_forward(model, cond, drop, inputs, k):
    """The plain way: every layer's memory repeated k times and the null rows swapped in by copying."""
    from tdd.training import kfold_expand

    emb, kv = model._copied_condition(kfold_expand(cond, k), drop)
    if isinstance(model, TDDCaptioner):
        y_t, t = inputs
        return model._decode(model.embed_input(y_t, t), emb + model.t_embed(t), kv)
    return model._decode(model._inputs(inputs), emb, kv)


@pytest.mark.parametrize("cls,k", [(TDDCaptioner, 1), (TDDCaptioner, 3), (ARCaptioner, 1), (ARCaptioner, 2)])
def test_shared_memory_equals_copied_memory_with_gradients(cls, k):
    """tdd.models.memory: the k rows of an image attending together to one memory (the null token weighted
    log L) give the copied layout's logits and the same gradients for every parameter, the null ones included."""
    model = _model(cls).train()
    g = torch.Generator().manual_seed(3)
    images = _images(model)
    drop = torch.tensor([True, False, False, True, False, True, False, False, True][: 3 * k])
    if cls is TDDCaptioner:
        inputs = (torch.randn(3 * k, 5, 11, generator=g), torch.randint(1, 1001, (3 * k,), generator=g))
    else:
        inputs = torch.randint(11, (3 * k, 5), generator=g)
    grads = []
    for shared in (True, False):
        model.zero_grad()
        cond = model.encode(images)
        if shared:
            args = inputs if cls is TDDCaptioner else (inputs,)
            out = model(*args, model.repeat_condition(cond, k), drop)
        else:
            out = _copied_forward(model, cond, drop, inputs, k)
        (out * torch.linspace(-1, 1, out.numel()).view_as(out)).sum().backward()
        grads.append((out.detach(), {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}))
    (a, ga), (b, gb) = grads
    assert torch.allclose(a, b, atol=1e-5)
    assert ga.keys() == gb.keys() and "null_memory" in ga
    for name in ga:
        assert torch.allclose(ga[name], gb[name], atol=1e-5, rtol=1e-4), name


def test_shared_condition_rows_select_each_rows_image():
    model = _model(TDDCaptioner)
    cond = model.encode(_images(model))
    shared = model.repeat_condition(cond, 2)
    keep = torch.tensor([False, True, True, False, False, True])
    picked = shared.rows(keep)
    assert picked.group == 1 and len(picked) == 3
    assert torch.equal(picked.c, cond["c"][[0, 1, 2]]) and torch.equal(picked.kv[1][0], cond["kv"][1][0][[0, 1, 2]])
    with pytest.raises(ValueError, match="bool mask over the 6 rows"):
        shared.rows(torch.ones(3, dtype=torch.bool))
    with pytest.raises(ValueError, match="not a training SharedCondition"):
        model.prepare_condition(shared, None)


def test_a_captioner_can_share_the_encoder_of_an_image_classifier(tmp_path):
    """--encoder-from takes a classifier too (the emoji captioners read the emoji classifier's encoder)."""
    import importlib.util
    import json
    from pathlib import Path

    from tdd.models.classifier import ClassifierConfig, LinearClassifier
    from tdd.training.captioner_args import get_parser

    root = Path(__file__).resolve().parent.parent
    spec = importlib.util.spec_from_file_location("train_captioner_encoder", root / "train" / "train_captioner.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    kwargs = {"channels": [8, 16, 16, 16], "stem_width": 8, "output_stride": 8}
    donor = LinearClassifier(ClassifierConfig(num_classes=5, encoder="resnet10t", encoder_kwargs=kwargs, image_size=32,
                                              in_chans=3, width=16, cond_depth=1, cond_heads=2))  # fmt: skip
    donor.save_pretrained(tmp_path / "classifier")
    args = get_parser().parse_args(["--encoder", "resnet10t", "--encoder-kwargs", json.dumps(kwargs), "--image-size",
                                    "32", "--width", "16", "--depth", "1", "--heads", "2"])  # fmt: skip
    model = script.build_model(args, vocab_size=9, max_len=4)
    script.copy_encoder(model, str(tmp_path / "classifier"))
    theirs = donor.conditioner.encoder.state_dict()
    assert all(torch.equal(v, theirs[k]) for k, v in model.conditioner.encoder.state_dict().items())
    args.image_size = 48
    with pytest.raises(SystemExit, match="image_size 32 ≠ 48"):
        script.copy_encoder(script.build_model(args, vocab_size=9, max_len=4), str(tmp_path / "classifier"))
