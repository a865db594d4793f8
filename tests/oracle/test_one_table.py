"""One table, one truth: an op's name appears in trigrad's sources only where the op is defined.

The places allowed are (a) the spec table, ``oracle/spec.py``, outside its class bodies (``Op``,
``Param``, ``Notation``... are the generic machinery every op goes through, so they must never single
one out); (b) the core's implementation, ``autograd/functions.py`` and the numpy helpers of
``autograd/utils.py`` it is built on; (c) each built-in backend adapter,
``properties/backends/{builtin,torch,jax,dezero}.py``, on one line per op: its table row. Anywhere
else in ``autograd/``, ``oracle/`` or ``properties/`` a name means op knowledge that leaked out of
the table, and adding an op would have to find and edit it.

What counts as an occurrence, read from the syntax tree (comments and docstrings are prose and do not
count):

- a string literal equal to an op name: ``"clip"``, ``'matmul'`` (how code looks an op up or
  compares against it: ``spec.get("add")``, ``node.op == "neg"``, a dict key);
- an identifier equal to an op name (a variable, an attribute as in ``F.sigmoid``, a def, a
  parameter, a keyword argument, an imported name), but only for names that collide with nothing
  else. ``sum``, ``max``, ``abs``, ``pow``, ``exp``, ``tan``, ``sub`` ... are also names of Python's
  builtins or of the ``operator``, ``math`` and ``numpy`` modules, and the sources use them as such
  everywhere (``np.exp``, ``max(a, b)``, ``sub`` for argparse's subparsers): for those only string
  literals count.

Names inside longer strings do not count either (messages name ops in prose, HTML has ``<div>``), and
a string equal to an op name that means something else is listed in ``NOT_OPS`` with the reason;
each entry must still be needed.

``bench/`` is not read, nor ``properties/planted.py`` (``USES_OPS``): like the tests, the benchmarks
and the planted-bug catalogue they share with the tests use ops (a workload composes ``sin`` and
``mul``; a planted bug says which op it breaks) rather than define them, and adding an op changes
nothing there.
"""

from __future__ import annotations

import ast
import builtins
import math
import operator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from trigrad.oracle import spec
from trigrad.properties.backends import BUILTIN_NAMES

ROOT = Path(__file__).resolve().parents[2]
READ = ("autograd", "oracle", "properties")
SPEC = "oracle/spec.py"
CORE = ("autograd/functions.py", "autograd/utils.py")
ADAPTERS = tuple(f"properties/backends/{name}.py" for name in BUILTIN_NAMES)
# Files under READ that use ops as data rather than define them (see the module docstring).
USES_OPS = {
    "properties/planted.py": "the planted-bug catalogue: the op each bug breaks and the ops its examples compose",
}
# (file, op name, part of its line): string literals equal to an op name that do not mean the op.
NOT_OPS = {
    ("properties/accuracy.py", "max", 'head = ["op", "derivative", "points", "median", "max", "at x"'):
        "a column of the accuracy table (the largest ULP error)",
}


@dataclass(frozen=True)
class Occurrence:
    name: str
    line: int
    column: int
    what: str  # "string" or "identifier"
    in_class: bool  # inside a class body


def collides(name: str) -> bool:
    """Whether ``name`` is also a name of Python's builtins or of the operator, math or numpy modules."""
    return any(hasattr(module, name) for module in (builtins, operator, math, np))


def occurrences(source: str, names) -> list[Occurrence]:
    """Every occurrence of one of ``names`` in Python ``source``, by the rules of this module's docstring."""
    tree = ast.parse(source)
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
    in_class = {id(n) for c in ast.walk(tree) if isinstance(c, ast.ClassDef) for n in ast.walk(c)}
    names = set(names)
    distinctive = {n for n in names if not collides(n)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            hits, what = ([node.value] if node.value in names and id(node) not in docstrings else []), "string"
        else:
            hits, what = [n for n in _identifiers(node) if n in distinctive], "identifier"
        found += [Occurrence(n, node.lineno, node.col_offset, what, id(node) in in_class) for n in hits]
    return sorted(found, key=lambda o: (o.line, o.column))


def _identifiers(node) -> list[str]:
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, ast.Attribute):
        return [node.attr]
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, (ast.arg, ast.keyword)):
        return [node.arg] if node.arg else []
    if isinstance(node, ast.alias):
        return [n.split(".")[-1] for n in (node.name, node.asname) if n]
    return []


def sources() -> dict[str, str]:
    """Every Python source file the rule reads, by its path relative to the repository."""
    return {p.relative_to(ROOT).as_posix(): p.read_text(encoding="utf-8")
            for folder in READ for p in sorted((ROOT / folder).rglob("*.py"))}


