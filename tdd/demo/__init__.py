"""The UI-independent core of the apps (``app/main.py`` for Gradio, ``app/streamlit_app.py``).

Both apps only lay out widgets; everything else is here, so they cannot drift apart:

- which models exist (the bundled ones and checkpoint directories under a runs folder), loaded once;
- turning an upload into the model's input, with a clear :class:`DemoError` for bad files;
- streaming a run: :func:`stream` consumes the library's sampler generator and yields the growing
  :class:`Run` after every denoising step (the loop itself is never re-implemented here);
- pinning words for infilling, the sentence view as HTML, the figures (from :mod:`tdd.viz`), the
  truth beside the answer for the bundled examples, and the exports (JSON trajectory, animated GIF).

One concern per module: :mod:`~tdd.demo.common` (tasks, words on the page, :class:`DemoError`),
:mod:`~tdd.demo.catalogue` (which models, loaded once), :mod:`~tdd.demo.inputs` (uploads, settings,
pins), :mod:`~tdd.demo.run` (streaming), :mod:`~tdd.demo.views` (HTML and figures),
:mod:`~tdd.demo.truth`, :mod:`~tdd.demo.export`, :mod:`~tdd.demo.typed` (a typed emoji as the input),
:mod:`~tdd.demo.canvas` (what each task's drawing
canvas offers), :mod:`~tdd.demo.task` (what a tab is, and the registry of tabs), :mod:`~tdd.demo.tasks`
(caption vs classify, said once) and :mod:`~tdd.demo.compare` (the "Side by side" tab). Everything is
re-exported here, so the apps say ``from tdd import demo as core`` and ``core.stream(...)``.
"""

from tdd.demo.canvas import Canvas, has_drawing, same_drawing  # noqa: F401
from tdd.demo.catalogue import (  # noqa: F401
    Loaded,
    add_operator_models,
    available_models,
    catalogue,
    check_method,
    check_model,
    checkpoint_meta,
    class_names,
    load,
    operator_models,
    runs_dir,
    trained_on,
)
from tdd.demo.common import (  # noqa: F401
    CLASS_LEGEND,
    COLOUR_LEGEND,
    FREE_WORD,
    HEATMAP_TOP,
    MAX_STEPS,
    METHODS,
    MODELS_ENV,
    ONE_SENTENCE,
    RUNS_DIR_ENV,
    DemoError,
)
from tdd.demo.compare import CompareTask  # noqa: F401
from tdd.demo.export import (  # noqa: F401
    EXPORT_MAX_AGE_ENV,
    EXPORT_ROOT_ENV,
    export_dir,
    export_gif,
    export_json,
    export_root,
)
from tdd.demo.inputs import (  # noqa: F401
    Settings,
    flatten_drawing,
    image_input,
    parse_pins,
    settings_from,
)
from tdd.demo.run import (  # noqa: F401
    MAX_SAMPLES,
    PACES,
    VIEWS,
    Run,
    all_views,
    live_views,
    run_to_end,
    several_samples,
    stream,
    timing_text,
    warm_up,
)
from tdd.demo.task import LAYOUTS, TASKS, CompareTab, Task, compare_of, model_tasks, register_task, task_of  # noqa: F401
from tdd.demo.tasks import CaptionTask, ClassifyTask, EmojiTask, EmojiWordsTask  # noqa: F401  (registers the built-in tabs)
from tdd.demo.truth import (  # noqa: F401
    domain_note,
    example_truths,
    name_html,
    trained_on_scenes,
    truth_html,
    truth_of,
    word_marks,
)
from tdd.demo.typed import Typed, TypedEmoji, typed_dir  # noqa: F401
from tdd.demo.views import (  # noqa: F401
    PAD_MARK,
    SURE_DIGITS,
    bars_figure,
    busiest_position,
    confidence_shade,
    entropy_figure,
    heatmap_figure,
    history_html,
    message_html,
    positions,
    samples_html,
    sentence_html,
    sentence_text,
    step_label,
)
from tdd.rng import MAX_SEED  # noqa: F401
