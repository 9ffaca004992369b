"""What an app tab is: the :class:`Task` interface, and the registry both apps build their tabs from.

Adding a tab is one class that has these members, registered with :func:`register_task` (the two built-in
tasks are :mod:`tdd.demo.tasks`; "Side by side" is :mod:`tdd.demo.compare`). Gradio (``app/main.py``) and
Streamlit (``app/streamlit_app.py``) lay out one tab per registered task, in registration order, by its
``layout``: ``"single"`` (one model, the live run, its heatmaps) or ``"compare"`` (several methods at once).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast, runtime_checkable

from tdd.demo.common import DemoError

if TYPE_CHECKING:
    from tdd.demo.canvas import Canvas
    from tdd.demo.catalogue import Loaded
    from tdd.demo.run import Run
    from tdd.samplers.common import StepRecord
    from tdd.samplers.config import SamplingConfig

LAYOUTS = ("single", "compare")


@runtime_checkable
class Task(Protocol):
    """One tab of the apps: what it shows, and how a model's steps become its views."""

    name: str  # the key of the registry
    title: str  # the tab's label
    model_task: str  # the kind of model the tab runs (a model kind's task: caption, classify); its catalogue
    layout: str  # one of LAYOUTS: which of the apps' tab builders lays it out
    header: str  # Markdown above the tab
    legend: str  # how to read the view (under "How to read the view")
    placeholder: str  # shown where the answer goes before the first Run
    input_label: str  # the upload widget's label
    takes_pins: bool  # offer the "Pin words" box (infilling)
    sequence: bool  # several positions: the position picker, the masked baseline's and spacing settings
    side_label: str  # the label of the figure beside the heatmap
    default_model: str  # the catalogue entry selected at start
    data: str  # the dataset (tdd.data.registry) whose committed examples the tab offers
    typed: Any  # None, or a typed input beside the upload and the canvas (tdd.demo.typed.TypedEmoji)

    @property
    def examples_dir(self) -> Path | None:
        """Where those examples are (``captions.txt`` beside them: their truths); None without any."""
        ...

    @property
    def canvas(self) -> Canvas:
        """The drawing canvas of the tab (:mod:`tdd.demo.canvas`)."""
        ...

    def examples(self) -> list[Path]:
        """The example images, in order (the dataset's)."""
        ...

    def preprocess(self, image: Any, size: int) -> Any:
        """An upload or drawing → the model's input ``(C, H, W)``."""
        ...

    def marks(self, image: Any, text: str, loaded: Loaded, truths: dict[str, str]) -> str:
        """HTML under the answer: the truth with right/wrong marks where it is known, else ``""``."""
        ...

    def domain_note(self, image: Any, loaded: Loaded) -> str:
        """HTML beside the answer when the image looks unlike what the model was trained on, else ``""``."""
        ...

    def records(
        self, run: Run, loaded: Loaded, x: Any, settings: SamplingConfig, pins: str, generator: Any
    ) -> Iterator[StepRecord]:
        """The denoising steps for input ``x`` (the library's sampler generator)."""
        ...

    def one_pass(self, run: Run, loaded: Loaded, x: Any) -> None:
        """A model without denoising steps (AR, linear head): its answer into ``run``."""
        ...

    def update(self, run: Run, record: StepRecord, loaded: Loaded) -> None:
        """The run's answer after ``record``."""
        ...

    def history_text(self, record: StepRecord, loaded: Loaded) -> str:
        """One line of the "every step" list."""
        ...

    def answers(self, tokens: Any, loaded: Loaded) -> list[str]:
        """Every row's answer of a batch (the "several samples" view)."""
        ...

    def label_of(self, loaded: Loaded, i: int) -> str:
        """An output id as the views write it."""
        ...

    def step_json(self, record: StepRecord, loaded: Loaded) -> dict[str, Any]:
        """One step of the exported trajectory."""
        ...

    def cells(self, run: Run, record: StepRecord, k: int, loaded: Loaded) -> str:
        """The answer at step ``k`` as HTML cells, shaded by confidence."""
        ...

    def frame_words(self, record: StepRecord, k: int, loaded: Loaded) -> list[tuple[str, float, bool]]:
        """(word, confidence, changed) of an animation frame."""
        ...

    def heatmap(self, records: list[StepRecord], position: int, loaded: Loaded) -> Any:
        """The heatmap figure of the answer over the steps."""
        ...

    def side_figure(self, run: Run, loaded: Loaded, step: int | None) -> Any:
        """The figure beside the heatmap."""
        ...

    def positions(self, run: Run, loaded: Loaded) -> list[tuple[str, int]]:
        """The choices of the position picker (empty without positions)."""
        ...

    def busiest_position(self, run: Run) -> int:
        """The position shown first: the one that changed most."""
        ...


@runtime_checkable
class CompareTab(Protocol):
    """A tab of layout "compare": several methods of one task on the same input, side by side."""

    name: str  # the key of the registry
    title: str  # the tab's label
    layout: str  # "compare"
    header: str  # Markdown above the tab
    methods: tuple[str, ...]  # the methods shown, in order (model kinds' methods)
    default_family: str  # the family selected at start

    def examples(self) -> list[Path]:
        """The example images, in order."""
        ...

    def families(self) -> dict[str, dict[str, str]]:
        """``{family: {method: model name}}``: the groups of models that can be compared."""
        ...

    def family_of(self, image: Any) -> str | None:
        """The family whose examples hold ``image``, ``None`` for any other picture."""
        ...

    def models_of(self, family: Any) -> dict[str, str]:
        """The models of ``family`` (a :class:`DemoError` naming the families otherwise)."""
        ...

    def stream(self, image: Any, family: Any, settings: Any) -> Iterator[dict[str, str]]:
        """``{method: view}`` as the runs advance together."""
        ...


TASKS: dict[str, Task | CompareTab] = {}  # name → tab, in registration order: the apps' tabs


def register_task(task: Task | CompareTab) -> Task | CompareTab:
    """Add ``task`` to the apps' tabs (its ``name`` must be new, its ``layout`` known)."""
    if getattr(task, "layout", None) not in LAYOUTS:
        layout = getattr(task, "layout", None)
        raise ValueError(f"{type(task).__name__}: layout must be one of {LAYOUTS}, got {layout!r}")
    if task.name in TASKS:
        raise ValueError(f"task {task.name!r} is registered twice")
    TASKS[task.name] = task
    return task


def task_of(name: str) -> Task:
    """The registered single-model task called ``name``; a :class:`DemoError` naming the choices otherwise."""
    task = TASKS.get(name)
    if task is None or task.layout != "single":
        raise DemoError(f"task must be one of {', '.join(model_tasks())}, got {str(name)[:40]!r}")
    return cast(Task, task)


def compare_of(name: str = "compare") -> CompareTab:
    """The registered "compare" tab called ``name``."""
    tab = TASKS.get(name)
    if tab is None or tab.layout != "compare":
        raise DemoError(f"no side-by-side tab called {str(name)[:40]!r}")
    return cast(CompareTab, tab)


def model_tasks() -> list[str]:
    """The names of the tasks that run one model at a time (the catalogue's tasks)."""
    return [name for name, task in TASKS.items() if task.layout == "single"]
