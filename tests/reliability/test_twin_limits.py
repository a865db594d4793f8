"""The twin parser refuses in bounded time (exit status 2, one line) what sympy would evaluate
eagerly and at great cost, and what is too long or too deep, without RecursionError or MemoryError
tracebacks; a --domain whose width overflows a float is bad usage too."""

import pytest

from trigrad.properties.errors import UsageError
from trigrad.properties.fuzzing import parse_domain, parse_twin
from trigrad.properties.fuzzing.twin_limits import MAX_ARGUMENT, MAX_CHARS, MAX_DEPTH, MAX_EXPONENT

from trigrad_cli import CATALOGUE, one_line_usage_error, trigrad

REFUSED = {  # twin -> what the message says
    "sinh(x) + factorial(10**8)": "calls factorial of the constant 1e+08",
    "sinh(x) + 10**10**10": "raises a constant to the power 1e+10",
    "sinh(x) + 10^10^10": "raises a constant to the power 1e+10",
    "sinh(x) + bell(1000)": "calls bell of the constant 1e+03",
    "sinh(x) + factorial(factorial(5))": "calls factorial of the constant 120",
    "sinh(x) + catalan(besseli(1, 2))": "of the constant whose size sympy alone can tell",
    "x * Float(1, 10**8)": "calls Float of the constant 1e+08",
    "2**(x + 1) + 3**4000": "raises a constant to the power 4e+03",
    "x" + "+x" * 3000: f"characters long; at most {MAX_CHARS}",
    "-" * 100_000 + "x": f"characters long; at most {MAX_CHARS}",
    "x" + "**x" * 20_000: f"characters long; at most {MAX_CHARS}",
    "-" * 990 + "x": f"nested 993 levels deep; at most {MAX_DEPTH}",
    "x" + "**x" * 300: "levels deep",
    "(" * 400 + "x" + ")" * 400: "does not parse",
}
ACCEPTED = ["sinh(x)", "sinh(x) + sqrt(2) * exp(-x**2 / 2) / sqrt(2 * pi)", "x**(10**10) + sinh(x)",
            f"sinh(x) + factorial({MAX_ARGUMENT})", f"sinh(x) * 10**{MAX_EXPONENT}", "x" + "+x" * 60,
            "sinh(x) * log(sqrt(2))", "sinh(x) + gamma(3.5) * E"]


def test_the_twin_parser_refuses_costly_long_and_deep_twins():
    # the real command, as the probe ran it (before: a hang until killed)
    one_line_usage_error(trigrad("fuzz", f"{CATALOGUE}:Sinh", "--sympy", "sinh(x) + factorial(10**8)", timeout=60),
                         "calls factorial of the constant 1e+08: sympy would evaluate it exactly")
    for twin, says in REFUSED.items():
        with pytest.raises(UsageError, match="the twin") as e:
            parse_twin(twin)
        assert says in str(e.value) and "\n" not in str(e.value), (twin[:40], str(e.value))
    for twin in ACCEPTED:
        parse_twin(twin)

    for bad in ("x=-1e308:1e308", "x=-inf:0", "x=1:1"):
        with pytest.raises(UsageError, match="domain"):
            parse_domain([bad], 1)
    assert parse_domain(["x=-1e300:1e300"], 1)[0].hi == 1e300
