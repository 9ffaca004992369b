"""App speed on this machine, measured (not asserted by tests): time until the app serves, time until
the first denoising step reaches a client, and the full 20-step caption with CFG.

    python scripts/bench_app.py        # prints a small table; run it on an otherwise idle machine
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPEATS = 5


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    from gradio_client import Client, handle_file

    port = free_port()
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1"}
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, str(ROOT / "app" / "main.py"), "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    try:
        while True:
            try:
                urllib.request.urlopen(url, timeout=1)
                break
            except OSError:
                time.sleep(0.05)
        serve_s = time.perf_counter() - start
        client = Client(url, verbose=False)
        image = handle_file(str(ROOT / "examples" / "scenes" / "scene_0.png"))
        client.predict(image, 20, 2.0, 0, "tdd", "", "argmax", 1.0, "", api_name="/caption")  # loads the model
        first, totals, computed = [], [], []
        for _ in range(REPEATS):
            t0 = time.perf_counter()
            job = client.submit(image, 20, 0, api_name="/side_by_side")  # streams after every step
            while not job.outputs():
                time.sleep(0.005)
            first.append(time.perf_counter() - t0)
            job.result()
            t0 = time.perf_counter()
            out = client.predict(image, 20, 2.0, 0, "tdd", "", "argmax", 1.0, "", api_name="/caption")
            totals.append(time.perf_counter() - t0)
            computed.append(out["seconds"])
    finally:
        proc.terminate()
    med = lambda xs: 1000 * statistics.median(xs)  # noqa: E731
    print("| measurement | value |\n|---|---|")
    print(f"| app serving after start | {serve_s:.1f} s (goal ≤ 15 s) |")
    print(
        f"| first denoising step at the client (side by side, median of {REPEATS}) | {med(first):.0f} ms (goal ≤ 1 s) |"
    )
    print(f"| 20-step caption with CFG 2, computed in the server (median) | {med(computed):.0f} ms (goal ≤ 150 ms) |")
    print(f"| the same, round trip through gradio_client (median) | {med(totals):.0f} ms |")


if __name__ == "__main__":
    main()
