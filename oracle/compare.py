"""Verdicts from three answers: autograd, exact (symbolic oracle) and numeric (finite differences).

Autograd against exact is the verdict; numeric against exact says whether the point is trustworthy.
The tolerance is never a global rtol: it is ``Exact.bound(u)``, derived from the example's own
magnitudes and conditioning by the symbolic oracle's running error analysis (see ``oracle.symbolic``).

Triage, with the reason recorded in the ``Judgement``:

=====================  ===================  ==========================================  ==============
autograd vs exact      numeric vs exact     meaning                                     verdict
=====================  ===================  ==========================================  ==============
agrees                 agrees or absent     correct                                     PASS
agrees                 disagrees            point ill-conditioned for differences       ILL_CONDITIONED (passes)
disagrees              agrees or absent     autograd's derivative is wrong              FAIL
disagrees              disagrees, ~autograd autograd and numeric agree, exact does not  DISPUTED (not judged)
disagrees              disagrees            nothing can be trusted at this point        UNTRUSTWORTHY (not judged)
forward value wrong    (n/a)                the forward (or the twin) is wrong          FORWARD_WRONG
oracle unsure          (n/a)                the oracle cannot resolve the point         UNSURE (not judged)
=====================  ===================  ==========================================  ==============

Numeric "agrees" within its own error bar (NUMERIC_FACTOR times its error estimate, plus the exact
bound), which the reason shows. When that bar holds autograd's value too, numeric cannot separate
autograd from exact: the verdict (exact decides) says "numeric inconclusive" instead of "numeric
agrees with exact".

DISPUTED is what a wrong sympy twin looks like (the backend is self-consistent, the mathematics
disagrees), or a forward that is wrong near but not at the point; it is recorded, never passed
silently and never reported as a backend bug.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
import numpy as np

from .symbolic import U64, Exact

# Numeric agrees with exact when within NUMERIC_FACTOR times its own error estimate (plus the exact
# bound, since the numeric oracle also runs a float64 forward). The estimate is a Richardson
# difference, which the numeric tests show bounds the true error in >= 99% of cases; the factor
# turns "usually" into "practically always".
NUMERIC_FACTOR = 4.0


class Verdict(str, enum.Enum):
    PASS = "pass"
    ILL_CONDITIONED = "pass (ill-conditioned for differences)"
    FAIL = "fail"
    FORWARD_WRONG = "forward wrong"
    DISPUTED = "disputed"
    UNTRUSTWORTHY = "untrustworthy"
    UNSURE = "oracle unsure"

    @property
    def failed(self) -> bool:
        return self in (Verdict.FAIL, Verdict.FORWARD_WRONG)

    @property
    def judged(self) -> bool:
        return self not in (Verdict.DISPUTED, Verdict.UNTRUSTWORTHY, Verdict.UNSURE)


@dataclass(frozen=True)
class Judgement:
    """The outcome of one check, with the evidence: the three numbers at the worst element."""

    verdict: Verdict
    reason: str
    what: str = ""
    index: tuple | None = None
    autograd: float | None = None
    exact: float | None = None
    numeric: float | None = None
    bound: float | None = None
    # (lo, hi): the exact value is proven to lie in [lo, hi] (ball arithmetic), or None
    exact_in: tuple[float, float] | None = None

    @property
    def failed(self) -> bool:
        return self.verdict.failed

    def __str__(self) -> str:
        where = "" if not self.index else f"[{', '.join(map(str, self.index))}]"
        nums = []
        for label, v in (("autograd", self.autograd), ("exact", self.exact), ("numeric", self.numeric)):
            if v is not None:
                nums.append(f"{label} {v!r}")
            if label == "exact" and v is not None and self.exact_in is not None:
                nums[-1] += f" in [{self.exact_in[0]!r}, {self.exact_in[1]!r}]"
        if self.bound is not None:
            nums.append(f"allowed error {self.bound:.3g}")
        head = f"{self.what}{where}: " if self.what else ""
        return f"{head}{', '.join(nums)} ({self.verdict.value}: {self.reason})"


def _numeric_agrees(num, exact_value: float, bound: float) -> bool:
    return bool(np.isfinite(num.value) and np.isfinite(num.error)
                and abs(num.value - exact_value) <= NUMERIC_FACTOR * num.error + bound)


def judge(autograd, exact: Exact, *, numeric=None, u: float = U64, what: str = "",
          subject: str = "autograd") -> Judgement:
    """Judge an autograd result (array or scalar) against the exact one, element by element.

    numeric: an estimate of the same quantity (any object with ``value`` and ``error``, e.g.
        ``oracle.numeric.Estimate``) for a scalar check, or a callable ``index -> estimate`` that
        computes the numeric derivative for one element on demand (it is called only for the worst
        disagreeing element), or None.
    u: unit roundoff of the implementation (2**-53 float64, 2**-24 float32).
    what: what is being checked, for the message (e.g. "VJP wrt x0"); subject: who computed it.
    """
    ad = np.asarray(autograd, dtype=float)
    if ad.shape != exact.value.shape:
        return Judgement(Verdict.FAIL, f"shape {ad.shape} where the exact result has shape {exact.value.shape}",
                         what)
    why = exact.unsure(u)
    if why:
        return Judgement(Verdict.UNSURE, why, what)
    bound = exact.bound(u)
    diff = np.abs(ad - exact.value)
    bad = ~(diff <= bound)  # NaN compares False: a NaN result is bad
    if np.any(bad):
        ratio = np.where(np.isfinite(diff), diff / bound, np.inf)
        index = tuple(int(k) for k in np.unravel_index(int(np.argmax(ratio)), ad.shape)) if ad.shape else ()
    else:
        index = tuple(int(k) for k in np.unravel_index(int(np.argmax(diff / bound)), ad.shape)) if ad.shape else ()
    a, e, b = float(ad[index]), float(exact.value[index]), float(bound[index])
    # a numeric callable costs forward evaluations: asked only when autograd disagrees
    num = (numeric(index) if np.any(bad) else None) if callable(numeric) else numeric
    n = None if num is None else float(num.value)
    evidence = dict(what=what, index=index or None, autograd=a, exact=e, numeric=n, bound=b,
                    exact_in=exact.within(index))

    if not np.any(bad):
        if num is not None and not _numeric_agrees(num, e, b):
            return Judgement(Verdict.ILL_CONDITIONED,
                             f"{subject} agrees with exact; numeric is off by {abs(n - e):.3g} "
                             f"(its own estimate {num.error:.3g}): the point is hard for finite differences",
                             **evidence)
        return Judgement(Verdict.PASS, f"{subject} agrees with exact", **evidence)

    if not np.isfinite(a):
        detail = f"{subject} returned {a!r} where the exact value is finite"
    else:
        detail = f"{subject} is off by {abs(a - e):.3g} ({abs(a - e) / max(abs(e), np.finfo(float).tiny):.3g} relative), " \
                 f"{abs(a - e) / b:.3g} times the allowed error"
    if num is None:
        return Judgement(Verdict.FAIL, detail + "; no numeric estimate to confirm", **evidence)
    if _numeric_agrees(num, e, b):
        bar = NUMERIC_FACTOR * float(num.error) + b  # how far from numeric "agrees" reaches
        if abs(n - a) <= bar:  # as close to autograd: numeric cannot tell the two apart
            return Judgement(Verdict.FAIL, detail + f"; numeric inconclusive: its estimate {n!r} ± {bar:.3g} "
                             f"holds both exact and {subject}", **evidence)
        return Judgement(Verdict.FAIL, detail + f"; numeric agrees with exact ({subject} wrong), within its error "
                         f"bar ± {bar:.3g}", **evidence)
    if np.isfinite(n) and abs(n - a) <= NUMERIC_FACTOR * num.error + b:
        return Judgement(Verdict.DISPUTED,
                         f"{subject} and numeric agree with each other but not with exact: the twin may be "
                         "wrong, or the forward is wrong near the point", **evidence)
    return Judgement(Verdict.UNTRUSTWORTHY,
                     f"{subject}, exact and numeric all disagree: the point cannot be trusted", **evidence)


def judge_value(forward, exact: Exact, *, u: float = U64, what: str = "value") -> Judgement:
    """Judge a backend's forward value against the exact value (no numeric side: a wrong forward
    makes every derivative check meaningless, so it is reported first)."""
    j = judge(forward, exact, u=u, what=what, subject="the forward")
    if j.verdict is Verdict.FAIL:
        return Judgement(Verdict.FORWARD_WRONG, j.reason, j.what, j.index, j.autograd, j.exact, None, j.bound,
                         j.exact_in)
    return j


__all__ = ["Verdict", "Judgement", "judge", "judge_value", "NUMERIC_FACTOR"]
