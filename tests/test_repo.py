"""The README's two quick-start commands and what CI runs stay in step."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def quick_start_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quick start", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return [line.split("  #")[0].strip() for line in block.strip().splitlines()]


def test_quick_start_has_exactly_two_commands_and_ci_runs_the_second():
    commands = quick_start_commands()
    assert len(commands) == 2
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert commands[1] in ci  # verbatim, on a line of its own
    venv = next(i for i, line in enumerate(ci) if "-m venv" in line)
    activate = next(i for i, line in enumerate(ci) if line.startswith(". ") and "bin/activate" in line)
    assert venv < activate < ci.index(commands[1])  # inside a fresh virtual environment, as users run it
    assert commands[0].startswith('pip install -e ".[app]" && ')


def test_quick_start_example_exists():
    first = quick_start_commands()[0]
    for token in first.split():
        if token.startswith("examples/"):
            assert (ROOT / token).is_file(), token


def test_readme_library_example_runs(capsys):
    library = (ROOT / "README.md").read_text().split("## The library", 1)[1]
    block = re.search(r"```python\n(.*?)```", library, re.S).group(1)
    namespace: dict = {}
    exec(compile(block, "README.md", "exec"), namespace)
    assert namespace["labels_hat"].shape == (32,)
    assert len(capsys.readouterr().out.splitlines()) == 20  # one line per sampling step


def test_spaces_front_matter_matches_the_pinned_gradio_and_app():
    import yaml

    tomllib = pytest.importorskip("tomllib")  # Python ≥ 3.11

    readme = (ROOT / "README.md").read_text()
    assert readme.startswith("---\n")
    meta = yaml.safe_load(readme.split("---\n")[1])
    assert meta["sdk"] == "gradio" and meta["app_file"] == "app/main.py" and str(meta["python_version"])
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert f"gradio=={meta['sdk_version']}" in extras["app"]
    assert any(d.startswith("tdd[emoji") for d in extras["app"])  # the emoji tabs' typed input imports `emoji`
    assert (ROOT / "requirements.txt").read_text().strip().splitlines()[-1] == ".[app]"
    app = (ROOT / meta["app_file"]).read_text()
    assert "\ndemo = build()\n" in app  # the module defines `demo` at top level (Spaces and reload mode need it)


def test_shipped_checkpoints_name_no_folder_of_the_machine_they_were_trained_on():
    for config in sorted((ROOT / "tdd" / "checkpoints").glob("*/config.json")):
        absolute = re.findall(r'"(/(?:home|root|work|tmp|Users|mnt)/[^"]*)"', config.read_text(encoding="utf-8"))
        assert not absolute, (config.parent.name, absolute[:3])
