"""The documentation: the site builds with `mkdocs build --strict` (no broken internal link or anchor, every
page in the nav, every API object resolved, every included file present), the README and the notebooks
link only to files and headings that exist, and every committed results table is reachable from the site."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
INCLUDE = re.compile(r'^--8<-- "([^"]+)"', re.M)


def slug(heading: str) -> str:
    """GitHub's and Python-Markdown's anchor of a heading (lower case, punctuation dropped, spaces → -)."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    return re.sub(r"\s", "-", re.sub(r"[^\w\s-]", "", text))


def anchors(markdown: str) -> set[str]:
    body = re.sub(r"```.*?```", "", markdown, flags=re.S)  # a # inside a code block is no heading
    return {slug(m) for m in re.findall(r"^#{1,6} (.+)$", body, re.M)}


def broken_links(markdown: str, where: Path) -> list[str]:
    """Relative links of ``markdown`` (a file in folder ``where``) that name no file, or no heading in it."""
    bad = []
    for target in LINK.findall(re.sub(r"```.*?```", "", markdown, flags=re.S)):
        if re.match(r"[a-z]+:", target):  # http(s), mailto: not checked here (no network)
            continue
        path, _, anchor = target.partition("#")
        file = (where / path).resolve() if path else None
        if file is not None and not file.exists():
            bad.append(target)
        elif anchor and (file is None or file.suffix == ".md") and anchor not in anchors((file or where).read_text()):
            bad.append(target)
    return bad


@pytest.mark.slow
def test_the_site_builds_strict(tmp_path):
    pytest.importorskip("mkdocs")
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT, capture_output=True, text=True, timeout=600, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    api = (tmp_path / "site" / "reference" / "api" / "index.html").read_text()
    assert 'id="tdd.sampling.sampler_for"' in api and 'id="tdd.diffusion.TweedieDiffusion.q_sample"' in api
    levers = (tmp_path / "site" / "results" / "levers" / "index.html").read_text()
    assert "TDD&#39;s levers on the scenes captioner" in levers or "TDD's levers on the scenes captioner" in levers


def test_the_readme_is_short_and_links_only_to_what_exists():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 200
    assert broken_links(readme, ROOT) == []
    for page in ("docs/getting-started.md#install", "docs/app.md", "docs/getting-started.md#the-command-line",
                 "docs/guides/own-data.md", "docs/reference/api.md"):  # fmt: skip
        assert f"]({page})" in readme, f"the README does not link to {page}"
    assert "::: tdd.sampling" in (DOCS / "reference" / "api.md").read_text()


def test_the_notebooks_and_the_docs_link_only_to_what_exists():
    for notebook in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(notebook.read_text())["cells"]
        text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
        assert broken_links(text, notebook.parent) == [], notebook.name
    for page in sorted(DOCS.rglob("*.md")):
        if "assets" not in page.parts:
            assert broken_links(page.read_text(), page.parent) == [], page


def test_every_results_table_and_figure_is_reachable_from_the_site():
    pages = [p.read_text() for p in DOCS.rglob("*.md") if "assets" not in p.parts]
    included = {inc for text in pages for inc in INCLUDE.findall(text)}
    figures = {m for text in pages for m in re.findall(r"\(\.\./assets/(results/[^)]+\.png)\)", text)}
    for table in sorted((ROOT / "results").glob("*.md")):
        assert f"results/{table.name}" in included, f"{table.name} is on no page of the site"
        assert "Command" in table.read_text() or table.name == "README.md", f"{table.name} names no command"
    for figure in sorted((ROOT / "results").glob("*.png")):
        assert f"results/{figure.name}" in figures, f"{figure.name} is on no page of the site"


def test_the_getting_started_example_runs(capsys):
    page = (DOCS / "getting-started.md").read_text().split("## The library", 1)[1]
    block = re.search(r"```python\n(.*?)```", page, re.S).group(1)
    exec(compile(block, "getting-started.md", "exec"), {})
    assert len(capsys.readouterr().out.splitlines()) == 20  # one line per denoising step
