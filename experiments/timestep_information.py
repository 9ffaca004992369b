"""Where a noisy one-hot carries information, and where a trained TDD captioner uses it.

Per timestep t: ᾱ_t, the mutual information I(y_0; y_t) of one token (nats, of ln V), the chance that the
argmax of y_t is the token, and the captioner's teacher-forced CE, token accuracy and exact match (true
captions of held-out scenes noised to t, one prediction). Table in results/timestep_information.md,
plotly figure in results/timestep_information.html.

python experiments/timestep_information.py                    # the bundled scenes-tdd
python experiments/timestep_information.py --model runs/x/final
"""

from __future__ import annotations

import math

import torch
from captioning import held_out
from common import command_line, experiment_parser, markdown_table, write_result

from tdd.data.tokenizer import encode, load_tokenizer
from tdd.diagnostics import onehot_information, teacher_forced_curve, timestep_grid
from tdd.diffusion import TweedieDiffusion
from tdd.models.registry import PretrainedModel, resolve_checkpoint


def main() -> None:
    p = experiment_parser(__doc__)
    p.add_argument("--model", default="scenes-tdd", help="a bundled name, a checkpoint directory or a Hub id")
    p.add_argument("--eval-size", type=int, default=500)
    p.add_argument("--points", type=int, default=40, help="timesteps on the grid")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    n, points = (8, 6) if args.smoke else (args.eval_size, args.points)
    model = PretrainedModel.from_pretrained(args.model).eval()
    tok = load_tokenizer(resolve_checkpoint(args.model))
    c = model.config
    diffusion = TweedieDiffusion(c.vocab_size, c.schedule, c.num_timesteps, c.onehot_scale)
    ts = timestep_grid(c.num_timesteps, points)
    g = torch.Generator().manual_seed(args.seed)
    info = onehot_information(diffusion, ts, samples=256 if args.smoke else 4000, generator=g)
    images, _, _, truths = held_out(n, "test", c.image_size)
    tokens, _ = encode(tok, truths, c.max_len, truncate=True)
    with torch.inference_mode():
        model_rows = teacher_forced_curve(model, diffusion, model.encode(images), tokens, ts, generator=g)
    rows = []
    for a, m in zip(info, model_rows):
        rows.append([a["t"], f"{a['alpha_bar']:.4f}", f"{a['mutual_info']:.3f}", f"{a['p_argmax']:.3f}",
                     f"{m['ce']:.3f}", f"{100 * m['token_acc']:.1f}", f"{100 * m['exact']:.1f}"])  # fmt: skip
    header = ["t", "ᾱ_t", "I(y_0; y_t) nats", "P(argmax y_t = y_0)", "model CE", "token acc %", "exact %"]
    text = f"# Where the one-hot carries information ({args.model}, {n} held-out scenes)\n\n"
    text += f"Command: `{command_line()}`. V = {c.vocab_size} (ln V = {math.log(c.vocab_size):.2f} nats), "
    text += f"{c.schedule} schedule, λ = {c.onehot_scale}; teacher-forced: the true caption noised to t, seed "
    text += f"{args.seed}.\n\n" + markdown_table(header, rows)
    write_result(args, "timestep_information.md", text)
    figure(args, info, model_rows)


def figure(args, info: list[dict], model_rows: list[dict]) -> None:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    ts = [r["t"] for r in info]
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(go.Scatter(x=ts, y=[r["mutual_info"] for r in info], name="I(y_0; y_t), nats"))
    fig.add_trace(go.Scatter(x=ts, y=[r["ce"] for r in model_rows], name="model CE, nats"))
    fig.add_trace(go.Scatter(x=ts, y=[r["p_argmax"] for r in info], name="P(argmax y_t = y_0)"), secondary_y=True)
    fig.add_trace(go.Scatter(x=ts, y=[r["exact"] for r in model_rows], name="model exact match"), secondary_y=True)
    fig.update_layout(title="Where a noisy one-hot carries information", xaxis_title="timestep t")
    fig.update_yaxes(title_text="nats", secondary_y=False)
    fig.update_yaxes(title_text="probability", range=[0, 1], secondary_y=True)
    path = f"{args.results_dir}/timestep_information.html"
    fig.write_html(path, include_plotlyjs="cdn")
    print(f"figure: {path}")


if __name__ == "__main__":
    main()
