"""Compiled programs kept on disk (oracle.program_cache): a program read back computes exactly what a
fresh compile does, a changed oracle or a damaged file is never read, and the cache can be turned off."""

import json
import os

import mpmath
import numpy as np
import pytest

from trigrad.oracle import program_cache, spec, symbolic
from trigrad.oracle.ir import Composition, Input, Node
from trigrad.oracle.symbolic import Oracle

# elementwise (with a constant argument), array ops with params, a Heaviside (max) and a Piecewise (abs)
CASES = [("gelu", {}, ((),), (None,)), ("pow", {}, ((), ()), (None, 3.0)), ("abs", {}, ((),), (None,)),
         ("std", {"axis": 1, "keepdims": False, "ddof": 1}, ((2, 3),), (None,)),
         ("max", {"axis": None, "keepdims": False}, ((3,),), (None,)), ("softmax", {"axis": -1}, ((2, 2),), (None,))]


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TRIGRAD_CACHE", str(tmp_path))
    monkeypatch.setattr(symbolic, "_PROGRAMS", {})
    return tmp_path


def _program(name, params, shapes, const):
    op = spec.get(name)
    return symbolic._program(op, spec.check_params(op, params), shapes, const)


def _outputs(prog, n, seed):
    args = [mpmath.mpf(float(v)) for v in np.random.default_rng(seed).uniform(-1.5, 1.5, n)]
    return [str(v) for v in prog.fn(*args)], [str(v) for v in prog.magnitudes(*args)]


@pytest.mark.parametrize("name, params, shapes, const", CASES, ids=[c[0] for c in CASES])
def test_a_program_read_back_computes_what_a_fresh_compile_does(cache, monkeypatch, name, params, shapes, const):
    fresh = _program(name, params, shapes, const)
    assert len(list(cache.iterdir())) == 1
    monkeypatch.setattr(symbolic, "_PROGRAMS", {})
    compiled = []
    monkeypatch.setattr(symbolic, "_compile", lambda *a: compiled.append(a))  # a read must not compile
    read = _program(name, params, shapes, const)
    assert compiled == [] and read is not fresh
    n = len(shapes) if spec.get(name).elementwise else sum(int(np.prod(s)) for s in shapes)
    for seed in range(3):
        assert _outputs(read, n, seed) == _outputs(fresh, n, seed)
    for field in symbolic._PROGRAM_FIELDS:
        assert getattr(read, field) == getattr(fresh, field), field
    assert (read.fn_ball is None) == (fresh.fn_ball is None)


def test_an_oracle_gives_the_same_answers_cold_and_warm(cache, monkeypatch):
    comp = Composition([Input("x0", (2, 3))], [Node("std", ("x0",), {"axis": 1, "keepdims": False, "ddof": 1}),
                                               Node("max", ("n0",), {"axis": None, "keepdims": False}),
                                               Node("gelu", ("n1",))])
    x = {"x0": np.array([[0.5, -1.0, 2.0], [0.25, 1.5, -0.75]])}

    def answers():
        o = Oracle(comp, x)
        v, g = o.value(), o.vjp(np.array(1.25))["x0"]
        h = o.hvp(np.array(1.25), {"x0": np.ones((2, 3))})["x0"]
        return [a.tolist() for e in (v, g, h) for a in (e.value, e.bound())]

    cold = answers()
    assert len(list(cache.iterdir())) == 3
    monkeypatch.setattr(symbolic, "_PROGRAMS", {})
    monkeypatch.setattr(symbolic, "_compile", lambda *a: pytest.fail("compiled although kept"))
    assert answers() == cold


def test_a_changed_oracle_or_a_damaged_file_is_compiled_again(cache, monkeypatch):
    first = _program(*CASES[3])
    (path,) = cache.iterdir()
    # another fingerprint (an edited spec or oracle, another sympy): another name, never the old file
    monkeypatch.setattr(symbolic, "_PROGRAMS", {})
    monkeypatch.setattr(program_cache, "fingerprint", lambda: "another")
    _program(*CASES[3])
    assert len(list(cache.iterdir())) == 2
    monkeypatch.undo()
    monkeypatch.setenv("TRIGRAD_CACHE", str(cache))
    # a damaged file: compiled again and rewritten
    for damage in ("{not json", json.dumps({"format": program_cache.FORMAT, "key": "another key"})):
        path.write_text(damage)
        monkeypatch.setattr(symbolic, "_PROGRAMS", {})
        again = _program(*CASES[3])
        assert _outputs(again, 6, 0) == _outputs(first, 6, 0)
        assert json.loads(path.read_text())["fingerprint"] == program_cache.fingerprint()
    # code that does not run is compiled again too
    record = json.loads(path.read_text())
    path.write_text(json.dumps(dict(record, fn="def broken(:")))
    monkeypatch.setattr(symbolic, "_PROGRAMS", {})
    assert _outputs(_program(*CASES[3]), 6, 0) == _outputs(first, 6, 0)


def test_the_cache_can_be_turned_off_and_a_fuzzed_function_is_never_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(symbolic, "_PROGRAMS", {})
    monkeypatch.chdir(tmp_path)
    for off in ("none", "off", ""):
        monkeypatch.setenv("TRIGRAD_CACHE", off)
        assert program_cache.folder() is None
        _program(*CASES[0])
        monkeypatch.setattr(symbolic, "_PROGRAMS", {})
    assert list(tmp_path.iterdir()) == []
    monkeypatch.delenv("TRIGRAD_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert program_cache.folder() == os.path.join(str(tmp_path / "xdg"), "trigrad", "programs")
    monkeypatch.setenv("TRIGRAD_CACHE", str(tmp_path / "kept"))
    twin = spec.get("sin")
    fuzzed = spec.Op(**{**{f: getattr(twin, f) for f in twin.__dataclass_fields__}, "name": "my_sin"})
    with spec.registered(fuzzed):
        symbolic._program(fuzzed, {}, ((),), (None,))
    assert not (tmp_path / "kept").exists()


def test_an_unwritable_folder_is_not_an_error(tmp_path, monkeypatch):
    blocker = tmp_path / "a file"
    blocker.write_text("")
    monkeypatch.setenv("TRIGRAD_CACHE", str(blocker / "programs"))
    monkeypatch.setattr(symbolic, "_PROGRAMS", {})
    prog = _program(*CASES[3])
    assert prog.fn is not None and program_cache.load(("std",)) is None
