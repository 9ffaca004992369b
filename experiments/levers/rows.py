"""The ablation's rows: each row's method, training flags and sampling options, the flags every row shares,
and the step counts, CE bands and record folder the table reads."""

from __future__ import annotations

from common import ROOT

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
