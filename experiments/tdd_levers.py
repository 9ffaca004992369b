"""Ablation of TDD's training and sampling levers on the scenes captioner, at an equal time budget.

Every row trains ``train/train_captioner.py`` with the scenes config of its method for ``--budget``
seconds of training on one thread (``--time-budget``: the lr schedule follows the budget; counted in the
process's CPU seconds, ``--budget-clock cpu``, so that other work on the machine does not shorten a row), then is
evaluated on ``--eval-size`` held-out scenes: exact match and attribute accuracy at 2, 5, 10 and 20
steps, teacher-forced CE in bands of t, optimizer steps, images seen and sampling CPU ms per caption
(batch 1, 20 steps, one thread).

    python experiments/tdd_levers.py --row paper --seed 0     # one row (trains, then evaluates)
    python experiments/tdd_levers.py --rows paper self_cond   # several, one after the other
    python experiments/tdd_levers.py --table                  # results/tdd_levers.md from the runs made

``--budget-steps N`` trains each row for N optimizer steps instead (the lr schedule follows the steps): for levers
that leave a step's cost unchanged, compared with the recipe at equal steps. On the AMD EPYC a CPU-second did not buy
the same steps from one run to the next (the recipe alone 442-468 ms a step, beside another run or on another day
476-530), and at ~1,900 steps, where shape accuracy still jumps, ±100 steps moved a row by up to 20 points.

A row's run lives in ``--runs-dir/levers/<row>_b<budget>_s<seed>`` (``<row>_n<N>_s<seed>`` with a step budget) and
is reused (``--resume``) when the script is run again; rows can run two at a time on two cores (each uses one
thread). Each record keeps the version of the scenes it was trained and evaluated on
(``tdd.data.scenes.SCENES_VERSION``) and the CPU it ran on (a CPU-second buys different step counts on different
CPUs: the same budget gave the recipe ~2,800 steps on the earlier sessions' machine, ~1,800-2,000 on an AMD EPYC and
~3,000-3,400 on an Intel Xeon with AMX):
the table lists versions and CPUs apart and compares rows only within one of each.
"""

from __future__ import annotations

import json
import platform
import statistics
import time
from pathlib import Path

import torch
from captioning import held_out, trained_style
from common import ROOT, command_line, experiment_parser, markdown_table, run_script, write_result

from tdd.caption import caption
from tdd.data.scenes import SCENES_VERSION, caption_metrics
from tdd.data.tokenizer import encode, load_tokenizer
from tdd.diagnostics import teacher_forced_curve
from tdd.diffusion import TweedieDiffusion
from tdd.models.registry import PretrainedModel

