"""The published matrix (docs/matrix.md, made by ``python -m bench matrix``) has the structure the
page promises: its sections, a line per library, and a row for every op of the spec table in the op x
library table. Its numbers are the machine's and are not checked."""

import pathlib
import re

from trigrad.oracle import spec
from trigrad.properties import suite

PAGE = pathlib.Path(__file__).parents[2] / "docs" / "matrix.md"


def _table(text, heading):
    section = text.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return [line for line in section.splitlines() if line.startswith("|")]


def test_the_page_has_its_sections_and_says_how_it_was_made():
    text = PAGE.read_text()
    for heading in ("## Libraries", "## Op x library", "## Findings by cause"):
        assert heading in text
    assert "python -m bench matrix" in text and re.search(r"Made \d{4}-\d{2}-\d{2}", text)


def test_every_spec_op_has_a_row_and_every_library_a_cell():
    text = PAGE.read_text()
    libraries = _table(text, "Libraries")[2:]
    assert libraries, "no library line"
    rows = _table(text, "Op x library")
    head, body = rows[0], rows[2:]
    assert len(head.strip("|").split("|")) == len(libraries) + 1
    ops = [line.strip("|").split("|")[0].strip() for line in body]
    missing = [op for op in [*spec.OPS, suite.ALL_OPS] if op not in ops]
    assert not missing, f"docs/matrix.md has no row for {missing}: regenerate it (python -m bench matrix)"
    for line in body:
        cells = [c.strip() for c in line.strip("|").split("|")[1:]]
        assert len(cells) == len(libraries) and all(re.fullmatch(r"pass|known|unsup|-|(FAIL|ERROR) \(.+\)", c)
                                                    for c in cells), line
