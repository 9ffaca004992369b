"""The layout rules of CONTRIBUTING.md, checked: small files and functions in the library, the models
apart from the training side, and no script imported as a module through ``sys.path`` edits."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_FILE_LINES, MAX_FUNCTION_LINES = 400, 80
NOT_YET_SPLIT: set[str] = set()  # files allowed past the limit while they are being split (none now)


def _library() -> list[Path]:
    return sorted((ROOT / "tdd").rglob("*.py"))


def test_files_and_functions_are_small():
    """The library, the apps, the training scripts, the experiments and the scripts alike."""
    long_files, long_functions = [], []
    places = ("tdd", "app", "train", "experiments", "scripts")
    for path in sorted(p for d in places for p in (ROOT / d).rglob("*.py")):
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


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, modules: set[str]) -> tuple[set[str], list[tuple[int, str]]]:
    """(the package modules ``path`` imports at its top — not under ``TYPE_CHECKING`` —, its function-local
    import statements as (line, text))."""
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    top: set[str] = set()
    local: list[tuple[int, str]] = []

    def visit(body: list, in_function: bool) -> None:
        for node in body:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                if in_function:
                    local.append((node.lineno, "\n".join(lines[node.lineno - 1 : node.end_lineno])))
                elif isinstance(node, ast.Import):
                    top.update(a.name for a in node.names if a.name in modules)
                elif node.module and node.level == 0:
                    for a in node.names:
                        full = f"{node.module}.{a.name}"
                        top.add(full if full in modules else node.module)
            for name in ("body", "orelse", "finalbody", "handlers"):
                inner = getattr(node, name, None)
                if isinstance(inner, list):
                    visit(inner, in_function or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)))

    visit(ast.parse(source).body, False)
    return top & modules, local


def _graph() -> dict[str, set[str]]:
    paths = {_module_name(p): p for p in _library()}
    return {name: _imports(path, set(paths))[0] - {name} for name, path in paths.items()}


def test_the_library_has_no_import_cycle():
    """Breaking a circle means moving what both sides need to a lower module, not importing inside a function."""
    graph, state, cycles = _graph(), {}, []

    def walk(node: str, stack: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycles.append(" → ".join(stack[stack.index(nxt) :] + [nxt]))
            elif nxt not in state:
                walk(nxt, [*stack, nxt])
        state[node] = "done"

    for name in sorted(graph):
        if name not in state:
            walk(name, [name])
    assert not cycles, cycles


def test_function_local_imports_say_why():
    """Imports sit at the top of a module; one inside a function (heavy and optional, or a fast CLI start)
    says why in a comment."""
    modules = {_module_name(p) for p in _library()}
    silent = [f"{path.relative_to(ROOT).as_posix()}:{line}" for path in _library()
              for line, text in _imports(path, modules)[1] if "#" not in text]  # fmt: skip
    assert not silent, silent


def test_the_data_side_does_not_import_the_training_side():
    graph = _graph()
    offenders = [f"{m} → {t}" for m, targets in graph.items() if m.startswith("tdd.data")
                 for t in targets if t == "tdd.training" or t.startswith("tdd.training.")]  # fmt: skip
    assert not offenders, offenders
