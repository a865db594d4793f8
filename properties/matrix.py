"""The conformance matrix: one row per op, one column per library, from ``trigrad check`` runs.

Each library's check run has a cell per (property, op); the matrix folds an op's cells into one
outcome per library:

============  ====================================================================================
finding       some property fails for the op (the failing properties are named)
error         trigrad could not judge some property (its own error; named like failures)
known         every failure is a known difference of the library (its known-differences file)
pass          every property that ran passes (cells of missing rules are unsupported, not run)
unsupported   the library has no such op (or none of the properties could run for it)
not reached   the run's time ran out before any of the op's cells
============  ====================================================================================

``build`` takes the JSON documents of ``trigrad check --json`` (one per library) and returns the
matrix as a JSON-ready dict; ``text`` writes it as a table, ``markdown`` as the published page
(docs/matrix.md); the findings grouped by cause come with each library's document
(``properties.findings``).
"""

from __future__ import annotations

from . import suite

OUTCOMES = ("finding", "error", "known", "pass", "unsupported", "not reached")
# How the count line of a library names each outcome ("3 failing, 30 pass, 2 unsupported").
COUNTED = {"finding": "failing", "error": "error", "known": "known", "pass": "pass", "unsupported": "unsupported",
           "not reached": "not reached"}
MARKS = {"finding": "FAIL", "error": "ERROR", "known": "known", "pass": "pass", "unsupported": "unsup",
         "not reached": "-"}


def outcome(statuses: dict[str, str]) -> tuple[str, list[str]]:
    """One op's outcome for one library from its cells' statuses (property -> status), and the
    properties that make it so (failing, erring or known ones; none for pass and unsupported)."""
    by = {kind: [p for p, s in statuses.items() if s == kind] for kind in ("fail", "error", "known", "pass")}
    if by["fail"]:
        return "finding", by["fail"]
    if by["error"]:
        return "error", by["error"]
    if by["known"]:
        return "known", by["known"]
    if by["pass"]:
        return "pass", []
    if statuses and all(s.startswith(("unsupported", "n/a")) for s in statuses.values()):
        return "unsupported", []
    return "not reached", []


def build(checks: list[dict]) -> dict:
    """The matrix of several check documents (``trigrad check --json``), one column per document
    (a library checked twice is told apart as "name (2)").

    Returns {"trigrad": "matrix", "libraries": [...], "ops": [...], "table": {op: {library:
    {"outcome", "properties"}}}, "findings": {library: [...]}, "counts": {library: {outcome: n}}}."""
    libraries, ops, table, found, counts = [], [], {}, {}, {}
    for doc in checks:
        lib, k = doc["backend"], 1
        while lib in libraries:  # two runs of one library (other profiles or options): told apart
            k += 1
            lib = f"{doc['backend']} ({k})"
        libraries.append(lib)
        cells: dict[str, dict[str, str]] = {}
        for c in doc["cells"]:
            cells.setdefault(c["op"], {})[c["property"]] = c["status"]
        for op in doc["rows"]:
            if op not in ops:
                ops.append(op)
            result, props = outcome(cells.get(op, {}))
            table.setdefault(op, {})[lib] = {"outcome": result, "properties": props}
        found[lib] = doc.get("findings", [])
        counts[lib] = {k: sum(1 for op in doc["rows"] if table[op][lib]["outcome"] == k) for k in OUTCOMES}
    ops.sort(key=lambda op: op == suite.ALL_OPS)  # the mixed row last, as in each check's table
    return {"trigrad": "matrix", "ops": ops, "table": table, "findings": found, "counts": counts,
            "libraries": [{"backend": lib, "profile": d.get("profile"), "examples": d.get("examples", 0),
                           "seconds": d.get("seconds", 0.0)} for lib, d in zip(libraries, checks)]}


def mark(entry: dict | None) -> str:
    """A matrix cell as text: pass, unsup, -, known, or FAIL / ERROR with the properties named."""
    if entry is None:
        return ""
    text = MARKS[entry["outcome"]]
    return f"{text} ({', '.join(entry['properties'])})" if entry["outcome"] in ("finding", "error") else text


