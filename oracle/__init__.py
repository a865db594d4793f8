"""What a function *is*, and how to judge an implementation of it.

- ``oracle.spec``: the op specification table (one entry per op).
- ``oracle.ir``: the composition IR (a DAG of spec'd ops), formulas, DOT, JSON, sympy.
- ``oracle.symbolic``: exact values and derivatives in high precision, with error bounds.
- ``oracle.numeric``: finite-difference and complex-step derivatives of any forward function.
- ``oracle.compare``: verdicts from the three answers.

Never imports ``autograd``: the built-in core is only one of the implementations judged here.
"""

if __name__ != "trigrad.oracle":
    # The repository's folder oracle/ is installed as trigrad.oracle (pyproject.toml), so that trigrad
    # never shadows another distribution's top-level "oracle". Imported under its bare name (Python
    # started in the repository's root) it would be a second copy of every class: refuse.
    raise ImportError(f"trigrad's oracle/ folder was imported as {__name__!r}; import it as "
                      f"trigrad.oracle (python -m pip install -e . in the repository installs that name)")

from .ir import Composition, Const, Input, Node
from .spec import OPS
from .symbolic import Exact, Oracle

__all__ = ["Composition", "Const", "Input", "Node", "OPS", "Exact", "Oracle"]
