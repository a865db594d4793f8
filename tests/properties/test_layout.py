"""properties/ shows its parts: imports flow one way (the command -> the tools -> the harness -> the
oracle), and no import hides inside a function except those listed here with the reason."""

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
PROPERTIES = ROOT / "properties"
PACKAGE = "trigrad.properties"
# what the subcommands run (executor and cluster: where their pieces run, fuzz shards included)
TOOLS = {"accuracy", "html_report", "plots", "planted", "fuzzing", "findings", "matrix", "documents", "executor",
         "cluster"}
COMMANDS = {"cli", "plugin"}  # the command line's entry point, and pytest's (nothing imports either)
# Imports that may stand inside a function, and why.
DEFERRED = {
    # optional libraries: an extra the user may not have installed, imported only where it is used
    "matplotlib": "the plot extra",
    "matplotlib.pyplot": "the plot extra",
    "redis": "the redis extra",
    "dask.config": "the cluster extra",
    "distributed": "the cluster extra",
    "hypothesis.extra.redis": "the redis extra (it imports redis)",
    "torch": "a backend library",
    "jax": "a backend library",
    "jax.numpy": "a backend library",
    "jax.scipy.special": "a backend library",
    "dezero.functions": "a backend library",
    "mygrad": "a backend library",
    "mygrad.nnet": "a backend library",
    "tinygrad": "a backend library",
    "tensorflow": "a backend library",
    "keras": "a backend library (TensorFlow's Keras, for elu with alpha)",
    "paddle": "a backend library",
    "paddle.incubate.autograd": "a backend library",
    "paddle.nn.functional": "a backend library",
    "mlx.core": "a backend library",
    "mlx.nn": "a backend library",
    # the pytest plugin is loaded by every pytest session: trigrad's machinery only when it is used
    f"{PACKAGE}.backends": "the plugin, once a backend is named or used",
    f"{PACKAGE}.known": "the plugin, once a trigrad test has run",
    f"{PACKAGE}.suite": "the plugin, once a trigrad test has run",
    f"{PACKAGE}.evidence": "the plugin, once a trigrad test has run",
    f"{PACKAGE}.errors": "the plugin, once a backend is named or used",
    f"{PACKAGE}.fuzzing.sandbox": "the plugin, once a backend is named or used (supervised)",
    f"{PACKAGE}.fuzzing.supervise": "the plugin, once a backend is named or used (supervised)",
}


def _modules():
    for path in sorted(PROPERTIES.rglob("*.py")):
        parts = path.relative_to(PROPERTIES).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield ".".join((PACKAGE,) + parts), path


def _is_module(name: str) -> bool:
    rel = name.removeprefix(PACKAGE).lstrip(".").replace(".", "/")
    return (PROPERTIES / f"{rel}.py").is_file() or (PROPERTIES / rel / "__init__.py").is_file()


def _imports(module: str, path: pathlib.Path):
    """(imported module, line, inside a function or class) for every import of the file."""
    tree = ast.parse(path.read_text())
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    nested = {id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
              for n in ast.walk(f) if n is not f}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno, id(node) in nested
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:
                full = f"{base}.{alias.name}"
                yield (full if base.startswith(PACKAGE) and _is_module(full) else base), node.lineno, id(node) in nested


def _part(module: str) -> str:
    """command, tool or harness: what a module of trigrad.properties belongs to."""
    first = module.removeprefix(PACKAGE).lstrip(".").split(".")[0]
    return "command" if first in COMMANDS else "tool" if first in TOOLS else "harness"


def test_imports_flow_from_the_command_to_the_tools_to_the_harness():
    allowed = {"command": {"command", "tool", "harness"}, "tool": {"tool", "harness"}, "harness": {"harness"}}
    wrong = []
    for module, path in _modules():
        if module in (PACKAGE, f"{PACKAGE}.__main__"):  # the package's face and python -m: the command is theirs
            continue
        for name, line, _ in _imports(module, path):
            if name.startswith(PACKAGE + ".") and _part(name) not in allowed[_part(module)]:
                wrong.append(f"{path.relative_to(ROOT)}:{line}: a {_part(module)} imports {name} ({_part(name)})")
    assert not wrong, "\n".join(wrong)


def test_no_import_hides_inside_a_function_without_a_reason():
    hidden = [f"{path.relative_to(ROOT)}:{line}: import {name}"
              for module, path in _modules() for name, line, nested in _imports(module, path)
              if nested and name not in DEFERRED]
    assert not hidden, "\n".join(hidden)


def test_the_oracle_and_the_core_never_import_properties():
    for folder in ("oracle", "autograd"):
        for path in (ROOT / folder).rglob("*.py"):
            assert "trigrad.properties" not in path.read_text(), path


def test_tests_do_not_depend_on_the_benchmarks():
    """Tests import no module of bench/ (the benchmarks import shared catalogues from the package or
    from tests/, never the other way round); only tests/bench/, the benchmarks' own smoke tests, do."""
    tests = ROOT / "tests"
    offenders = []
    for path in sorted(tests.rglob("*.py")):
        if path.is_relative_to(tests / "bench"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            offenders += [f"{path.relative_to(ROOT)}:{node.lineno} imports {n}"
                          for n in names if n == "bench" or n.startswith("bench.")]
    assert not offenders, offenders
