"""The composition IR: a small DAG of spec'd ops over named inputs.

A ``Composition`` has named inputs (each with a shape), nodes that apply an op from the spec table to
inputs, earlier nodes or constants, and one output. Node ``i`` is referred to as ``"n{i}"``; a node
may feed several consumers, which is the point: gradients overwritten instead of accumulated, wrong
visiting order and in-place writes into a shared gradient only show on shared nodes.

It can be printed as a formula (shared nodes become ``let`` bindings), as DOT text, translated to
sympy, carried as JSON (never pickle), and evaluated by any backend through an op lookup.

    >>> c = Composition([Input("x0")], [Node("mul", ("x0", "x0")), Node("sin", ("n0",)),
    ...                                  Node("add", ("n1", "n0"))])
    >>> c.formula()
    'a = x0 * x0; sin(a) + a'
"""

from __future__ import annotations

import json
import keyword
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import sympy

from . import spec

FORMAT = "trigrad.composition/1"
_NODE_REF = re.compile(r"n\d+\Z")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


@dataclass(frozen=True)
class Input:
    """A named input of a composition; ``shape=()`` is a scalar."""

    name: str
    shape: tuple[int, ...] = ()

    def __post_init__(self):
        object.__setattr__(self, "shape", tuple(int(n) for n in self.shape))
        if not _IDENT.match(self.name) or _NODE_REF.match(self.name) or keyword.iskeyword(self.name):
            raise ValueError(f"input name {self.name!r} must be an identifier not of the form n<digits>")
        if any(n < 1 for n in self.shape):
            raise ValueError(f"input {self.name} has shape {self.shape}; every dimension must be >= 1")


@dataclass(frozen=True)
class Const:
    """A scalar constant argument (not differentiated), e.g. the 3 in ``x0 ** 3``."""

    value: float

    def __post_init__(self):
        object.__setattr__(self, "value", float(self.value))
        if not np.isfinite(self.value):
            raise ValueError(f"constant {self.value!r} must be finite")

    def __str__(self):
        v = self.value
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)


@dataclass(frozen=True)
class Node:
    """``op`` applied to ``args`` (input names, ``"n{i}"`` for earlier nodes, or ``Const``)."""

    op: str
    args: tuple = ()
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        args = tuple(a if isinstance(a, (str, Const)) else Const(a) for a in self.args)
        object.__setattr__(self, "args", args)
        object.__setattr__(self, "params", dict(self.params))


