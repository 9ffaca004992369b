import os

# A hub lookup without network hangs ~45 s; nothing in tdd should make one, and this makes sure.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
import torch  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent

# Under pytest-xdist (``-n``) the workers share the cores: each torch, and each process a test starts, gets its share
# (oversubscribed OpenMP threads spin and slow every worker down).
WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
THREADS = max(1, min(2, (os.cpu_count() or 1) // WORKERS))
if WORKERS > 1:
    os.environ.setdefault("OMP_NUM_THREADS", str(THREADS))
torch.set_num_threads(THREADS)


def _slow_module(item) -> bool:
    module = item.getparent(pytest.Module)
    return module is not None and any(m.name == "slow" for m in module.own_markers)


def pytest_collection_modifyitems(config, items):
    """Notebooks (collected by nbmake) carry the ``notebook`` and ``slow`` markers. The files marked slow as a whole
    (minutes each) run first, then the notebooks, then the rest: pytest-xdist hands files out in this order
    (``--no-loadscope-reorder``; its default, most tests first, left the one-test notebooks as the last, lone tail)."""
    for item in items:
        if str(item.path).endswith(".ipynb"):
            item.add_marker(pytest.mark.notebook)
            item.add_marker(pytest.mark.slow)
    items.sort(key=lambda item: 0 if _slow_module(item) else 1 if item.get_closest_marker("notebook") else 2)


@pytest.fixture
def gen():
    return torch.Generator().manual_seed(0)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch_app(tmp_dir: Path, extra_env: dict[str, str] | None = None, args: list[str] | None = None):
    """Start ``python app/main.py`` on a free port; returns (url, process) once it serves."""
    import urllib.request

    port = _free_port()
    log = tmp_dir / "app.log"
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1", **(extra_env or {})}
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "app" / "main.py"), "--port", str(port), *(args or [])],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 120
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            return url, proc
        except OSError:
            if proc.poll() is not None or time.time() > deadline:
                proc.kill()
                pytest.fail(f"the app did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)


def stop_app(proc) -> None:
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture(scope="session")
def app_server(tmp_path_factory, sources):
    """``python app/main.py`` on a free port; yields (url, process). Its log: :func:`app_log`. The emoji styles are
    installed first (:func:`sources`), so the server's "Name an emoji" tab can draw what is typed."""
    folder = tmp_path_factory.mktemp("app")
    url, proc = launch_app(folder)
    proc.log_path = folder / "app.log"  # what the server printed, for tests of its log
    yield url, proc
    stop_app(proc)


EMOJI_DEBIAN = {"noto": "fonts-noto-color-emoji", "emojione": "ruby-gemojione", "symbola": "fonts-symbola"}
EMOJI_NPM = {"twemoji": "@twemoji/svg@15.0.0", "openmoji": "openmoji@17.0.0"}


@pytest.fixture(scope="session")
def sources(tmp_path_factory):
    """Every emoji style's source on this machine: what is missing is installed (apt-get as root, npm pack);
    ``absent`` names what is still missing (the tests that need it skip, saying so)."""
    import shutil

    from filelock import FileLock

    from tdd.data.emoji_styles import STYLES, locate

    # one folder and one install for every xdist worker of this run (apt-get takes a lock a second one would fail on)
    shared = tmp_path_factory.getbasetemp().parent if WORKERS > 1 else tmp_path_factory.getbasetemp()
    folder = os.environ.get("TDD_EMOJI_SOURCES") or str(shared / "emoji-sources")
    os.environ["TDD_EMOJI_SOURCES"] = folder
    Path(folder).mkdir(parents=True, exist_ok=True)
    with FileLock(str(shared / "emoji-sources.lock")):
        missing_debian = [pkg for style, pkg in EMOJI_DEBIAN.items() if locate(STYLES[style]) is None]
        if missing_debian and os.geteuid() == 0 and shutil.which("apt-get"):
            subprocess.run(["apt-get", "install", "-y", "-q", *missing_debian], capture_output=True, timeout=600,
                           env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})  # fmt: skip
        for style, package in EMOJI_NPM.items():
            if locate(STYLES[style]) is None and shutil.which("npm"):
                subprocess.run(["npm", "pack", package], cwd=folder, capture_output=True, timeout=300)
    absent = [name for name, style in STYLES.items() if locate(style) is None]
    yield {"folder": folder, "absent": absent}
