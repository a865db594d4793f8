"""What the reference suite runs in CI, and its open findings that the known-differences files
cannot hold yet.

JAX compiles every new shape and judges about one example a second on CI's two cores, so that its
sixty rows would take longer than the whole CI run may: under the ci profile (CI set) only JAX's
mixed row runs (compositions of every op it has, at the budget ``CI_EXAMPLES`` of
test_conformance.py), its other cells are skipped with that reason, and
``trigrad check --backend jax --profile ci`` (about 15 minutes here) runs them all.

A known-differences entry names the op that is wrong and must fail in that op's own row (else it is
stale). The two cells below fail, under the ci profile, through PyTorch's ``prod`` inside another
row's compositions, while ``prod``'s own row (with its draws) passes: an entry ``hvp[prod]`` would be
stale there. Until the finding is reduced to an edge point of ``prod`` that fails on its own, these
cells are expected failures (not strict: a pass is reported, not hidden). See docs/findings/torch.md.
"""

import pytest

from trigrad.properties.profiles import in_ci

OPEN_FINDINGS = {
    "test_hvp[torch-transpose]": "PyTorch's prod: HVP 7.45e-09 where exact is 0, at an entry of 2**-24 "
                                 "(its second derivative has terms of size 1/x)",
    "test_fanout[torch[float32]-softmax_cross_entropy]": "PyTorch's prod in float32: gradient 2.0 where exact "
                                                         "is 1.5, at an entry of 2**-149 (subnormal)",
}


JAX_IN_CI = "jax-all ops"  # the one JAX row CI runs


def pytest_collection_modifyitems(config, items):
    ci = in_ci()
    for item in items:
        if item.path.name != "test_conformance.py":
            continue
        reason = OPEN_FINDINGS.get(item.name)
        if reason is not None:
            item.add_marker(pytest.mark.xfail(reason=f"open finding: {reason}", strict=False))
        if ci and "[jax-" in item.name and not item.name.endswith(f"[{JAX_IN_CI}]"):
            item.add_marker(pytest.mark.skip(reason="CI runs JAX's mixed row only (about one example a second "
                                                    "here); trigrad check --backend jax --profile ci runs every row"))
