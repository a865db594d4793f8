"""Benchmarks: `python -m bench` (all) or `python -m bench NAME` (see bench/__main__.py); not part of the installed package."""
