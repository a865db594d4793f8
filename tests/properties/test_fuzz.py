"""trigrad fuzz: planted bugs in new functions are found and shrunk; correct functions pass; bad
usage is one line with exit status 2; failures are replayed from the example database (a directory,
or a real Redis server); several worker processes share one database; the Python API runs under
pytest and pytest-xdist."""

import json
import os
import socket
import subprocess
import sys
import time
import types

import numpy as np
import pytest

import trigrad.autograd as F
from trigrad.properties import fuzzing
from trigrad.properties.backends import resolve
from trigrad.properties.errors import UsageError
from trigrad.properties.cli import main
from trigrad.properties.fuzzing import campaign as fuzz_campaign
from trigrad.properties.profiles import in_ci

import fuzz_catalogue as catalogue

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CATALOGUE = os.path.join(HERE, "fuzz_catalogue.py")
MAX_NODES = 3  # a counterexample is shrunk to at most this many op nodes
HANG_TIMEOUT = 1.0  # the per-example time limit in the tests of hangs
CONTROL_EXAMPLES_CI = 1500  # examples of each correct control under CI (5,000 elsewhere)


def campaign(obj, twin, **kw):
    """A deterministic campaign (derandomized, no database) of ``obj`` on the built-in core."""
    builtin = resolve("builtin")
    target = fuzzing.make_target(obj, builtin, **twin, where=f"{CATALOGUE}:{obj.__name__}")
    if obj is catalogue.SinhHangs:  # only the tests of hangs take the short limit: on a loaded machine a
        kw.setdefault("timeout", HANG_TIMEOUT)  # correct example (or a GC pause in it) can take over a second
    return fuzzing.run(target, builtin, database=None, derandomize=True, **kw)


@pytest.mark.parametrize("bug", list(catalogue.PLANTED))
def test_planted_bug_is_found_by_the_default_budget_and_shrunk(bug):
    obj, twin, prop = catalogue.PLANTED[bug]
    start = time.perf_counter()
    outcome = campaign(obj, twin)
    seconds = time.perf_counter() - start
    assert outcome.json is not None, f"{bug}: not found in {outcome.summary()}"
    found = outcome.json
    nodes = len(found["composition"]["nodes"])
    print(f"\n{bug}: found by {found['property']} after {outcome.found_after} examples "
          f"({outcome.seconds_to_find:.1f} s), {seconds:.1f} s with shrinking, {nodes} node(s): {found['formula']}")
    assert nodes <= MAX_NODES, outcome.text
    assert obj.__name__ in found["formula"]
    if prop is not None:
        assert found["property"] == prop, outcome.text
    # a report a person can act on: the three numbers or what the code did, and a reproducer
    assert found["reproducer"] and f"{obj.__name__}" in found["reproducer"]
    assert found["verdict"] is not None or found["reason"]


def test_reports_of_user_code_carry_its_traceback_or_where_it_hung():
    raised = campaign(*catalogue.PLANTED["backward raises"][:2]).text
    assert "SinhRaises.backward raised ValueError: negative input" in raised
    assert 'raise ValueError("negative input")' in raised  # the user's own line, from the traceback
    hung = campaign(*catalogue.PLANTED["backward hangs"][:2]).text
    assert f"did not return within {HANG_TIMEOUT:g} s" in hung
    assert "while np.any(x.data > 2.5)" in hung  # where it was stuck


def test_the_reproducer_runs_with_the_backend_alone_and_shows_the_bug(tmp_path):
    outcome = campaign(*catalogue.PLANTED["wrong sign"][:2])
    script = tmp_path / "repro.py"
    script.write_text(outcome.json["reproducer"])
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert out.returncode == 0, out.stderr
    printed = float(out.stdout.split("gradient wrt")[1].split(":")[1])
    assert printed == pytest.approx(-outcome.json["exact"])  # the wrong sign, as the report says


@pytest.mark.parametrize("name", list(catalogue.CORRECT))
def test_a_correct_function_passes_5000_examples(name):
    # 5,000 derandomized examples each (one to two minutes on one core); under CI, whose run is timed,
    # the first CONTROL_EXAMPLES_CI of the same examples. In process: these are about the verdicts on
    # correct code; supervision is tested on misbehaving code (tests/reliability/)
    obj, twin = catalogue.CORRECT[name]
    n = CONTROL_EXAMPLES_CI if in_ci() else 5000
    outcome = campaign(obj, twin, max_examples=n, supervised=False)
    assert outcome.report is None, outcome.text
    assert outcome.examples >= n  # (and the borrowed op's edge points first)
    # alone and in compositions with (nearly) every op of the core, under every property that applies
    assert len(outcome.combined_with) >= 30, sorted(outcome.combined_with)
    expected = {"value", "vjp", "vjp_numeric", "fanout", "purity", "determinism", "shapes"}
    if isinstance(obj, type) and issubclass(obj, F.Function):  # layers have first order only
        expected |= {"jvp", "adjoint", "hvp"}
    if twin.get("like") == "relu":
        expected.add("kink")
    assert set(outcome.by_property) == expected


