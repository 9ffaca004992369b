"""The wheel works alone: built with ``python -m build``, installed into a fresh virtual environment
(its dependencies from the running environment's site-packages, tdd only from the wheel), run outside
the checkout, it captions and classifies with the bundled models.

The running environment may be a venv, a conda env or the machine's own Python: the new venv is given
*its* site-packages through a ``.pth`` file (``system_site_packages`` would give the base interpreter's,
which a venv's packages are not in)."""

import json
import shutil
import site
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def _run(*args, cwd, timeout=600):
    out = subprocess.run([*map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-3000:]
    return out.stdout


def running_site_packages() -> list[str]:
    """The site-packages folders this interpreter imports from (venv, conda env, system, user), in order."""
    dirs = [*site.getsitepackages(), site.getusersitepackages(), *sys.path]
    wanted = (d for d in dirs if Path(d).name in ("site-packages", "dist-packages") and Path(d).is_dir())
    return list(dict.fromkeys(wanted))


def test_the_wheel_installed_alone_captions_and_classifies(tmp_path):
    source = tmp_path / "src"  # build from a copy: the build must not depend on files outside git's view
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".git", "runs", "artifacts", "build", "*.egg-info"))
    _run(
        sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", tmp_path / "dist", source, cwd=tmp_path
    )
    (wheel,) = (tmp_path / "dist").glob("tdd-*.whl")
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    own = _run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=tmp_path).strip()
    # lines of a .pth are appended to sys.path after the venv's own folder, so the wheel's tdd comes first;
    # the .pth files inside them (an editable install's finder) are not run
    (Path(own) / "running_env.pth").write_text("\n".join(running_site_packages()) + "\n")
    _run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", wheel, cwd=tmp_path)
    work = tmp_path / "elsewhere"
    work.mkdir()
    for name in ("scenes/scene_2.png", "digits/drawn_7.png"):
        shutil.copy(ROOT / "examples" / name, work / Path(name).name)
    where = _run(python, "-c", "import tdd; print(tdd.__file__)", cwd=work)
    assert str(env_dir) in where  # the wheel's copy, not the checkout
    row = json.loads(_run(env_dir / "bin" / "tdd", "caption", "scene_2.png", "--json", cwd=work))
    assert row["caption"] and len(row["trajectory"]) == 20
    assert _run(env_dir / "bin" / "tdd", "classify", "drawn_7.png", cwd=work).startswith("drawn_7.png: 7")
    held = _run(
        python, "-c", "from tdd.data import emoji; print(len(emoji.splits()['compositional_holdout']))", cwd=work
    )
    assert int(held) > 0  # package data beyond the checkpoints: the emoji splits
