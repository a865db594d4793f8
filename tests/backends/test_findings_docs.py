"""The reproducers in docs/findings/*.md run with the library alone and still show the bug.

Each ends with an assertion that holds while the bug is there: when a library fixes one, this test
fails and the finding (and its known-differences entry) must be updated.
"""

import importlib.util
import pathlib
import re
import subprocess
import sys

import pytest

DOCS = pathlib.Path(__file__).parents[2] / "docs" / "findings"
BLOCK = re.compile(r"```python\n(.*?)```", re.S)


def _blocks():
    for page in sorted(DOCS.glob("*.md")):
        for k, code in enumerate(BLOCK.findall(page.read_text()), 1):
            yield pytest.param(code, id=f"{page.stem}-{k}")


@pytest.mark.parametrize("code", list(_blocks()))
def test_reproducer(code):
    needs = [lib for lib in ("torch", "jax", "dezero") if re.search(rf"^import {lib}\b", code, re.M)]
    for lib in needs:
        if importlib.util.find_spec(lib) is None:
            pytest.skip(f"{lib} is not installed (pip install 'trigrad[{lib}]')")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr


def test_every_library_page_has_reproducers():
    pages = {p.stem: len(BLOCK.findall(p.read_text())) for p in DOCS.glob("*.md")}
    assert pages.get("torch", 0) >= 2 and pages.get("dezero", 0) >= 5, pages
