"""The reference suite against HIPS autograd, MyGrad, tinygrad, Chainer, PaddlePaddle, TensorFlow and
MLX, on a smaller profile.

Every cell of the conformance table (op x property) runs with the ci profile's settings but at most
``EXAMPLES`` drawn examples (plus the op's edge points; fewer for the slowest libraries), so that the
libraries CI installs cost it seconds, not minutes; ``trigrad check --backend NAME --profile ci`` is the full run (see
docs/findings/). A cell passes, is unsupported or not applicable, or fails with a counterexample
that an entry of the library's known-differences file explains. A library that is not installed is
skipped with the reason.
"""

import pytest
from hypothesis import settings

from trigrad.properties import known, suite
from trigrad.properties.backends import BackendError, resolve

CI = settings.get_profile("ci")
# Examples per cell: 5 is enough to draw every op into compositions a few times per column.
EXAMPLES = 5
# paddle before tensorflow: importing paddle after tensorflow crashes (the adapter refuses to load
# then, and its tests skip with that reason).
LIBRARIES = ["hips", "mygrad", "tinygrad", "chainer", "paddle", "tensorflow", "mlx"]
# TensorFlow and PaddlePaddle judge a few examples a second in eager mode (and CI does not install
# them): 2 examples per cell there.
FEWER = {"tensorflow": 2, "paddle": 2}
# No allowance for trigrad's own false positives: the two this suite once met (HIPS's abs'' as
# 1/|x| - 1/|x|, tinygrad's softmax over a length-1 axis; exact 0 from cancelling terms) pass since the
# error model's floor (tests/properties/test_cancelling_formulas.py), so any failure here is a finding.


@pytest.fixture(scope="module", params=LIBRARIES)
def library(request):
    try:
        return resolve(request.param)
    except BackendError as e:
        pytest.skip(str(e))


@pytest.mark.parametrize("prop", list(suite.PROPERTIES))
def test_column(library, prop):
    entries = known.load(library)
    unexplained = []
    for row in suite.rows(library):
        cell = suite.run_cell(library, prop, row, max_examples=FEWER.get(library.name, EXAMPLES), profile=CI)
        if cell.status == "fail" and known.covering(entries, prop, cell.report) is None:
            unexplained.append(cell.report.text())
        elif cell.status == "error":
            unexplained.append(f"{prop}[{row}]: {cell.error}")
    assert not unexplained, "\n\n".join(unexplained)