def text(matrix: dict) -> str:
    """The matrix as a text table (ops down, libraries across), then a count line per library."""
    libs = [lib["backend"] for lib in matrix["libraries"]]
    rows = [[op] + [mark(matrix["table"][op].get(lib)) for lib in libs] for op in matrix["ops"]]
    head = ["op"] + libs
    widths = [max(len(r[k]) for r in rows + [head]) for k in range(len(head))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.append("")
    for lib in matrix["libraries"]:
        n = matrix["counts"][lib["backend"]]
        lines.append(f"{lib['backend']}: {lib['examples']:,} examples, {lib['seconds']:.0f} s, "
                     + ", ".join(f"{n[k]} {COUNTED[k]}" for k in OUTCOMES if n[k]))
    return "\n".join(lines)


def findings_text(matrix: dict) -> str:
    """Each library's findings grouped by cause, one line each with the cells they fill."""
    lines = []
    for lib, found in matrix["findings"].items():
        for f in found:
            run = f.get("reproducer_run") or {}
            state = {"reproduced": "reproducer shows it", "not reproduced": "trigrad error: the reproducer does not "
                     "show it", "not checked": "reproducer not checked"}.get(run.get("status"), "reproducer not run")
            cells = ", ".join(f"{c['property']}[{c['op']}]" for c in f["cells"])
            n = len(f["cells"])
            lines.append(f"{lib}: {f['title']} ({n} cell{'s' if n != 1 else ''}: {cells}; {state})")
    return "\n".join(lines)


def known_causes(check: dict) -> dict[str, list[str]]:
    """A check document's known failures grouped by the known-differences entry that explains them:
    the entry with its reason -> the cells ("property[op]") it covers."""
    causes: dict[str, list[str]] = {}
    for c in check["cells"]:
        if c["status"] == "known":
            entry = (c.get("error") or "").removeprefix("known difference ")
            causes.setdefault(entry, []).append(f"{c['property']}[{c['op']}]")
    return causes


def markdown(matrix: dict, checks: list[dict], title: str = "trigrad conformance matrix",
             preface: str = "", runs: dict | None = None) -> str:
    """The matrix as a Markdown page: ``preface`` (date, machine, the command that made it), a line
    per library (version, profile, examples, seconds, and ``runs[library]``'s extra columns, e.g.
    CPU seconds and load), the op x library table, then per library its findings by cause (failures
    no known difference explains: each a library bug or trigrad's false positive, to be judged) and
    its known differences with the cells each fills (upstream status: docs/findings/<library>.md)."""
    libs = [lib["backend"] for lib in matrix["libraries"]]
    extra = sorted({k for r in (runs or {}).values() for k in r})
    lines = [f"# {title}", ""] + ([preface.rstrip(), ""] if preface else [])
    lines += ["## Libraries", "", "| library | version (dtype) | profile | examples | seconds | "
              + "".join(f"{k} | " for k in extra) + " | ".join(COUNTED[k] for k in OUTCOMES) + " |",
              "|---" * (4 + len(extra) + len(OUTCOMES) + 1) + "|"]
    for lib, doc in zip(matrix["libraries"], checks):
        n, run = matrix["counts"][lib["backend"]], (runs or {}).get(lib["backend"], {})
        lines.append(f"| {lib['backend'].split(' ')[0]} | {doc['backend']} | {lib['profile']} | {lib['examples']:,} | "
                     f"{lib['seconds']:.0f} | " + "".join(f"{run.get(k, '')} | " for k in extra)
                     + " | ".join(str(n[k]) for k in OUTCOMES) + " |")
    lines += ["", "## Op x library", "",
              "pass: every property that ran passes (a property the library has no rule for, one of its "
              "missing rules such as Paddle's forward mode of tan, is an unsupported cell and does not run); "
              "FAIL (properties): a finding no known difference explains; known: every failure is a known "
              "difference; unsup: the library has no such op, or none of its properties could run; "
              "-: not reached in the run's time.", "",
              "| op | " + " | ".join(lib.split(" (")[0].split(" ")[0] for lib in libs) + " |",
              "|---" * (len(libs) + 1) + "|"]
    for op in matrix["ops"]:
        lines.append(f"| {op} | " + " | ".join(mark(matrix["table"][op].get(lib)) or "-" for lib in libs) + " |")
    lines += ["", "## Findings by cause", ""]
    for lib, doc in zip(libs, checks):
        name = lib.split(" ")[0].split("[")[0]
        found, known = matrix["findings"].get(lib, []), known_causes(doc)
        lines.append(f"### {lib}")
        lines.append("")
        lines.append(f"Unexplained findings: {len(found)}. Known differences hit: {len(known)} "
                     f"(each with its reproducer and upstream status in docs/findings/{name}.md).")
        lines.append("")
        for f in found:
            run = (f.get("reproducer_run") or {}).get("status", "not run")
            cells = ", ".join(f"{c['property']}[{c['op']}]" for c in f["cells"])
            lines.append(f"- FINDING {f['title']} ({len(f['cells'])} cells: {cells}; reproducer: {run})")
        for entry, cells in known.items():
            lines.append(f"- known: {entry} ({len(cells)} cells: {', '.join(cells)})")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


__all__ = ["build", "text", "markdown", "known_causes", "findings_text", "outcome", "mark", "OUTCOMES", "COUNTED"]