CONFIGS = {m: ROOT / "train" / "configs" / f"scenes_{m}.yaml" for m in ("tdd", "mdd", "ar")}
# Every row starts from its method's scenes config with the paper's objective on the plain renderer, any
# phrasing and 50,000 training scenes (what the table was first measured with), whatever the shipped configs now say;
# each row trains its own encoder end to end (the shipped captioners share a frozen one since: scenes_encoder.yaml).
BASE = [
    "--recipe",
    "paper",
    "--loss",
    "ce",
    "--scene-style",
    "plain",
    "--scene-phrasing",
    "any",
    "--train-size",
    "50000",
    "--kfold",
    "4",  # the paper's K-fold reuse (§3.3); the kfold rows change it (scenes_tdd.yaml ships 2)
    "--encoder-from",
    "",
    "--no-freeze-encoder",
]
CANONICAL = ["--scene-phrasing", "canonical"]
# the shipped TDD recipe (scenes_tdd.yaml), as the rows below were measured: adaLN-Zero and the fixed sine-cosine
# positions joined the recipe later (the rows that take them say so)
PINNED = ["--no-adaln-zero", "--pos-embed", "learned"]
IMPROVED_K2 = ["--recipe", "improved", *CANONICAL, "--kfold", "2", *PINNED]
# row → (method, training flags, sampling options); "informative" re-samples the paper row's model
ROWS: dict[str, tuple[str, list[str], dict]] = {
    "paper": ("tdd", [], {}),
    "alpha_bar": ("tdd", ["--train-timesteps", "alpha_bar"], {}),
    "no_coef": ("tdd", ["--loss", "ce_no_coef"], {}),  # Tab. 2's plain CE: full weight where y_t hides the token
    "adaptive": ("tdd", ["--train-timesteps", "adaptive"], {}),
    "lambda2": ("tdd", ["--onehot-scale", "2"], {}),
    "unit_var": ("tdd", ["--input-precond", "unit_var"], {}),
    "posterior": ("tdd", ["--input-precond", "posterior"], {}),
    "adaln_zero": ("tdd", ["--adaln-zero"], {}),
    "self_cond": ("tdd", ["--self-cond"], {}),
    "unroll": ("tdd", ["--unroll", "0.25"], {}),
    "informative": ("tdd", [], {"spacing": "informative"}),
    "improved": ("tdd", ["--recipe", "improved", *PINNED], {}),
    "mdd": ("mdd", [], {}),
    "ar": ("ar", [], {}),
    # one canonical phrasing per scene (tdd.data.scenes.PHRASINGS): a data lever, so each method gets a row
    "canonical": ("tdd", CANONICAL, {}),
    "no_coef_canonical": ("tdd", ["--loss", "ce_no_coef", *CANONICAL], {}),
    "improved_canonical": ("tdd", ["--recipe", "improved", *CANONICAL, *PINNED], {}),
    # each lever of the improved recipe alone on the paper's recipe with canonical captions (against "canonical")
    "adaptive_canonical": ("tdd", ["--train-timesteps", "adaptive", *CANONICAL], {}),
    "posterior_canonical": ("tdd", ["--input-precond", "posterior", *CANONICAL], {}),
    "self_cond_canonical": ("tdd", ["--self-cond", *CANONICAL], {}),
    "k2_canonical": ("tdd", [*CANONICAL, "--kfold", "2"], {}),
    # K-fold reuse (§3.3) at 4 costs TDD 4 decoder passes per image; MDD and AR take one: equal compute
    # then buys fewer encoder updates. kfold 1 gives TDD the baselines' steps per second, 2 about three quarters
    "improved_canonical_k1": ("tdd", ["--recipe", "improved", *CANONICAL, "--kfold", "1", *PINNED], {}),
    "improved_canonical_k2": ("tdd", [*IMPROVED_K2], {}),
    # the adaptive draw leaves t near T (CE flat there) the floor's share only, yet sampling's first step, which
    # decides most of the caption, is at T: half the draws uniform puts ~27 % of them at t > 450 (vs ~6 %)
    "improved_canonical_k2_floor": (
        "tdd",
        [*IMPROVED_K2, "--timestep-floor", "0.5"],
        {},
    ),
    # and the other way: a 2 % floor concentrates the draws further where CE falls (the floor row hurt on both versions)
    "improved_canonical_k2_floor_low": (
        "tdd",
        [*IMPROVED_K2, "--timestep-floor", "0.02"],
        {},
    ),
    # the improved recipe (K 2) less one of its levers (against it): what the recipe needs
    "improved_canonical_k2_no_self_cond": (
        "tdd",
        [*IMPROVED_K2, "--no-self-cond"],
        {},
    ),
    "improved_canonical_k2_no_posterior": (
        "tdd",
        [*IMPROVED_K2, "--input-precond", "none"],
        {},
    ),
    "improved_canonical_k2_uniform": (  # uniform timesteps, plain CE: the adaptive draw's share of the gain
        "tdd",
        [*IMPROVED_K2, "--train-timesteps", "uniform", "--loss", "ce_no_coef"],
        {},
    ),
    # the recipe with one more lever: twice the learning rate (the loss still falls steeply when the budget ends),
    # SUNDAE's unrolling (a quarter of the items built from the model's own draft)
    "improved_canonical_k2_lr2x": ("tdd", [*IMPROVED_K2, "--lr", "2e-3"], {}),
    "improved_canonical_k2_lr_half": ("tdd", [*IMPROVED_K2, "--lr", "5e-4"], {}),  # and half of it (2x hurt)
    "improved_canonical_k2_unroll": ("tdd", [*IMPROVED_K2, "--unroll", "0.25"], {}),
    # VDM's low-discrepancy draw of a batch's timesteps: the adaptive distribution, covered evenly by each batch
    "improved_canonical_k2_stratified": ("tdd", [*IMPROVED_K2, "--stratified-timesteps"], {}),
    # the two that did not hurt alone, together: the low-discrepancy draw at half the learning rate
    "improved_canonical_k2_stratified_lr_half": (
        "tdd",
        [*IMPROVED_K2, "--stratified-timesteps", "--lr", "5e-4"],
        {},
    ),
    # Plaid's output prior: the exact posterior's logits added to the network's (it learns what y_t does not say)
    "improved_canonical_k2_output_prior": ("tdd", [*IMPROVED_K2, "--output-prior"], {}),
    # the recipe again after the decoder shares each image's memory among its K rows (tdd.models.memory: the same
    # outputs and gradients, ~10 % less CPU per loss step; in these runs the step count barely moved); rows above
    # ran before it
    "improved_canonical_k2_shared": ("tdd", [*IMPROVED_K2], {}),
    # and with a third timestep per image, which the shared memory made cheaper (K 4 lost to K 2 when copied)
    "improved_canonical_k3_shared": (
        "tdd",
        ["--recipe", "improved", *CANONICAL, "--kfold", "3", *PINNED],
        {},
    ),
    # batches of 16 instead of 32: twice the optimizer steps on the same images seen (the runs end on a steep part
    # of the learning curve, where smaller batches learn more per image)
    "improved_canonical_k2_shared_b16": ("tdd", [*IMPROVED_K2, "--batch-size", "16"], {}),
    # and the other way, since 16 hurt: batches of 64 (half the steps; each averages twice the timestep draws)
    "improved_canonical_k2_shared_b64": ("tdd", [*IMPROVED_K2, "--batch-size", "64"], {}),
    # DiT's adaLN-Zero initialisation (every block starts as the identity, the logits at 0): in the recipe since
    "improved_canonical_k2_shared_adaln_zero": ("tdd", [*IMPROVED_K2, "--adaln-zero"], {}),
    # the two that helped on seed 0, together
    "improved_canonical_k2_shared_adaln_zero_b64": ("tdd", [*IMPROVED_K2, "--adaln-zero", "--batch-size", "64"], {}),
    # the recipe's optimiser around adaLN-Zero (which keeps the first steps tame): a 1.5x peak lr, a third of
    # the warmup (100 steps of ~2,800), and batches of 48 (64 helped without adaLN-Zero on seed 0)
    "improved_canonical_k2_shared_adaln_zero_lr_1p5": ("tdd", [*IMPROVED_K2, "--adaln-zero", "--lr", "1.5e-3"], {}),
    "improved_canonical_k2_shared_adaln_zero_warmup100": (
        "tdd",
        [*IMPROVED_K2, "--adaln-zero", "--warmup-steps", "100"],
        {},
    ),
    "improved_canonical_k2_shared_adaln_zero_b48": ("tdd", [*IMPROVED_K2, "--adaln-zero", "--batch-size", "48"], {}),
    # and the other way, since the faster start hurt on the AMD EPYC (shape is learnt late and suddenly there):
    # 0.7x the peak lr, twice the warmup
    "improved_canonical_k2_shared_adaln_zero_lr_0p7": ("tdd", [*IMPROVED_K2, "--adaln-zero", "--lr", "7e-4"], {}),
    "improved_canonical_k2_shared_adaln_zero_warmup600": (
        "tdd",
        [*IMPROVED_K2, "--adaln-zero", "--warmup-steps", "600"],
        {},
    ),
    # the image decides the caption at t = T (2 steps sample as well as 20) and shapes are what TDD gets wrong, yet
    # the adaptive draw leaves the flat-CE t near T the floor's 10 % only: 30 % uniform (the 50 % row hurt before
    # adaLN-Zero, when a seed moved rows by ±6 points)
    "improved_canonical_k2_shared_adaln_zero_floor_0p3": (
        "tdd",
        [*IMPROVED_K2, "--adaln-zero", "--timestep-floor", "0.3"],
        {},
    ),
    # no null-condition items: CFG did not help (the cfg2 row), yet 10 % of every batch trains the unconditional
    # model for it; without them, sampling with CFG has no null model to extrapolate from
    "improved_canonical_k2_shared_adaln_zero_cond_drop0": (
        "tdd",
        [*IMPROVED_K2, "--adaln-zero", "--cond-drop", "0"],
        {},
    ),
    # shapes are what TDD misses (diamonds read as crosses, circles as crosses or squares) and the image encoder is
    # what must learn them, yet a global lr 1.5x or 0.7x hurt: the encoder's lr alone, 2x and 0.5x (AdamW groups)
    "improved_canonical_k2_shared_adaln_zero_enc_lr2": (
        "tdd",
        [*IMPROVED_K2, "--adaln-zero", "--encoder-lr-scale", "2"],
        {},
    ),
    "improved_canonical_k2_shared_adaln_zero_enc_lr_half": (
        "tdd",
        [*IMPROVED_K2, "--adaln-zero", "--encoder-lr-scale", "0.5"],
        {},
    ),
    # a control: the recipe itself, trained again beside another row as the lever rows on the AMD EPYC were (the
    # CPU-second budget bought those 1,750-1,890 steps against the recipe's 1,921-2,027: two runs at once share
    # caches and memory bandwidth), and after the loader's per-item seeding got cheaper (those rows ran before)
    "improved_canonical_k2_shared_adaln_zero_control": ("tdd", [*IMPROVED_K2, "--adaln-zero"], {}),
    # the adaptive draw learns its CE curve from every item, the 10 % condition-dropped ones too, whose CE without the
    # image spikes a high-t bin's running mean (one or two items a step land there; the recipe's draw gave t ∈
    # [420, 600] between 2 and 33 % within 100 steps): from the conditioned items only (tdd.timesteps.ADAPTIVE_CE_OF)
    "improved_canonical_k2_shared_adaln_zero_ce_conditioned": (
        "tdd",
        [*IMPROVED_K2, "--adaln-zero", "--adaptive-ce", "conditioned"],
        {},
    ),
    # self-conditioning for more of the rows: at 2,000 steps a linear probe reads shapes from the recipe's image tokens
    # worse than from AR's (76 / 61 % against 86 % on seeds 0-1), though the encoder's gradient is as coherent
    # across batches (cosine 0.10 against 0.07); AR's shape query knows the words before it, TDD's only what y_t and
    # the draft tell, and only half its rows get the draft (which self-conditioning joined the recipe for)
    "improved_canonical_k2_shared_adaln_zero_sc0p8": (
        "tdd",
        [*IMPROVED_K2, "--adaln-zero", "--self-cond-prob", "0.8"],
        {},
    ),
    # and the other way, since 0.8 hurt: fewer rows fed the draft train the first sampling step (no draft) more, and
    # each step costs less (a first pass for 30 % of the rows instead of 50 %)
    "improved_canonical_k2_shared_adaln_zero_sc0p3": (
        "tdd",
        [*IMPROVED_K2, "--adaln-zero", "--self-cond-prob", "0.3"],
        {},
    ),
    # one row per image, 64 images a step (the recipe: 2 rows for each of 32, the same decoder rows). In one-off
    # probes a new noise draw on the same batch moved the encoder's gradient little (cosine 0.71 against 0.10 across
    # batches), and at t ≥ 250 the shape tokens' encoder gradient pointed one way (cosine ≥ 0.93 with t = T's at step
    # 1,000), so the second row of an image teaches its encoder little that the first did not; twice the images cost
    # the encoder twice (a step 1.6x the recipe's): judged at 2,000 steps and at 1,225, the recipe's 2,000 steps' time
    "improved_canonical_k2_shared_adaln_zero_k1_b64": (
        "tdd",
        [*IMPROVED_K2, "--adaln-zero", "--kfold", "1", "--batch-size", "64"],
        {},
    ),
    # fixed sine-cosine positions (tdd.models.conditioning.POS_EMBEDS): the decoder must tell which group is left of
    # or above the other, and where in the caption each word goes, from positions that start random and 20x smaller
    # than the image features (norm 0.23 against 4.5 at init): DETR's and pix2seq's 2D ones on the CNN's feature map,
    # the Transformer's 1D ones on the text. Every method's rows share the conditioning module, so AR gets one too
    "improved_canonical_k2_shared_adaln_zero_sincos": (
        "tdd",
        [*IMPROVED_K2, "--adaln-zero", "--pos-embed", "sincos"],
        {},
    ),
    # classifier-free guidance at sampling (A.3; eq. 1), on that recipe's models: the image's say weighted up
    "improved_canonical_k2_shared_cfg2": ("tdd", [*IMPROVED_K2], {"cfg": 2.0}),
    "mdd_canonical": ("mdd", CANONICAL, {}),
    "ar_canonical": ("ar", CANONICAL, {}),
    "ar_canonical_sincos": ("ar", [*CANONICAL, "--pos-embed", "sincos"], {}),
}
TRAINS_AS = {
    "informative": "paper",
    "improved_canonical_k2_shared_cfg2": "improved_canonical_k2_shared",
}  # rows that evaluate another row's model
STEP_COUNTS = (2, 5, 10, 20)
Key = tuple[int, str, str, str]  # a table row: scenes version, CPU, row, budget ("900 s" or "1900 steps")
BANDS = ((1, 60), (60, 160), (160, 420), (420, 600), (600, 1000))
TIMING_IMAGES = 10
RECORDS = "tdd_levers"  # results/tdd_levers/<row>_<size>_s<seed>….json (size_tag): each finished row's numbers