class Composition:
    """A DAG of op nodes over named inputs with one output (by default the last node).

    Construction checks everything a backend would trip over later: ops exist, arities match,
    params are known, arguments refer to inputs or earlier nodes, and shapes fit the spec's rules.
    """

    def __init__(self, inputs: Sequence[Input], nodes: Sequence[Node], output: str | None = None):
        self.inputs = tuple(inputs)
        self.nodes = tuple(nodes)
        if not self.nodes and output is None:
            raise ValueError("a composition needs at least one node or an explicit output")
        self.output = output if output is not None else f"n{len(self.nodes) - 1}"
        names = [i.name for i in self.inputs]
        if len(set(names)) != len(names):
            raise ValueError(f"input names must be distinct, got {names}")
        self._shapes: dict[str, tuple] = {i.name: i.shape for i in self.inputs}
        self._live: frozenset[int] | None = None  # see live
        self._params: list[dict] = []
        for k, node in enumerate(self.nodes):
            op = spec.get(node.op)
            if len(node.args) != op.arity:
                raise ValueError(f"n{k}: {node.op} takes {op.arity} argument(s), got {len(node.args)}")
            shapes = []
            for a in node.args:
                if isinstance(a, Const):
                    shapes.append(())
                elif a in self._shapes:
                    shapes.append(self._shapes[a])
                else:
                    raise ValueError(f"n{k}: argument {a!r} is neither an input nor an earlier node")
            params = spec.check_params(op, node.params)
            try:
                out = op.out_shape(shapes, params)
            except ValueError as e:
                raise ValueError(f"n{k}: {node.op}{tuple(shapes)}: {e}") from None
            if 0 in out:
                raise ValueError(f"n{k}: {node.op}{tuple(shapes)} gives an empty array of shape {out}")
            self._shapes[f"n{k}"] = out
            self._params.append(params)
        if self.output not in self._shapes:
            raise ValueError(f"output {self.output!r} is not an input or node")

    # --- structure ------------------------------------------------------------------------------

    def __len__(self):
        return len(self.nodes)

    def __eq__(self, other):
        return isinstance(other, Composition) and self.to_json() == other.to_json()

    def __hash__(self):
        return hash(self.dumps())

    def __repr__(self):
        return f"<Composition {self.formula()!r}>"

    def shape(self, ref: str) -> tuple:
        """Shape of an input or node (``"n3"``)."""
        return self._shapes[ref]

    def params(self, k: int) -> dict:
        """Node k's params with the op's defaults filled in."""
        return self._params[k]

    @property
    def output_shape(self) -> tuple:
        return self._shapes[self.output]

    def consumers(self) -> dict[str, int]:
        """How many argument slots of live nodes use each input or node (``x * x`` counts twice)."""
        live = self.live()
        count = {i.name: 0 for i in self.inputs} | {f"n{k}": 0 for k in range(len(self.nodes))}
        for k, node in enumerate(self.nodes):
            if k in live:
                for a in node.args:
                    if isinstance(a, str):
                        count[a] += 1
        return count

    def shared(self) -> list[str]:
        """Nodes and inputs that feed two or more argument slots."""
        return [r for r, n in self.consumers().items() if n >= 2]

    def live(self) -> set[int]:
        """Indices of the nodes the output depends on."""
        if self._live is None:  # a composition does not change: every check of it asks again
            self._live = frozenset(self._walk_live())
        return set(self._live)

    def _walk_live(self) -> set[int]:
        seen: set[int] = set()
        stack = [self.output]
        while stack:
            r = stack.pop()
            if _NODE_REF.match(r):
                k = int(r[1:])
                if k not in seen:
                    seen.add(k)
                    stack.extend(a for a in self.nodes[k].args if isinstance(a, str))
        return seen

    def pruned(self) -> "Composition":
        """A copy without nodes the output does not depend on (and without unused inputs)."""
        live = sorted(self.live())
        rename = {f"n{k}": f"n{j}" for j, k in enumerate(live)}
        nodes = [
            Node(self.nodes[k].op, tuple(rename.get(a, a) if isinstance(a, str) else a for a in self.nodes[k].args),
                 self.nodes[k].params)
            for k in live
        ]
        used = {a for n in nodes for a in n.args if isinstance(a, str)} | {self.output}
        inputs = [i for i in self.inputs if i.name in used]
        return Composition(inputs, nodes, rename.get(self.output, self.output))

    # --- printing -------------------------------------------------------------------------------

    def formula(self) -> str:
        """The composition as Python-like source: shared nodes become bindings, ``a = ...; ...``."""
        text, bindings = self._render()
        return "; ".join([f"{name} = {expr}" for name, expr in bindings] + [text])

    def _render(self):
        counts = self.consumers()
        taken = {i.name for i in self.inputs}
        names = _binding_names(taken)
        bound: dict[str, str] = {}
        bindings: list[tuple[str, str]] = []
        cache: dict[str, tuple[str, int]] = {}

        def arg(a):
            if isinstance(a, Const):
                return (str(a), spec.ATOM if a.value >= 0 else spec.UNARY)
            if a in bound:
                return (bound[a], spec.ATOM)
            if not _NODE_REF.match(a):
                return (a, spec.ATOM)
            return cache[a]

        for k in sorted(self.live()):
            ref = f"n{k}"
            node = self.nodes[k]
            cache[ref] = _render_node(node, [arg(a) for a in node.args], self._params[k])
            if counts[ref] >= 2 and ref != self.output:
                name = next(names)
                bindings.append((name, cache[ref][0]))
                bound[ref] = name
        return arg(self.output)[0], bindings

    def to_dot(self) -> str:
        """DOT text of the DAG (render with ``dot -Tsvg``): inputs as boxes, ops as ellipses, edges
        labelled with the argument position for ops whose argument order matters."""
        lines = ["digraph composition {", "  rankdir=LR;", '  node [fontname="Helvetica"];']
        for i in self.inputs:
            shape = "" if not i.shape else f"\\n{i.shape}"
            lines.append(f'  "{i.name}" [shape=box, label="{i.name}{shape}"];')
        consts = 0
        live = self.live()
        for k, node in enumerate(self.nodes):
            if k not in live:
                continue
            params = ", ".join(f"{p}={_fmt_param(v)}" for p, v in node.params.items())
            label = node.op + (f"\\n{params}" if params else "")
            extra = ", peripheries=2" if f"n{k}" == self.output else ""
            lines.append(f'  "n{k}" [label="{_dot_escape(label)}"{extra}];')
            ordered = len(node.args) > 1 and not spec.get(node.op).commutative
            for pos, a in enumerate(node.args):
                if isinstance(a, Const):
                    src = f"c{consts}"
                    consts += 1
                    lines.append(f'  "{src}" [shape=plaintext, label="{a}"];')
                else:
                    src = a
                edge = f' [label="{pos}"]' if ordered else ""
                lines.append(f'  "{src}" -> "n{k}"{edge};')
        lines.append("}")
        return "\n".join(lines)

    # --- JSON -----------------------------------------------------------------------------------

    def to_json(self) -> dict:
        """A JSON-ready dict (see ``FORMAT``); floats keep their exact value through ``json``."""
        nodes = []
        for node in self.nodes:
            op = spec.get(node.op)
            kinds = {p.name: p.kind for p in op.params}
            entry: dict[str, Any] = {
                "op": node.op,
                "args": [{"const": a.value} if isinstance(a, Const) else a for a in node.args],
            }
            if node.params:
                entry["params"] = {k: spec.param_to_json(kinds[k], v) for k, v in node.params.items()}
            nodes.append(entry)
        return {
            "format": FORMAT,
            "inputs": [{"name": i.name, "shape": list(i.shape)} for i in self.inputs],
            "nodes": nodes,
            "output": self.output,
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), sort_keys=True)

    @classmethod
    def from_json(cls, data: dict | str) -> "Composition":
        """Inverse of ``to_json`` (also accepts the JSON text)."""
        if isinstance(data, str):
            data = json.loads(data)
        if data.get("format") != FORMAT:
            raise ValueError(f"not a trigrad composition (format {data.get('format')!r}, expected {FORMAT!r})")
        nodes = []
        for entry in data["nodes"]:
            op = spec.get(entry["op"])
            kinds = {p.name: p.kind for p in op.params}
            params = {}
            for k, v in entry.get("params", {}).items():
                if k not in kinds:
                    raise ValueError(f"{op.name} has no param {k!r}")
                params[k] = spec.param_from_json(kinds[k], v)
            args = tuple(Const(a["const"]) if isinstance(a, dict) else a for a in entry["args"])
            nodes.append(Node(entry["op"], args, params))
        inputs = [Input(i["name"], tuple(i["shape"])) for i in data["inputs"]]
        return cls(inputs, nodes, data["output"])

    # --- sympy ------------------------------------------------------------------------------------

    def symbols(self) -> dict[str, np.ndarray]:
        """Real sympy symbols for every input: an object array of its shape (``x0_1_2`` for
        element (1, 2) of x0; a scalar input is a 0-d array holding the symbol ``x0``)."""
        out = {}
        for i in self.inputs:
            arr = np.empty(i.shape, dtype=object)
            for idx in np.ndindex(i.shape):
                suffix = "".join(f"_{j}" for j in idx)
                arr[idx] = sympy.Symbol(i.name + suffix, real=True)
            out[i.name] = arr
        return out

    def to_sympy(self, symbols: dict[str, np.ndarray] | None = None) -> np.ndarray:
        """The output as an object array of sympy expressions in the input symbols.

        Shared nodes are built once and reused as Python objects, but sympy expressions are trees:
        printing or differentiating the result of a deep chain with sharing can blow up. The symbolic
        oracle never does that; this is for small compositions and for cross-checks.
        """
        symbols = symbols or self.symbols()
        env: dict[str, np.ndarray] = dict(symbols)
        for k, node in enumerate(self.nodes):
            op = spec.get(node.op)
            args = [
                spec._obj(spec._rational(a.value)) if isinstance(a, Const) else env[a] for a in node.args
            ]
            env[f"n{k}"] = apply_twin(op, args, self._params[k])
        return env[self.output]

    # --- evaluation by a backend -----------------------------------------------------------------

    def evaluate(self, values: Mapping[str, Any], lookup: Callable[[str], Callable], *, trace: bool = False):
        """Run the composition with a backend.

        ``values`` maps input names to the backend's values; ``lookup(op_name)`` returns a callable
        ``f(*args, **params)`` on the backend's values (constants arrive as Python floats; params
        always include the op's defaults). Returns
        the output, or with ``trace=True`` a dict of every input and node value.
        """
        missing = [i.name for i in self.inputs if i.name not in values]
        if missing:
            raise ValueError(f"missing input values for {missing}")
        env = {i.name: values[i.name] for i in self.inputs}
        for k, node in enumerate(self.nodes):
            fn = lookup(node.op)
            args = [a.value if isinstance(a, Const) else env[a] for a in node.args]
            env[f"n{k}"] = fn(*args, **self._params[k])
        return env if trace else env[self.output]

    def evaluate_numpy(self, values: Mapping[str, np.ndarray], *, trace: bool = False):
        """Evaluate with the spec table's float64 numpy reference forwards."""
        def lookup(name):
            op = spec.get(name)
            return lambda *args, **params: np.asarray(op.numpy(*[np.asarray(a, dtype=float) for a in args], **params))

        return self.evaluate(values, lookup, trace=trace)


