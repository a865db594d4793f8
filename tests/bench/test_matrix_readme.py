"""The README's per-library table is written by ``python -m bench matrix`` (bench/matrix.py) from the
check runs behind docs/matrix.md; here, under tests/bench/ because it reads the benchmark's own code."""

import json
import pathlib

from bench import matrix as bench_matrix
from trigrad.properties import matrix

ROOT = pathlib.Path(__file__).parents[2]


def test_the_readme_table_is_the_published_run():
    """The README's per-library table is what ``python -m bench matrix`` writes from the check runs
    behind docs/matrix.md (bench/results/matrix/), not a hand-kept copy."""
    readme = (ROOT / "README.md").read_text()
    assert bench_matrix.README_BEGIN in readme and bench_matrix.README_END in readme
    written = readme.split(bench_matrix.README_BEGIN, 1)[1].split(bench_matrix.README_END, 1)[0].strip()
    folder = ROOT / "bench" / "results" / "matrix"
    names = [n for n in bench_matrix.LIBRARIES if (folder / f"{n}.json").exists()]
    docs = [json.loads((folder / f"{n}.json").read_text()) for n in names]
    runs = {doc["backend"]: bench_matrix.run_columns(json.loads((folder / f"{name}.run.json").read_text()))
            for name, doc in zip(names, docs)}
    assert written == bench_matrix.readme_table(matrix.build(docs), docs, runs)
