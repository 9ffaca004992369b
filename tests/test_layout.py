"""The layout rules of CONTRIBUTING.md, checked: small files and functions in the library, the models
apart from the training side, and no script imported as a module through ``sys.path`` edits."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_FILE_LINES, MAX_FUNCTION_LINES = 400, 80
NOT_YET_SPLIT: set[str] = set()  # files allowed past the limit while they are being split (none now)


def _library() -> list[Path]:
    return sorted((ROOT / "tdd").rglob("*.py"))


def test_library_files_and_functions_are_small():
    long_files, long_functions = [], []
    for path in _library():
        name = path.relative_to(ROOT).as_posix()
        source = path.read_text(encoding="utf-8")
        if source.count("\n") > MAX_FILE_LINES and name not in NOT_YET_SPLIT:
            long_files.append(f"{name}: {source.count(chr(10))} lines")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long_functions.append(f"{name}:{node.lineno} {node.name}: {length} lines")
    assert not long_files, long_files
    assert not long_functions, long_functions


def test_the_models_do_not_import_the_training_side():
    offenders = []
    for path in sorted((ROOT / "tdd" / "models").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            offenders += [f"{path.name}: {n}" for n in names if n == "tdd.training" or n.startswith("tdd.training.")]
    assert not offenders, offenders


def test_no_sys_path_edits_anywhere():
    """The training scripts run from the installed package (what they share is ``tdd.training.scripts``);
    experiments, notebooks, tests, the apps and the library run scripts as processes, not as imports."""
    places = [ROOT / d for d in ("tdd", "app", "train", "experiments", "tests", "notebooks", "scripts")]
    files = [p for d in places for p in d.rglob("*") if p.suffix in (".py", ".ipynb") and p.name != "test_layout.py"]
    offenders = [p.relative_to(ROOT).as_posix() for p in files if "sys.path.insert" in p.read_text(encoding="utf-8")]
    assert not offenders, offenders


def _string_constants(path: Path) -> list[tuple[int, str]]:
    return [(node.lineno, node.value) for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.Constant) and isinstance(node.value, str)]  # fmt: skip


def test_no_model_type_is_spelled_outside_the_models():
    """The table of kinds is the models' own (``task``, ``method``, ``noise_process``): sampling, the Hub
    card, the app's catalogue, the bench and the scripts read it instead of naming a ``model_type``."""
    from tdd.models import MODELS

    types = set(MODELS)
    places = [ROOT / d for d in ("tdd", "app", "train", "experiments", "scripts")]
    files = [p for d in places for p in d.rglob("*.py") if (ROOT / "tdd" / "models") not in p.parents]
    offenders = [f"{p.relative_to(ROOT).as_posix()}:{line} {text!r}" for p in files
                 for line, text in _string_constants(p) if text in types]  # fmt: skip
    assert not offenders, offenders


def test_a_seed_becomes_a_generator_in_tdd_rng_only():
    """``tdd.rng.generator`` (and its kin) is the one place: elsewhere ``manual_seed`` is not called."""
    offenders = []
    for path in _library():
        if path.name == "rng.py" and path.parent.name == "tdd":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr == "manual_seed":
                offenders.append(f"{path.relative_to(ROOT).as_posix()}:{node.lineno}")
    assert not offenders, offenders


def test_the_sampling_timesteps_are_worked_out_in_one_place():
    """``tdd.timesteps.set_timesteps`` (diffusers' ``set_timesteps``): the samplers loop over what it gives;
    no other module respaces or spaces timesteps itself."""
    allowed = {"tdd/timesteps.py", "tdd/schedule.py"}
    offenders = []
    for path in _library():
        name = path.relative_to(ROOT).as_posix()
        if name in allowed:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            called = node.func if isinstance(node, ast.Call) else None
            attr = called.attr if isinstance(called, ast.Attribute) else getattr(called, "id", "")
            if attr in ("respace", "informative_spacing", "explicit_spacing"):
                offenders.append(f"{name}:{node.lineno} {attr}")
    assert not offenders, offenders