def leaks(files: dict[str, str], names) -> list[str]:
    """Every place that names an op where the rule does not allow it, as a sentence saying where."""
    out = []
    for path, text in files.items():
        lines = text.splitlines()
        found = occurrences(text, names)
        if path in CORE or path in USES_OPS:
            continue
        if path == SPEC:
            out += [f"{path}:{o.line}: {o.name!r} inside a class body of the spec (the generic machinery must "
                    f"not single out an op; put the fact in the op's entry)" for o in found if o.in_class]
            continue
        if path in ADAPTERS:
            out += _adapter_leaks(path, found)
            continue
        for o in found:
            if not _not_op(path, o, lines):
                out.append(f"{path}:{o.line}: the {o.what} {o.name!r} hard-codes an op outside the spec table; "
                           f"make it a fact of the op's entry in {SPEC} and read it from there")
    return out


def _adapter_leaks(path: str, found: list[Occurrence]) -> list[str]:
    # An op's row is the line of its name as a string (the table's key). The library's function of
    # another op's name used inside a row (jax.nn.log_softmax in softmax_cross_entropy's) is a
    # building block of that row, not a second place naming the op.
    rows: dict[int, set] = {}
    for o in found:
        if o.what == "string":
            rows.setdefault(o.line, set()).add(o.name)
    out = []
    for name in sorted({o.name for o in found}):
        where = sorted({o.line for o in found if o.name == name and name in rows.get(o.line, {name})})
        if len(where) > 1:
            out.append(f"{path}: {name!r} on lines {where}: an adapter names each op in one row of its table")
    return out


def _not_op(path: str, o: Occurrence, lines: list[str]) -> bool:
    return any((p, n) == (path, o.name) and part in lines[o.line - 1] for p, n, part in NOT_OPS)


def test_op_names_appear_only_in_the_spec_the_core_and_one_row_per_adapter():
    problems = leaks(sources(), spec.OPS)
    assert not problems, "\n".join(problems)


def test_every_string_that_is_not_an_op_is_still_there():
    files = sources()
    for (path, name, part), why in NOT_OPS.items():
        lines = files[path].splitlines()
        hits = [o for o in occurrences(files[path], [name]) if part in lines[o.line - 1]]
        assert hits, f"NOT_OPS lists {name!r} in {path} ({why}) but that line is gone: remove the entry"


def test_every_file_that_uses_ops_is_still_there():
    files = sources()
    for path, why in USES_OPS.items():
        assert path in files, f"USES_OPS lists {path} ({why}) but it is gone: remove the entry"


def test_the_rule_reads_every_op_where_it_lives():
    # the scan is not vacuous: every op of the table is found in its entry, and the backend
    # adapters' tables are read
    files = sources()
    in_spec = {o.name for o in occurrences(files[SPEC], spec.OPS)}
    assert in_spec == set(spec.OPS), set(spec.OPS) - in_spec
    in_adapters = {o.name for path in ADAPTERS for o in occurrences(files[path], spec.OPS)}
    assert len(in_adapters) > len(spec.OPS) // 2


@pytest.mark.parametrize("planted, found", [
    ('if op.name == "clip":\n    pass', [("clip", 1, "string")]),
    ("ordered = node.op in ('sub', 'div')", [("sub", 1, "string"), ("div", 1, "string")]),
    ("y = F.sigmoid(x)", [("sigmoid", 1, "identifier")]),
    ("def relu(x):\n    return x", [("relu", 1, "identifier")]),
    ("f(x, softmax=True)", [("softmax", 1, "identifier")]),
    # not occurrences: names that are also numpy's, builtins or operator's; prose; longer strings
    ("y = np.exp(x) + max(a, b) + operator.sub(a, b)", []),
    ('def f():\n    """Apply clip, then sum."""\n    # clip here\n    return "clip needs lo < hi"', []),
])
def test_what_counts_as_an_occurrence(planted, found):
    assert [(o.name, o.line, o.what) for o in occurrences(planted, spec.OPS)] == found


def test_a_planted_name_is_a_leak_with_a_message_that_says_where():
    files = {"properties/strategies.py": 'def _params(op):\n    if op.name == "clip":\n        return None\n',
             "properties/backends/torch.py": '_ROWS = {"sin": 1, "cos": 2}\n_COMPLEX = {"sin"}\n'
                                             '_X = {"exp": t.sigmoid(x)}\n_Y = t.sigmoid\n_Z = t.sigmoid(y)\n',
             SPEC: 'class Op:\n    def f(self):\n        return self.name == "neg"\n\n_E = ("neg",)\n',
             CORE[0]: 'def clip(x):\n    return "clip"\n'}
    assert leaks(files, spec.OPS) == [
        "properties/strategies.py:2: the string 'clip' hard-codes an op outside the spec table; make it a fact "
        "of the op's entry in oracle/spec.py and read it from there",
        "properties/backends/torch.py: 'sigmoid' on lines [4, 5]: an adapter names each op in one row of its table",
        "properties/backends/torch.py: 'sin' on lines [1, 2]: an adapter names each op in one row of its table",
        "oracle/spec.py:3: 'neg' inside a class body of the spec (the generic machinery must not single out an "
        "op; put the fact in the op's entry)",
    ]