def test_a_plain_callable_is_differentiated_by_the_backend():
    # (log(1 + exp(x)) written naively loses digits near x = -3, 15 ulps: a finding, "lost accuracy")
    def x_exp(x):
        return x * F.exp(x)

    assert campaign(x_exp, dict(sympy="x * exp(x)"), max_examples=300).report is None

    def x_exp_typo(x):
        return x * F.exp(-x)

    found = campaign(x_exp_typo, dict(sympy="x * exp(x)"), max_examples=300).json
    assert found["property"] == "value" and found["verdict"] == "forward wrong"


def test_like_borrows_the_ops_twin_domain_and_kinks():
    class Relu(F.Function):
        def forward(self, x):
            return np.maximum(x, 0.0)

        def backward(self, gy):
            x, = self.inputs
            return gy * (x.data > 0)

    outcome = campaign(Relu, dict(like="relu"), max_examples=300)
    assert outcome.report is None, outcome.text
    assert "kink" in outcome.by_property  # relu's kink property: at 0, any slope in [0, 1]

    class ReluBadKink(Relu):
        def backward(self, gy):
            x, = self.inputs
            return gy * ((x.data > 0) + 2.0 * (x.data == 0))  # slope 2 at the kink

    # every kink example has an entry exactly at 0; the default budget draws kink examples under any
    # Hypothesis version (300 examples drew none under 6.170.17)
    found = campaign(ReluBadKink, dict(like="relu")).json
    assert found["property"] == "kink"


# --- the twin and the domain ----------------------------------------------------------------------


@pytest.mark.parametrize("text", ["sinh(x)", "x^2 + y", "besseli(0, x)", "erf(x) * z", "log(1 + exp(x))",
                                  "Max(x, 0)", "x / (1 + Abs(x))", "2.5 * pi * x"])
def test_twins_in_sympy_parse(text):
    expr = fuzzing.parse_twin(text)
    assert expr.free_symbols


@pytest.mark.parametrize("text, says", [
    ("__import__('os').system('true')", "may only call sympy's functions by name"),
    ("x.__class__", "may only use"),
    ("(lambda: x)()", "may only call sympy's functions by name"),
    ("sin(x)[0]", "may only use"),
    ("open('f')", "neither a variable"),
    ("sinh(x", "does not parse"),
    ("sinh(w)", "neither a variable"),
    ("'x'", "not a number"),
    ("3 + 4", "does not use any of the variables"),
    ("besseli(x)", "not a sympy expression"),
    ("Piecewise((x, x > 0), (0, True))", "may only use"),
])
def test_twins_that_are_not_plain_sympy_are_refused(text, says):
    with pytest.raises(fuzzing.UsageError) as e:
        fuzzing.parse_twin(text)
    assert says in str(e.value)


def test_arity_follows_from_the_variables():
    assert fuzzing.twin_arity(fuzzing.parse_twin("sin(x)")) == 1
    assert fuzzing.twin_arity(fuzzing.parse_twin("x * y")) == 2
    assert fuzzing.twin_arity(fuzzing.parse_twin("z")) == 3


@pytest.mark.parametrize("items, says", [
    (["x"], "malformed"), (["x=1"], "malformed"), (["x=a:b"], "must be numbers"), (["x=2:1"], "LO < HI"),
    (["y=0:1"], "arguments are x"), (["x=0:inf"], "finite"),
])
def test_malformed_domains_are_refused(items, says):
    with pytest.raises(fuzzing.UsageError) as e:
        fuzzing.parse_domain(items, 1)
    assert says in str(e.value)


def test_the_domain_keeps_points_off_poles_and_kinks():
    op = fuzzing.twin_op("f", fuzzing.parse_twin("log(x) + Abs(x - 2)"), fuzzing.parse_domain(["x=0:4"], 1))
    assert op.accepts([np.array(1.0)], {})
    assert not op.accepts([np.array(1e-4)], {})  # log'(x) = 1e4: too steep, next to the pole
    assert not op.accepts([np.array(2.01)], {})  # Abs's kink at 2
    assert not op.accepts([np.array(-1.0)], {})  # outside the domain (and log is not real there)
    assert not op.analytic


