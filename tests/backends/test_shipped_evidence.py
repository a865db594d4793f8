"""The kept counterexamples that ship for the newer adapters (properties/known/<name>.examples.json,
written by ``python -m trigrad.properties.evidence NAME``) are evidence: each belongs to an entry of
the adapter's known-differences file and still fails when replayed (one replay each). Skipped for a
library that is not installed; a second or two per library that is (one replay per entry)."""

import pytest

from trigrad.properties import evidence, known
from trigrad.properties.backends import BackendError, resolve

# paddle before tensorflow: paddle cannot be imported after tensorflow in one process
NAMES = ["hips", "mygrad", "tinygrad", "chainer", "paddle", "tensorflow", "mlx"]


@pytest.mark.parametrize("name", NAMES)
def test_kept_counterexamples_name_real_entries_and_still_fail(name):
    try:
        b = resolve(name)
    except BackendError as e:
        pytest.skip(str(e))
    kept = known.read_examples(known.examples_path(b))
    entries = {str(e): e for e in known.load_path(known.path_for(b))}
    if not entries:
        pytest.skip(f"{name} has no known differences")
    assert kept and set(kept) <= set(entries), sorted(set(kept) - set(entries))
    stale = [key for key in kept if entries[key].dtype in (None, known.dtype_name(b))
             and not evidence.still_fails(b, entries[key])]
    assert not stale, stale
