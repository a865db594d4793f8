"""A pytest plugin for the reliability tests that run trigrad's pytest suites in a subprocess
(``-p quick_profile --hypothesis-profile=quick``): a few derandomized examples, no shrinking and no
example database, so that a backend that fails every example costs a few examples, not a shrink in
which each step forks a fresh supervised worker."""

from hypothesis import Phase, settings

settings.register_profile("quick", max_examples=3, phases=[Phase.explicit, Phase.generate], database=None,
                          derandomize=True, deadline=None)