# --- the command line ------------------------------------------------------------------------------


def fuzz_cli(*argv, capsys):
    code = main(["fuzz", *argv, "--database", "none", "--quiet"])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("argv, says", [
    (["no_such_module:Sinh", "--sympy", "sinh(x)"], "cannot import 'no_such_module'"),
    ([f"{CATALOGUE}:NoSuchName", "--sympy", "sinh(x)"], "has no 'NoSuchName'"),
    ([f"{CATALOGUE}:Sinh", "--sympy", "sinh(x"], "does not parse"),
    ([f"{CATALOGUE}:Sinh", "--sympy", "sinh(x)", "--domain", "x=3"], "malformed domain"),
    ([f"{CATALOGUE}:Sinh", "--sympy", "x * y"], "arity mismatch: Sinh takes 1 argument(s), the twin 2"),
    ([f"{CATALOGUE}:Sinh", "--like", "nope"], "not an op of the spec table"),
    ([f"{CATALOGUE}:Sinh", "--sympy", "log(x - 10)"], "give a --domain"),
    ([f"{CATALOGUE}:Sinh", "--sympy", "sinh(x)", "--backend", "nope"], "unknown backend"),
    ([f"{CATALOGUE}:SigmoidLayer", "--sympy", "1/(1+exp(-x))", "--backend", "tests/properties/fuzz_catalogue.py:CORRECT"],
     "not a properties.backends.Backend"),
    ([f"{CATALOGUE}:Sinh", "--sympy", "sinh(x)", "--workers", "0"], "--workers must be at least 1"),
    ([f"{CATALOGUE}:SINH", "--sympy", "sinh(x)"], "is a dict"),
    # the time limit is finite and at most a day (setitimer overflowed on inf and 1e300, and the
    # OverflowError was reported as the fuzzed function's)
    *[([f"{CATALOGUE}:Sinh", "--sympy", "sinh(x)", "--timeout", t], "--timeout must be a number of seconds above 0")
      for t in ("inf", "1e300", "nan", "0", "-1", "86401")],
])
def test_bad_usage_is_one_line_and_exit_2(argv, says, capsys):
    code, out, err = fuzz_cli(*argv, capsys=capsys)
    assert code == 2
    assert says in err and err.count("\n") == 1, err


@pytest.mark.parametrize("timeout", [float("inf"), 1e300, float("nan"), 0, -1.0, "10"])
def test_fuzz_refuses_a_time_limit_that_is_not_a_finite_number_of_seconds_up_to_a_day(timeout):
    with pytest.raises(UsageError, match="timeout must be a number of seconds above 0 and at most 86400"):
        fuzzing.fuzz(catalogue.Sinh, sympy="sinh(x)", timeout=timeout)


def test_a_day_is_the_longest_time_limit():
    assert callable(fuzzing.fuzz(catalogue.Sinh, sympy="sinh(x)", timeout=86400))


def test_cli_exits_0_with_a_summary_when_nothing_is_found(capsys, tmp_path):
    code, out, _ = fuzz_cli(f"{CATALOGUE}:Sinh", "--sympy", "sinh(x)", "--max-examples", "200", "--seed", "3",
                            "--json", str(tmp_path / "out.json"), capsys=capsys)
    assert code == 0
    assert "no finding: 200 examples" in out and "combined with" in out and "seed 3" in out
    data = json.loads((tmp_path / "out.json").read_text())
    assert data["examples"] == 200 and data["finding"] is None and data["twin"] == "sinh(x)"


def test_cli_exits_1_with_the_minimal_report(capsys):
    code, out, _ = fuzz_cli(f"{CATALOGUE}:SinhWrongSign", "--sympy", "sinh(x)", "--seed", "1", capsys=capsys)
    assert code == 1
    for part in ("composition  SinhWrongSign(x", "inputs", "autograd", "exact", "numeric", "verdict",
                 "reproduce", "from fuzz_catalogue import SinhWrongSign", "found by seed 1"):
        assert part in out, out


def test_cli_progress_shows_rate_examples_and_ops(capsys, monkeypatch):
    monkeypatch.setattr(fuzz_campaign, "PROGRESS_SECONDS", 0.0)
    main(["fuzz", f"{CATALOGUE}:Sinh", "--sympy", "sinh(x)", "--max-examples", "20", "--database", "none"])
    err = capsys.readouterr().err
    line = err.strip().splitlines()[-1]
    assert "examples (" in line and "/s)" in line and "combined with" in line


