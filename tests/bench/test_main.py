"""``python -m bench``: a smoke run (``--quick``) never writes over the published results."""

import os

import pytest

from bench import __main__ as bench_main
from bench.common import RESULTS_DIR, RESULTS_ENV


@pytest.mark.parametrize("argv", [["--quick"], ["growth", "--quick"], ["growth", "--examples", "3", "--quick"]])
def test_quick_runs_write_to_the_quick_folder(argv, monkeypatch):
    seen = []
    monkeypatch.delenv(RESULTS_ENV, raising=False)
    monkeypatch.setattr(bench_main, "run", lambda name, args: seen.append(os.environ.get(RESULTS_ENV)))
    assert bench_main.main(argv) == 0
    assert seen and all(d == str(RESULTS_DIR / "quick") for d in seen), seen


def test_a_full_run_of_one_benchmark_writes_the_published_results(monkeypatch):
    seen = []
    monkeypatch.delenv(RESULTS_ENV, raising=False)
    monkeypatch.setattr(bench_main, "run", lambda name, args: seen.append(os.environ.get(RESULTS_ENV)))
    assert bench_main.main(["growth"]) == 0
    assert seen == [None]