def apply_twin(op: spec.Op, args: list[np.ndarray], params: dict) -> np.ndarray:
    """Apply an op's sympy twin to object arrays: elementwise twins are broadcast with numpy's rules."""
    if not op.elementwise:
        return spec._obj(op.twin(*args, **params))
    shape = np.broadcast_shapes(*[a.shape for a in args])
    bargs = [np.broadcast_to(a, shape) for a in args]
    out = np.empty(shape, dtype=object)
    for idx in np.ndindex(shape):
        out[idx] = op.twin(*[a[idx] for a in bargs], **params)
    return out


def _render_node(node: Node, args: list[tuple[str, int]], params: dict) -> tuple[str, int]:
    """A node as source in its op's notation: arguments (text, precedence) parenthesised where they
    bind looser than the notation allows; a call shows the params the node sets; an index param is
    written as its items (``1:3, 0``), as the template's brackets expect."""
    op = spec.get(node.op)
    binds = op.notation.binds or (0,) * len(args)
    texts = [a if p >= least else f"({a})" for (a, p), least in zip(args, binds)]
    return op.source(node.params).format(*texts, **param_sources(node.op, params)), op.notation.precedence


def param_sources(op_name: str, params: dict) -> dict[str, str]:
    """Python source of a node's params as its op's templates (in formulas and in every backend's
    reproducer) expect them: an index param as its items (``1:3, 0``, inside the template's
    brackets), any other param as its repr."""
    kinds = {p.name: p.kind for p in spec.get(op_name).params}
    return {k: spec.format_index(v)[1:-1] if kinds.get(k) == "index" else repr(v) for k, v in params.items()}


def _fmt_param(v) -> str:
    """A param as a DOT label shows it (an index with its brackets)."""
    if isinstance(v, tuple) and any(isinstance(i, (slice, tuple)) for i in v):
        return spec.format_index(v)
    return repr(v)


def _dot_escape(s: str) -> str:
    return s.replace('"', '\\"')


def _binding_names(taken: set[str]):
    """a, b, ..., z, a1, b1, ... skipping names already used by inputs."""
    n = 0
    while True:
        for c in "abcdefghijklmnopqrstuvwxyz":
            name = c if n == 0 else f"{c}{n}"
            if name not in taken and not _NODE_REF.match(name):
                yield name
        n += 1


def values_to_json(values: Mapping[str, np.ndarray]) -> dict:
    """Input values as JSON: nested lists of floats (``json`` writes floats so they round-trip)."""
    return {k: np.asarray(v, dtype=float).tolist() for k, v in values.items()}


def values_from_json(data: Mapping[str, Any]) -> dict[str, np.ndarray]:
    return {k: np.asarray(v, dtype=float) for k, v in data.items()}


__all__ = ["Composition", "Input", "Node", "Const", "apply_twin", "param_sources", "values_to_json", "values_from_json", "FORMAT"]
