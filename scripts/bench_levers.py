"""Can batching reach 10× on this CPU? The scenes-tdd captioner (20 steps) at batch 1 and 64, with and
without CFG, under four settings — eager fp32, eager bf16 autocast, ``torch.compile`` fp32, compile +
bf16 — and the machine's matmul peak in fp32 and bf16 for scale. Prints a markdown report.

    python scripts/bench_levers.py > results/bench_levers.md     # on an otherwise idle machine, ~5 min
"""

from __future__ import annotations

import argparse
import contextlib
import platform
import statistics
import time

import torch

STEPS = 20
BATCHES = (1, 64)
MATMUL_SIZE = 2048


def _median_ms(fn, repeats: int) -> float:
    fn()  # warm-up (and compilation)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def matmul_gflops(dtype: torch.dtype, repeats: int = 10) -> float:
    a, b = torch.randn(MATMUL_SIZE, MATMUL_SIZE, dtype=dtype), torch.randn(MATMUL_SIZE, MATMUL_SIZE, dtype=dtype)
    ms = _median_ms(lambda: a @ b, repeats)
    return 2 * MATMUL_SIZE**3 / (ms / 1000) / 1e9


def main(argv: list[str] | None = None) -> None:
    from tdd.caption import caption_steps, captioner_sampler
    from tdd.models import PretrainedModel

    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows = []
    for compiled in (False, True):
        model = PretrainedModel.from_pretrained("scenes-tdd").eval()
        if compiled:
            model.forward = torch.compile(model.forward, dynamic=False)
        for bf16 in (False, True):
            for cfg in (1.0, 2.0):
                sampler = captioner_sampler(model, steps=STEPS, cfg=cfg)
                times = {}
                for batch in BATCHES:
                    images = torch.randn(batch, 3, 64, 64, generator=torch.Generator().manual_seed(0))

                    def run(images=images, sampler=sampler, model=model, bf16=bf16):
                        autocast = torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
                        with autocast:
                            for _ in caption_steps(model, images, sampler, generator=torch.Generator().manual_seed(0)):
                                pass

                    times[batch] = _median_ms(run, args.repeats)
                rows.append((compiled, bf16, cfg, times[1], times[64]))
    fp32, bf16_peak = matmul_gflops(torch.float32), matmul_gflops(torch.bfloat16)

    print("# Batching levers on this CPU (scenes-tdd, 20 steps)\n")
    print(f"Command: `python scripts/bench_levers.py`. Machine: {platform.machine()}, {args.threads} threads, "
          f"torch {torch.__version__}; medians of {args.repeats}, per batch (encode + all steps).\n")  # fmt: skip
    print("| setting | CFG | batch 1 ms | batch 64 ms | batch-64 / batch-1 throughput |")
    print("|---|---|---|---|---|")
    for compiled, bf16, cfg, t1, t64 in rows:
        name = ("torch.compile" if compiled else "eager") + (" + bf16 autocast" if bf16 else " fp32")
        print(f"| {name} | {'2' if cfg != 1 else 'no'} | {t1:.1f} | {t64:.1f} | {64 * t1 / t64:.1f}× |")
    for cfg in (1.0, 2.0):
        best1 = min(r[3] for r in rows if r[2] == cfg)
        best64 = min(r[4] for r in rows if r[2] == cfg)
        print(f"\nBest batch 64 against best batch 1, CFG {'2' if cfg != 1 else 'off'}: "
              f"{best64:.1f} vs {best1:.1f} ms → **{64 * best1 / best64:.1f}×** the throughput.")  # fmt: skip
    print("\nbf16 changes the numerics; its effect on caption quality is not measured here.")
    print(f"\nMatmul peak ({MATMUL_SIZE}² × {MATMUL_SIZE}²): fp32 {fp32:.0f} GFLOPS, bf16 {bf16_peak:.0f} GFLOPS.")


if __name__ == "__main__":
    main()
