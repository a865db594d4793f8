"""What the reference suite runs in CI, and its open findings that the known-differences files
cannot hold yet.

JAX compiles every new shape and judges about one example a second on CI's two cores, so that its
sixty rows would take longer than the whole CI run may: under the ci profile (CI set) only JAX's
mixed row runs (compositions of every op it has, at the budget ``CI_EXAMPLES`` of
test_conformance.py), its other cells are skipped with that reason, and
``trigrad check --backend jax --profile ci`` (about 15 minutes here) runs them all.

PyTorch's ``prod`` fails at tiny and subnormal entries inside other rows' compositions (second
order in float64, gradient and second order in float32; docs/findings/torch.md). Its known
differences (``hvp[prod] @float64``, ``prod @float32``) keep it out of the other cells, but its own
row's draws do not reach such entries, so its own cells would be reported stale: they are expected
failures here (not strict: a pass is reported, not hidden) until the finding is reduced to an edge
point of ``prod``.
"""

import pytest

from trigrad.properties.profiles import in_ci

OPEN_FINDINGS = {
    "test_hvp[torch-prod]": "PyTorch's prod at tiny entries (hvp[prod] @float64): its own row's draws miss them",
}
# every cell of this row (prod @float32)
OPEN_ROWS = {"torch[float32]-prod": "PyTorch's prod at tiny and subnormal float32 entries: its own row's draws miss them"}


JAX_IN_CI = "jax-all ops"  # the one JAX row CI runs


def pytest_collection_modifyitems(config, items):
    ci = in_ci()
    for item in items:
        if item.path.name != "test_conformance.py":
            continue
        reason = OPEN_FINDINGS.get(item.name) or next((r for row, r in OPEN_ROWS.items()
                                                        if item.name.endswith(f"[{row}]")), None)
        if reason is not None:
            item.add_marker(pytest.mark.xfail(reason=f"open finding: {reason}", strict=False))
        if ci and "[jax-" in item.name and not item.name.endswith(f"[{JAX_IN_CI}]"):
            item.add_marker(pytest.mark.skip(reason="CI runs JAX's mixed row only (about one example a second "
                                                    "here); trigrad check --backend jax --profile ci runs every row"))