def get_parser():
    p = experiment_parser(__doc__)
    p.add_argument("--row", default=None, choices=sorted(ROWS))
    p.add_argument("--rows", nargs="*", default=[], choices=sorted(ROWS))
    p.add_argument("--table", action="store_true", help="write results/tdd_levers.md from the finished rows")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--budget", type=float, default=360.0, help="seconds of training per row (one thread)")
    steps = "train each row for this many optimizer steps instead of --budget seconds (a lever at equal steps)"
    p.add_argument("--budget-steps", type=int, default=None, help=steps)
    p.add_argument("--eval-size", type=int, default=500)
    return p


def size_tag(budget: float | None, budget_steps: int | None) -> str:
    """A row's budget in its run folder's and record's name: ``b<seconds>``, or ``n<steps>`` with a step budget."""
    return f"n{budget_steps}" if budget_steps else f"b{budget:g}"


def run_dir(args, row: str, budget: float | None = None, seed: int | None = None) -> Path:
    budget = args.budget if budget is None else budget
    seed = args.seed if seed is None else seed
    size = size_tag(budget, args.budget_steps)
    return Path(args.runs_dir).parent / "levers" / f"{TRAINS_AS.get(row, row)}_{size}_s{seed}"


def train_row(args, row: str) -> Path:
    method, flags, _ = ROWS[row]
    out = run_dir(args, row)
    if (out / "final" / "config.json").is_file():
        print(f"reusing {out}", flush=True)
        return out
    length = ["--time-budget", str(args.budget), "--budget-clock", "cpu", "--steps", "100000"]
    if args.budget_steps:
        length = ["--steps", str(args.budget_steps)]
    argv = ["--config", str(CONFIGS[method]), *BASE, *flags, "--seed", str(args.seed), "--threads", "1", *length,
            "--eval-every", "0", "--log-every", "100", "--save-every", "200", "--eval-size", "16", "--output", str(out),
            "--resume"]  # fmt: skip
    if args.smoke:
        argv += ["--time-budget", "3", "--train-size", "64", "--batch-size", "8", "--warmup-steps", "2"]
    print(f"training {row}: {' '.join(argv)}", flush=True)
    run_script("train_captioner.py", argv)
    return out