def test_seconds_bound_the_run(capsys, monkeypatch):
    """A clock that advances a second each time it is read: the run stops on time, not on a count,
    whatever the machine's speed."""
    ticks = iter(range(10**6))
    monkeypatch.setattr(fuzz_campaign, "time", types.SimpleNamespace(perf_counter=lambda: float(next(ticks))))
    code, out, _ = fuzz_cli(f"{CATALOGUE}:Sinh", "--sympy", "sinh(x)", "--seconds", "20", capsys=capsys)
    assert code == 0
    examples = int(out.split("no finding: ")[1].split()[0])
    assert 0 < examples < 20  # stopped when 20 clock seconds had passed, long before the default 1,000


# --- the example database -----------------------------------------------------------------------------


def test_a_failure_is_saved_and_replayed_first(tmp_path):
    from hypothesis.database import DirectoryBasedExampleDatabase

    builtin = resolve("builtin")
    target = fuzzing.make_target(catalogue.SinhOffBy1e7, builtin, sympy="sinh(x)")
    db = DirectoryBasedExampleDatabase(str(tmp_path / "db"))
    first = fuzzing.run(target, builtin, database=db, seed=11)
    assert first.report is not None
    again = fuzzing.run(target, builtin, database=db, seed=12)  # another seed: only the database can explain
    assert again.report is not None and again.found_after == 1


def test_a_redis_database_shares_failures_between_runs(redis_url):
    import redis

    builtin = resolve("builtin")
    target = fuzzing.make_target(catalogue.SinhOffBy1e7, builtin, sympy="sinh(x)")
    first = fuzzing.run(target, builtin, database=fuzzing.open_database(redis_url), seed=21)
    assert first.report is not None
    assert redis.Redis.from_url(redis_url).keys("hypothesis-example:*")  # saved on the server
    # a second "machine": its own connection and seed; the saved failure comes first
    again = fuzzing.run(target, builtin, database=fuzzing.open_database(redis_url), seed=22)
    assert again.report is not None and again.found_after == 1


def test_an_unreachable_redis_is_bad_usage(capsys):
    pytest.importorskip("redis")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once closed
    code = main(["fuzz", f"{CATALOGUE}:Sinh", "--sympy", "sinh(x)", "--database", f"redis://127.0.0.1:{port}"])
    err = capsys.readouterr().err
    assert code == 2 and "cannot reach the redis server" in err


def test_workers_run_distinct_seeds_and_the_first_finding_stops_them(tmp_path):
    run = [sys.executable, "-m", "trigrad.properties", "fuzz", "--quiet", "--database", str(tmp_path / "db"), "--seed", "5",
           "--workers", "2"]
    ok = subprocess.run(run + [f"{CATALOGUE}:Sinh", "--sympy", "sinh(x)", "--max-examples", "40"],
                        capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "no finding: 80 examples" in ok.stdout and "2 workers" in ok.stdout
    bad = subprocess.run(run + [f"{CATALOGUE}:SinhWrongFactor", "--sympy", "sinh(x)"],
                         capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "SinhWrongFactor(x" in bad.stdout and "found by seed" in bad.stdout


# --- the Python API under pytest ------------------------------------------------------------------


def test_the_readme_example_runs_under_pytest_xdist(tmp_path):
    example = os.path.join(ROOT, "docs", "examples", "test_sinh.py")
    broken = tmp_path / "test_broken.py"
    broken.write_text("import sys\nsys.path.insert(0, %r)\nfrom fuzz_catalogue import SinhWrongSign\n"
                      "from trigrad.properties import fuzz\n\ntest_wrong_sign = fuzz(SinhWrongSign, sympy='sinh(x)')\n" % HERE)
    env = dict(os.environ, CI="true")  # the ci profile: derandomized, no database
    out = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "2", "-q", example,
                          str(broken)], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600)
    assert "2 passed" in out.stdout and "1 failed" in out.stdout, out.stdout[-3000:]
    assert "test_wrong_sign" in out.stdout and "SinhWrongSign(x" in out.stdout


def test_the_api_refuses_bad_arguments_when_the_test_is_made():
    with pytest.raises(fuzzing.UsageError, match="exactly one"):
        fuzzing.fuzz(catalogue.Sinh)
    with pytest.raises(fuzzing.UsageError, match="layers run on the backends with DeZero's API"):
        pytest.importorskip("torch")
        fuzzing.fuzz(catalogue.SigmoidLayer, sympy="1/(1+exp(-x))", backend="torch")
