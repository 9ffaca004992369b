"""The "Side by side" tab: TDD and masked diffusion on one image with the same steps, streamed together, then
the autoregressive caption — for each family of captioners trained on the same data (the bundled scenes
captioners; any other family whose checkpoints record their data)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tdd.data.registry import dataset
from tdd.demo.catalogue import catalogue, checkpoint_meta, load, trained_on
from tdd.demo.common import DemoError
from tdd.demo.run import run_to_end, stream, timing_text
from tdd.demo.views import sentence_html
from tdd.models import kind_of

STREAMED = ("tdd", "mdd")  # the denoising methods, streamed step by step together
LAST = "ar"  # written left to right once they are done
METHOD_TITLES = {"tdd": "TDD", "mdd": "Masked diffusion", "ar": "Autoregressive"}


def _trained_on(name: str) -> tuple[str, str] | None:
    """(data, method) of a captioner in the catalogue, from its ``config.json`` alone (no weights read)."""
    kind, data = kind_of((checkpoint_meta(name) or {}).get("model_type")), trained_on(name)
    return (data, kind.method) if kind and data else None


class CompareTask:
    """Several captioning methods on one image: a family is the captioners trained on one dataset."""

    name = "compare"
    title = "Side by side"
    layout = "compare"
    model_task = "caption"  # the catalogue whose models are compared
    header = (
        "TDD and masked diffusion on the same image with the same number of steps, then the autoregressive caption."
    )
    default_family = "scenes"
    data = "scenes"  # the dataset whose committed examples the tab offers (tdd.data.registry)
    methods: tuple[str, ...] = (*STREAMED, LAST)

    def examples(self) -> list[Path]:
        return dataset(self.data).examples()

    def families(self) -> dict[str, dict[str, str]]:
        """``{data: {method: model name}}`` for the captioners of the catalogue (the first one of each method)."""
        out: dict[str, dict[str, str]] = {}
        for name in catalogue(self.model_task):
            found = _trained_on(name)
            if found and found[1] in self.methods:
                out.setdefault(found[0], {}).setdefault(found[1], name)
        return {data: models for data, models in out.items() if all(m in models for m in STREAMED)}

    def models_of(self, family: Any) -> dict[str, str]:
        """The models of ``family``; a :class:`DemoError` naming the families otherwise."""
        families = self.families()
        if family not in families:
            choices = ", ".join(families) or "none"
            raise DemoError(f"no family of captioners called {str(family)[:40]!r}; choose one of: {choices}")
        return families[family]

    def stream(self, image: Any, family: Any, settings: Any) -> Iterator[dict[str, str]]:
        """``{method: HTML}`` after every step of the streamed methods (advanced together), then once more with
        the autoregressive caption as Markdown."""
        names = self.models_of(family)
        runs = {m: stream(names[m], image, settings) for m in STREAMED}
        views = dict.fromkeys(self.methods, "")
        while runs:
            for m, it in list(runs.items()):
                run = next(it, None)
                if run is None:
                    del runs[m]
                    continue
                views[m] = sentence_html(run, load(names[m])) + f"<div class='tdd-step'>{timing_text(run)}</div>"
            if runs:
                yield dict(views)
        if LAST in names:
            ar = run_to_end(names[LAST], image, settings)
            views[LAST] = f"**{METHOD_TITLES[LAST]}:** {ar.text}  \n<small>{timing_text(ar)}</small>"
        yield dict(views)
