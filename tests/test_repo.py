"""The README's two quick-start commands and what CI runs stay in step."""

import re
from pathlib import Path

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
    assert commands[0].startswith("pip install -e . && ")


def test_quick_start_example_exists():
    first = quick_start_commands()[0]
    for token in first.split():
        if token.startswith("examples/"):
            assert (ROOT / token).is_file(), token


def test_readme_library_example_runs(capsys):
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```python\n(.*?)```", readme, re.S).group(1)
    namespace: dict = {}
    exec(compile(block, "README.md", "exec"), namespace)
    assert namespace["labels_hat"].shape == (32,)
    assert len(capsys.readouterr().out.splitlines()) == 20  # one line per sampling step