def band_ce(model, tokenizer, images, references, seed: int) -> dict[str, float]:
    """Teacher-forced CE (nats/token) averaged over a few t in each band of ``BANDS``."""
    c = model.config
    diffusion = TweedieDiffusion(c.vocab_size, c.schedule, c.num_timesteps, c.onehot_scale)
    tokens, _ = encode(tokenizer, [r[0] for r in references], c.max_len, truncate=True)
    g = torch.Generator().manual_seed(seed)
    with torch.inference_mode():
        cond = model.encode(images)
        out = {}
        for lo, hi in BANDS:
            ts = torch.linspace(lo, hi, 5).round().long().tolist()
            rows = teacher_forced_curve(model, diffusion, cond, tokens, ts, generator=g)
            out[f"ce_{lo}_{hi}"] = statistics.mean(r["ce"] for r in rows)
    return out


def evaluate_row(args, row: str, out: Path) -> dict:
    method, _, sampling = ROWS[row]
    model = PretrainedModel.from_pretrained(out / "final").eval()
    tokenizer = load_tokenizer(out / "final")
    n = 8 if args.smoke else args.eval_size
    images, descriptions, references, _ = held_out(n, "test", model.config.image_size, trained_style(model))
    metrics = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    trained = next(m for m in reversed(metrics) if "seconds" in m)
    budget = {"budget_steps": args.budget_steps} if args.budget_steps else {"budget": args.budget}
    result = {"row": row, "method": method, "seed": args.seed, **budget, "steps": trained["step"],
              "images_seen": trained["step"] * model.checkpoint_extra["train_args"]["batch_size"],
              "train_seconds": trained["seconds"], "cpu_seconds": trained.get("budget_seconds"),
              "eval_size": n, "scenes_version": SCENES_VERSION, "cpu": cpu_name()}  # fmt: skip
    counts = (None,) if method == "ar" else STEP_COUNTS
    for steps in counts:
        kw = {} if steps is None else {"steps": steps, **sampling}
        captions = []
        g = torch.Generator().manual_seed(args.seed)
        for i in range(0, n, 100):
            captions += caption(model, tokenizer, images[i : i + 100], generator=g, **kw).captions
        result[f"at_{steps or 'greedy'}"] = caption_metrics(captions, descriptions)
    timing_kw = {} if method == "ar" else {"steps": 20, **sampling}
    times = []
    for x in images[:TIMING_IMAGES]:
        start = time.process_time()  # CPU time of this one-thread process: other work on the machine does not count
        caption(model, tokenizer, x[None], generator=torch.Generator().manual_seed(0), **timing_kw)
        times.append(time.process_time() - start)
    result["ms_per_caption"] = 1000 * statistics.median(times)
    if method == "tdd":
        result.update(band_ce(model, tokenizer, images, references, args.seed))
    (out / f"ablation_{row}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result), flush=True)
    return result


def cpu_name() -> str:
    """This machine's CPU model (``/proc/cpuinfo``'s model name where there is one), kept in each record."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_of(record: dict) -> str:
    """The CPU a record was made on; records from before the field were all made on one machine, not named."""
    return record.get("cpu", LEGACY_CPU)


LEGACY_CPU = "earlier machine (not recorded)"


def run_row(args, row: str) -> dict:
    torch.set_num_threads(1)
    return evaluate_row(args, row, train_row(args, row))


def _fmt(values: list[float], scale: float = 100.0, digits: int = 1) -> str:
    """One value, or mean ± spread (half the range) over seeds."""
    if len(values) == 1:
        return f"{scale * values[0]:.{digits}f}"
    mean = statistics.mean(values)
    return f"{scale * mean:.{digits}f} ± {scale * (max(values) - min(values)) / 2:.{digits}f}"


def _exact(runs: list[dict], steps: int) -> float:
    key = "at_greedy" if runs[0]["method"] == "ar" else f"at_{steps}"
    return statistics.mean(r[key]["exact_match"] for r in runs)


BASELINES = ("paper", "mdd", "ar", "mdd_canonical", "ar_canonical")
# the improved recipe against its baselines trained on the same captions
TARGET_ROWS = {
    "improved": ("ar", "mdd"),
    "improved_canonical": ("ar_canonical", "mdd_canonical"),
    "improved_canonical_k2": ("ar_canonical", "mdd_canonical"),  # the shipped recipe (scenes_tdd.yaml: kfold 2)
    "improved_canonical_k2_shared": ("ar_canonical", "mdd_canonical"),  # the same, after the shared memory
    "improved_canonical_k2_shared_adaln_zero": ("ar_canonical", "mdd_canonical"),  # + adaLN-Zero
}
# the recipe the lever rows below vary (each judged as it is); its _sincos row is --recipe improved now
RECIPE = "improved_canonical_k2_shared_adaln_zero"
TARGET_ROWS |= {r: TARGET_ROWS[RECIPE] for r in ROWS if r.startswith(RECIPE + "_")}
# a lever every method takes is judged against AR with it too
TARGET_ROWS[RECIPE + "_sincos"] = ("ar_canonical_sincos", "mdd_canonical")
# rows that change one thing of another lever row: judged against it too
AGAINST = {
    "improved_canonical_k1": "improved_canonical",
    "improved_canonical_k2": "improved_canonical",
    "improved_canonical_k2_floor": "improved_canonical_k2",
    "improved_canonical_k2_floor_low": "improved_canonical_k2",
    "improved_canonical_k2_no_self_cond": "improved_canonical_k2",
    "improved_canonical_k2_no_posterior": "improved_canonical_k2",
    "improved_canonical_k2_uniform": "improved_canonical_k2",
    "improved_canonical_k2_lr2x": "improved_canonical_k2",
    "improved_canonical_k2_lr_half": "improved_canonical_k2",
    "improved_canonical_k2_unroll": "improved_canonical_k2",
    "improved_canonical_k2_stratified": "improved_canonical_k2",
    "improved_canonical_k2_stratified_lr_half": "improved_canonical_k2",
    "improved_canonical_k2_output_prior": "improved_canonical_k2",
    "improved_canonical_k2_shared": "improved_canonical_k2",
    "improved_canonical_k3_shared": "improved_canonical_k2_shared",
    "improved_canonical_k2_shared_cfg2": "improved_canonical_k2_shared",
    "improved_canonical_k2_shared_b16": "improved_canonical_k2_shared",
    "improved_canonical_k2_shared_adaln_zero": "improved_canonical_k2_shared",
    "improved_canonical_k2_shared_b64": "improved_canonical_k2_shared",
}
AGAINST |= {r: RECIPE for r in ROWS if r.startswith(RECIPE + "_")}  # against the recipe too
AGAINST["ar_canonical_sincos"] = "ar_canonical"  # a baseline's own lever row: against that baseline only


def _spread(runs: list[dict], steps: int) -> float:
    """The spread over seeds of exact match as the table shows it: half the range (points; 0 for one seed)."""
    key = "at_greedy" if runs[0]["method"] == "ar" else f"at_{steps}"
    values = [r[key]["exact_match"] for r in runs]
    return 100 * (max(values) - min(values)) / 2


def _verdict(row: str, runs: list[dict], base: str, base_runs: list[dict]) -> str:
    """helps / hurts beyond ±2 points and beyond the larger seed spread of the two rows (on two or more shared
    seeds: beyond the spread of the per-seed differences); else no effect.

    Compared on the seeds both rows ran where they share any: a seed here lands within a couple of points of
    itself from run to run (the recipe's seeds 0-2 before and after the shared memory) while seeds differ by
    up to 12 points, so a one-seed row against a four-seed mean would judge the seed, not the lever."""
    common = {r["seed"] for r in runs} & {r["seed"] for r in base_runs}
    paired = bool(common) and common != {r["seed"] for r in runs} | {r["seed"] for r in base_runs}
    if common:
        runs = [r for r in runs if r["seed"] in common]
        base_runs = [r for r in base_runs if r["seed"] in common]
    diff = 100 * (_exact(runs, 20) - _exact(base_runs, 20))
    band = max(2.0, _spread(runs, 20), _spread(base_runs, 20))
    if len(common) > 1:  # paired: the spread of the per-seed differences, which the seeds' own spread does not enter
        key = "at_greedy" if runs[0]["method"] == "ar" else "at_20"
        by_seed = {r["seed"]: r[key]["exact_match"] for r in base_runs}
        diffs = [100 * (r[key]["exact_match"] - by_seed[r["seed"]]) for r in runs]
        band = max(2.0, (max(diffs) - min(diffs)) / 2)
    word = "helps" if diff > band else "hurts" if diff < -band else "no effect"
    if band > 2 and word == "no effect" and abs(diff) > 2:
        word = f"no effect beyond the seed spread (±{band:.1f})"
    seeds = f"{len(runs)} seed{'s' * (len(runs) > 1)}"
    if paired:
        seeds += f", on the seed{'s' * (len(common) > 1)} both ran: {', '.join(map(str, sorted(common)))}"
    return f"- {row} vs {base}: {word} ({diff:+.1f} points, {seeds})"


def _targets(name: str, rows: dict[str, list[dict]]) -> list[str]:
    """The issue's targets for the improved-recipe row ``name`` (its AR and MDD rows: the same captions)."""
    imp = {s: 100 * _exact(rows[name], s) for s in STEP_COUNTS}
    checks = [(f"{name}@5 within 2 points of {name}@20 ({imp[5]:.1f} vs {imp[20]:.1f})", abs(imp[5] - imp[20]) <= 2)]
    if "paper" in rows:
        paper = 100 * _exact(rows["paper"], 20)
        checks.insert(0, (f"{name}@20 ≥ paper@20 + 15 ({imp[20]:.1f} vs {paper:.1f} + 15)", imp[20] >= paper + 15))
    ar_row, mdd_row = TARGET_ROWS[name]
    if ar_row in rows:
        ar = 100 * _exact(rows[ar_row], 20)
        checks.append((f"{name}@20 ≥ {ar_row} − 2 ({imp[20]:.1f} vs {ar:.1f} − 2 = {ar - 2:.1f})", imp[20] >= ar - 2))
    if mdd_row in rows:
        mdd = {s: 100 * _exact(rows[mdd_row], s) for s in STEP_COUNTS}
        shown = ", ".join(f"{imp[s]:.1f} vs {mdd[s]:.1f}" for s in STEP_COUNTS)
        checks.append((f"{name} > {mdd_row} at every step count ({shown})", all(imp[s] > mdd[s] for s in STEP_COUNTS)))
    return [f"- {text}: {'met' if ok else '**not met**'}" for text, ok in checks]


def version_of(record: dict) -> int:
    """The scenes version a record was made on (records from before the field: 1)."""
    return record.get("scenes_version", 1)


def budget_of(record: dict) -> str:
    """A record's budget as the table names it: ``"900 s"`` (CPU-seconds) or ``"1900 steps"``."""
    if record.get("budget_steps"):
        return f"{record['budget_steps']} steps"
    return f"{record['budget']:g} s"


def budget_order(budget: str) -> tuple[bool, float]:
    """Time budgets first, each kind by size."""
    number, unit = budget.split()
    return unit == "steps", float(number)


def verdicts(found: dict[Key, list[dict]], version: int, cpu: str, budget: str) -> list[str]:
    """Per lever against the paper's row, and a ``*_canonical`` row also against the paper's recipe on the
    same captions (exact match at 20 steps; within 2 points: no effect); the issue's targets for the
    improved recipe. Only rows of one scenes version, CPU and budget are compared."""
    rows = {row: runs for (v, c, row, b), runs in found.items() if (v, c, b) == (version, cpu, budget)}
    lines = [
        f"Verdicts at {budget}, scenes version {version}, CPU: {cpu} (exact match at 20 steps; within ±2 points "
        "or the seed spread: no effect):",
        "",
    ]
    if "paper" not in rows:
        lines.append("- the paper's row was not run at this budget: no verdict against it")
    for row, runs in rows.items():
        if row in BASELINES:
            continue
        tdd_row = runs[0]["method"] == "tdd"  # a baseline's own lever row (ar_canonical_sincos): its baseline only
        if tdd_row and "paper" in rows:
            lines.append(_verdict(row, runs, "paper", rows["paper"]))
        if tdd_row and "_canonical" in row and "canonical" in rows:
            lines.append(_verdict(row, runs, "canonical", rows["canonical"]))
        if AGAINST.get(row) in rows:
            lines.append(_verdict(row, runs, AGAINST[row], rows[AGAINST[row]]))
    ranked = sorted(rows, key=lambda r: -_exact(rows[r], 20))
    lines.append("- ranking by exact@20: " + " > ".join(f"{r} ({100 * _exact(rows[r], 20):.1f})" for r in ranked))
    for name in TARGET_ROWS:
        if name in rows:
            lines += ["", f"Targets of the issue at this budget ({name}):", "", *_targets(name, rows)]
    return lines


def record_name(r: dict) -> str:
    """``<row>_<size>_s<seed>.json`` (:func:`size_tag`), with ``_v<version>`` after it for scenes versions after the first and
    ``_cpu-<model>`` after that for records that name their CPU."""
    version = version_of(r)
    size = size_tag(r.get("budget"), r.get("budget_steps"))
    name = f"{r['row']}_{size}_s{r['seed']}" + (f"_v{version}" if version > 1 else "")
    if "cpu" in r:
        name += "_cpu-" + "".join(ch if ch.isalnum() else "-" for ch in r["cpu"]).strip("-").lower()
    return name + ".json"


def collect(args) -> dict[Key, list[dict]]:
    """Every finished row by scenes version, CPU, row and budget: the runs under ``--runs-dir`` and the records
    committed in ``--results-dir/tdd_levers/`` (one JSON per version, CPU, row, budget and seed; a run made here
    wins)."""
    records: dict[tuple[int, str, str, str, int], dict] = {}
    paths = sorted((Path(args.results_dir) / RECORDS).glob("*.json"))
    paths += sorted((Path(args.runs_dir).parent / "levers").glob("*/ablation_*.json"))
    for path in paths:
        r = json.loads(path.read_text())
        records[(version_of(r), cpu_of(r), r["row"], budget_of(r), r["seed"])] = r
    found: dict[Key, list[dict]] = {}
    for (version, cpu, row, budget, _), r in sorted(records.items()):
        found.setdefault((version, cpu, row, budget), []).append(r)
    return found


def save_records(args, found: dict[Key, list[dict]]) -> None:
    """Keep each row's record in ``--results-dir/tdd_levers/`` (committed), so the table can be rebuilt
    on a machine that no longer holds the runs."""
    folder = Path(args.results_dir) / RECORDS
    folder.mkdir(parents=True, exist_ok=True)
    for runs in found.values():
        for r in runs:
            (folder / record_name(r)).write_text(json.dumps(r, indent=1, sort_keys=True) + "\n")


def table(found: dict[Key, list[dict]]) -> str:
    header = ["scenes", "CPU", "row", "budget", "seeds", "steps", "images seen"]
    header += [f"exact@{s}" for s in STEP_COUNTS] + ["shape@20", "colour@20", "size@20", "count@20", "relation@20"]
    header += [f"CE t∈[{lo},{hi}]" for lo, hi in BANDS] + ["CPU ms/caption"]
    rows = []
    order = {name: i for i, name in enumerate(ROWS)}
    newest = sorted(found, key=lambda k: (-k[0], k[1] != LEGACY_CPU, k[1], budget_order(k[3]), order[k[2]]))
    for version, cpu, row, budget in newest:
        runs = found[(version, cpu, row, budget)]
        line = [f"v{version}", cpu, row, budget, ",".join(str(r["seed"]) for r in runs)]
        line += [_fmt([r["steps"] for r in runs], 1, 0), _fmt([r["images_seen"] for r in runs], 1, 0)]
        for s in STEP_COUNTS:
            key = "at_greedy" if runs[0]["method"] == "ar" else f"at_{s}"
            line.append(_fmt([r[key]["exact_match"] for r in runs]))
        last = "at_greedy" if runs[0]["method"] == "ar" else "at_20"
        line += [_fmt([r[last][a] for r in runs]) for a in ("shape", "colour", "size", "count", "relation")]
        for lo, hi in BANDS:
            key = f"ce_{lo}_{hi}"
            line.append(_fmt([r[key] for r in runs], 1, 3) if key in runs[0] else "–")
        line.append(_fmt([r["ms_per_caption"] for r in runs], 1, 1))
        rows.append(line)
    return markdown_table(header, rows)


def main() -> None:
    args = get_parser().parse_args()
    for row in ([args.row] if args.row else []) + args.rows:
        run_row(args, row)
    if args.table:
        text = "# TDD's levers on the scenes captioner, at an equal time budget\n\n"
        text += f"Command: `{command_line()}` (each row: `python experiments/tdd_levers.py --row NAME --seed S "
        text += "--budget B`). Exact match and attributes in % on held-out test scenes, argmax sampling, no CFG unless "
        text += "the row says so "
        text += "(AR: greedy, the same figure in every step column); CE: teacher-forced, nats per token. Every row: "
        text += "the plain renderer, 50,000 training scenes, the method's scenes config with the paper's objective "
        text += f"(`{' '.join(BASE)}`) and the row's flags; `*_canonical` rows train on one canonical phrasing per "
        text += "scene (`--scene-phrasing canonical`), the others on all four synonyms. Scenes: the version of the "
        text += "scene generator a row was trained and evaluated on (`tdd.data.scenes.SCENES_VERSION`; v2 lays two "
        text += "groups out so that just the named relation holds, v1 let two relations be true); rows are compared "
        text += "only within one version. CPU: the machine a row ran on (a CPU-second buys different step counts on "
        text += "different CPUs; rows are compared only within one).\n\n"
        found = collect(args)
        save_records(args, found)
        text += table(found) + "\n"
        # the newest scenes first; per version and CPU the ablation's budget, then any longer runs of the top rows
        groups = sorted(
            {(v, c, b) for v, c, _, b in found}, key=lambda g: (-g[0], g[1] != LEGACY_CPU, g[1], budget_order(g[2]))
        )
        for version, cpu, budget in groups:
            text += "\n".join(verdicts(found, version, cpu, budget)) + "\n\n"
        write_result(args, "tdd_levers.md", text)


if __name__ == "__main__":
    main()
