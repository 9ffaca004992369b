"""The "Side by side" tab: TDD and masked diffusion on one image with the same steps, streamed together, then
the autoregressive caption — for each family of captioners trained on the same data (the bundled scenes
captioners; any other family whose checkpoints record their data)."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tdd.data.registry import datasets
from tdd.demo.catalogue import checkpoint_meta, load, models_of_task, trained_on
from tdd.demo.common import DemoError
from tdd.demo.run import run_to_end, stream, timing_text
from tdd.demo.task import TASKS, Task
from tdd.demo.truth import content_key
from tdd.demo.views import sentence_html
from tdd.models import kind_of

STREAMED = ("tdd", "mdd")  # the denoising methods, streamed step by step together
LAST = "ar"  # written left to right once they are done
METHOD_TITLES = {"tdd": "TDD", "mdd": "Masked diffusion", "ar": "Autoregressive"}


def _trained_on(name: str) -> tuple[str, str] | None:
    """(data, method) of a captioner in the catalogue, from its ``config.json`` alone (no weights read)."""
    kind, data = kind_of((checkpoint_meta(name) or {}).get("model_type")), trained_on(name)
    return (data, kind.method) if kind and data else None


@functools.lru_cache(maxsize=16)
def _example_keys(data: str) -> frozenset[str]:
    """The content keys of a dataset's committed examples, read once per server (none for a dataset without)."""
    known = datasets()
    return frozenset(k for p in (known[data].examples() if data in known else []) if (k := content_key(p)))


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
        """The default family's examples first, then those of every other family's dataset that has some."""
        known = datasets()  # a family trained on your own folder has no examples of its own
        others = [d for d in self.families() if d != self.data and d in known]
        return [p for d in (self.data, *others) for p in known[d].examples()]

    def families(self) -> dict[str, dict[str, str]]:
        """``{data: {method: model name}}`` for the captioners of the catalogue (the first one of each method)."""
        out: dict[str, dict[str, str]] = {}
        for name in models_of_task(self.model_task):  # every family, the tabs' own filters aside
            found = _trained_on(name)
            if found and found[1] in self.methods:
                out.setdefault(found[0], {}).setdefault(found[1], name)
        return {data: models for data, models in out.items() if all(m in models for m in STREAMED)}

    def family_of(self, image: Any) -> str | None:
        """The family whose dataset's examples hold ``image`` (a path or bytes, matched by content, so gradio's
        cached copy counts), ``None`` for any other picture: picking an emoji example selects the emoji captioners."""
        key = content_key(image)
        if key is None:
            return None
        return next((family for family in self.families() if key in _example_keys(family)), None)

    def models_of(self, family: Any) -> dict[str, str]:
        """The models of ``family``; a :class:`DemoError` naming the families otherwise."""
        families = self.families()
        if family not in families:
            choices = ", ".join(families) or "none"
            raise DemoError(f"no family of captioners called {str(family)[:40]!r}; choose one of: {choices}")
        return families[family]

    def tab_of(self, family: str) -> str | None:
        """The single-model tab of this family's data (the emoji captioners read a picture as the emoji tab
        prepares it), ``None`` when none is: a captioner's own task then."""
        tabs = [t for t in TASKS.values() if isinstance(t, Task) and t.layout == "single"]
        return next((t.name for t in tabs if t.model_task == self.model_task and t.data == family), None)

    def stream(self, image: Any, family: Any, settings: Any) -> Iterator[dict[str, str]]:
        """``{method: HTML}`` after every step of the streamed methods (advanced together), then once more with
        the autoregressive caption as Markdown."""
        names = self.models_of(family)
        tab = self.tab_of(family)
        runs = {m: stream(names[m], image, settings, task=tab) for m in STREAMED}
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
            ar = run_to_end(names[LAST], image, settings, task=tab)
            views[LAST] = f"**{METHOD_TITLES[LAST]}:** {ar.text}  \n<small>{timing_text(ar)}</small>"
        yield dict(views)
