"""The reproducers in docs/findings/*.md run with the library alone and still show the bug.

Each ends with an assertion that holds while the bug is there: when a library fixes one, this test
fails and the finding (and its known-differences entry) must be updated.
"""

import importlib.metadata
import pathlib
import re
import subprocess
import sys

import pytest

DOCS = pathlib.Path(__file__).parents[2] / "docs" / "findings"
BLOCK = re.compile(r"```python\n(.*?)```", re.S)
# A reproducer that imports one of these modules needs that distribution (and the extra that installs it).
# (Several distributions, separated by "|": any of them.)
LIBRARIES = {"torch": ("torch", "torch"), "jax": ("jax", "jax"), "dezero": ("dezero", "dezero"),
             "autograd": ("autograd", "hips"), "mygrad": ("mygrad", "mygrad"), "tinygrad": ("tinygrad", "tinygrad"),
             "chainer": ("chainer", "chainer"), "tensorflow": ("tensorflow-cpu|tensorflow", "tensorflow"),
             "paddle": ("paddlepaddle", "paddle"), "mlx": ("mlx", "mlx")}


def _installed(distributions):
    for distribution in distributions.split("|"):
        try:
            importlib.metadata.distribution(distribution)
            return True
        except importlib.metadata.PackageNotFoundError:
            pass
    return False


def _blocks():
    for page in sorted(DOCS.glob("*.md")):
        for k, code in enumerate(BLOCK.findall(page.read_text()), 1):
            yield pytest.param(code, id=f"{page.stem}-{k}")


@pytest.mark.parametrize("code", list(_blocks()))
def test_reproducer(code, tmp_path):
    for module, (distribution, extra) in LIBRARIES.items():
        if re.search(rf"^(import|from) {module}\b", code, re.M) and not _installed(distribution):
            pytest.skip(f"{distribution.split('|')[0]} is not installed (pip install 'trigrad[{extra}]')")
    # run outside the repository, whose autograd/ folder would shadow HIPS autograd
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr


def test_every_library_page_has_reproducers():
    pages = {p.stem: len(BLOCK.findall(p.read_text())) for p in DOCS.glob("*.md")}
    assert pages.get("torch", 0) >= 2 and pages.get("dezero", 0) >= 5, pages
    assert pages.get("hips", 0) >= 4 and pages.get("tinygrad", 0) >= 9 and pages.get("chainer", 0) >= 3, pages
    assert pages.get("tensorflow", 0) >= 4 and pages.get("paddle", 0) >= 5 and pages.get("mlx", 0) >= 5, pages
