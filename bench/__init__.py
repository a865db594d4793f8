"""Benchmarks (run as modules, e.g. `python -m bench.core`); not part of the installed package."""
