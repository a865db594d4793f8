"""The JSON documents ``trigrad report --from`` accepts, described field by field, and a validator
that names the first thing a document gets wrong (``validate``).

Two kinds: what ``trigrad check --json`` writes (``CHECK``) and what ``trigrad accuracy --json``
writes (``ACCURACY``). A description is a Python value: a type (``str``, ``int``, ``NUMBER``,
``bool``, ``None``), a tuple of alternatives, a one-item list (a list of such items), or a dict of
fields (a key ending in ``?`` may be missing; the key ``*`` describes every field of a mapping).
Fields not described are allowed: documents from a newer trigrad may carry more.
"""

from __future__ import annotations

from .accuracy import CLASSES
from .errors import UsageError

NUMBER = "number"  # an int or a float (JSON has one kind of number; NaN and inf are what json writes for them)
ANY = "any"
SHOW_CHARS = 40  # a problem quotes at most this much of a value

REPORT = {"formula": str, "inputs": {"*": ANY}, "reproducer": str, "verdict?": (str, None), "reason?": (str, None),
          "what?": (str, None), "autograd?": (NUMBER, None), "exact?": (NUMBER, None), "numeric?": (NUMBER, None),
          "allowed_error?": (NUMBER, None)}
CELL = {"property": str, "op": str, "status": str, "examples?": int, "seconds?": NUMBER, "error?": (str, None),
        "report?": (REPORT, None)}
CHECK = {"backend": str, "profile?": (str, None), "examples?": int, "seconds?": NUMBER, "properties": [str],
         "rows": [str], "cells": [CELL], "stale_known_differences?": [str]}

FINDING = {"class": str, "kind": str, "lo": NUMBER, "hi": NUMBER, "points": int, "subnormal?": bool,
           "example": {"x": NUMBER, "computed": NUMBER, "exact": NUMBER}}
SUMMARY_ERROR = {"points": int, "error": str}  # a sweep that could not be measured
SUMMARY = {"points": int, "median_ulps": NUMBER, "max_ulps": NUMBER, "max_at": NUMBER,
           "max_normal_ulps": (NUMBER, None), "above": {"*": NUMBER}, "findings": [FINDING]}
SERIES = {"name": str, "x": [NUMBER], "ulps": [(NUMBER, None)], "summary": dict}  # summary: see _summary
PROFILE = {"op": str, "label": str, "series": [SERIES]}
RUN = {"backend": str, "dtype?": str, "points?": int, "profiles": [PROFILE]}
ACCURACY = {"trigrad": str, "runs": [RUN]}


def kind(data) -> str | None:
    """"accuracy" or "check" for a document that says what it is, else None."""
    if isinstance(data, dict) and data.get("trigrad") == "accuracy":
        return "accuracy"
    if isinstance(data, dict) and "cells" in data and "backend" in data:
        return "check"
    return None


def validate(data, path: str) -> str:
    """The document's kind ("check" or "accuracy"); a UsageError naming ``path`` and the first field
    that is missing or of the wrong type."""
    what = kind(data)
    if what is None:
        raise UsageError(f"{path} is not the JSON of trigrad check or trigrad accuracy "
                         "(expected an object with \"cells\" and \"backend\", or \"trigrad\": \"accuracy\")")
    problem = _problem(data, CHECK if what == "check" else ACCURACY, "")
    if problem is None and what == "accuracy":
        problem = _summaries(data)
    if problem:
        raise UsageError(f"{path} is not the JSON of trigrad {what}: {problem}")
    return what


def _summaries(data) -> str | None:
    for r, run in enumerate(data["runs"]):
        for p, profile in enumerate(run["profiles"]):
            for s, series in enumerate(profile["series"]):
                where = f"runs[{r}].profiles[{p}].series[{s}].summary"
                summary = series["summary"]
                problem = _problem(summary, SUMMARY_ERROR if "error" in summary else SUMMARY, where)
                if problem:
                    return problem
                for f, finding in enumerate(summary.get("findings", [])):
                    if finding["class"] not in CLASSES:
                        return (f"{where}.findings[{f}].class is {_show(finding['class'])}, not one of "
                                f"{', '.join(CLASSES)}")
    return None


def _problem(value, spec, where: str) -> str | None:
    """What is wrong with ``value`` against ``spec`` (at ``where``), or None."""
    if isinstance(spec, tuple):
        problems = [_problem(value, s, where) for s in spec]
        if None in problems:
            return None
        for s, problem in zip(spec, problems):
            if isinstance(s, (dict, list)) and isinstance(value, type(s)):
                return problem  # the right kind of value, wrong inside
        return f"{where} is {_show(value)}, expected {' or '.join(_name(s) for s in spec)}"
    if isinstance(spec, dict):
        if not isinstance(value, dict):
            return f"{where or 'the document'} is {_show(value)}, expected an object"
        for key, item in spec.items():
            name = key.rstrip("?")
            if key == "*":
                for k, v in value.items():
                    problem = _problem(v, item, f"{where}.{k}" if where else k)
                    if problem:
                        return problem
            elif name not in value:
                if not key.endswith("?"):
                    return f"{where + '.' if where else ''}{name} is missing"
            else:
                problem = _problem(value[name], item, f"{where}.{name}" if where else name)
                if problem:
                    return problem
        return None
    if isinstance(spec, list):
        if not isinstance(value, list):
            return f"{where} is {_show(value)}, expected a list"
        for k, v in enumerate(value):
            problem = _problem(v, spec[0], f"{where}[{k}]")
            if problem:
                return problem
        return None
    return None if _is(value, spec) else f"{where} is {_show(value)}, expected {_name(spec)}"


def _is(value, spec) -> bool:
    if spec is ANY:
        return True
    if spec is NUMBER:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if spec is None:
        return value is None
    if spec is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, spec)


def _name(spec) -> str:
    if spec is None:
        return "null"
    if isinstance(spec, dict):
        return "an object"
    if isinstance(spec, list):
        return "a list"
    return {str: "a string", int: "an integer", bool: "true or false", NUMBER: "a number", dict: "an object"}.get(
        spec, str(spec))


def _show(value) -> str:
    """A JSON value for a message: short, and never the whole of a large one."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    text = "null" if value is None else repr(value)
    return text if len(text) <= SHOW_CHARS else text[:SHOW_CHARS - 3] + "..."


__all__ = ["CHECK", "ACCURACY", "kind", "validate"]
