"""The IR: typed SSA programs of primitive equations.

Var is a value defined once (an input, a captured value, or an equation's output); Lit is an inline scalar
literal; Eqn applies a primitive to atoms (Vars and Lits) with static params; Program lists input variables,
captured constants (concrete arrays, or traced values of an enclosing trace), equations and output atoms.
Params may hold nested Programs (control flow). `check()` validates SSA form, shapes and dtypes; `str()` is a
compact listing, one equation per line.
"""

from __future__ import annotations

import html
import itertools
import keyword
import re
from typing import Any

import numpy as np

from ..avals import ShapedArray, aval_of, short_dtype
from .primitive import Primitive

_ids = itertools.count()


def all_eqns(program: "Program"):
    """Every equation of the program and, after each one, those of its sub-programs (loop bodies, branches)."""
    for eqn in program.eqns:
        yield eqn
        for sub in sub_programs(eqn.params):
            yield from all_eqns(sub)


def sub_programs(params: dict) -> list:
    """The Programs held in an equation's params (alone, or in a tuple such as a cond's branches)."""
    found = []
    for p in params.values():
        if isinstance(p, Program):
            found.append(p)
        elif isinstance(p, tuple):
            found.extend(q for q in p if isinstance(q, Program))
    return found


class Var:
    """An SSA variable; `hint` is a readable name (the user's variable name) when one is known."""

    __slots__ = ("aval", "hint", "id")

    def __init__(self, aval: ShapedArray, hint: str | None = None):
        self.aval = aval
        self.hint = hint
        self.id = next(_ids)

    def __repr__(self):
        return f"Var({self.hint or self.id}:{self.aval})"


class Lit:
    """A scalar literal inlined into an equation (a Python scalar is weak-typed)."""

    __slots__ = ("value", "aval")

    def __init__(self, value):
        self.value = value
        self.aval = aval_of(value)

    def __repr__(self):
        return format_literal(self.value)


def format_literal(value) -> str:
    if isinstance(value, np.generic) or isinstance(value, np.ndarray):
        return f"{value.item()!r}:{short_dtype(value.dtype)}"
    return repr(value)


class Eqn:
    """outs = prim(*inputs, **params); `where` is the user's source line that recorded it."""

    __slots__ = ("prim", "inputs", "params", "outs", "where")

    def __init__(self, prim: Primitive, inputs: list, params: dict, outs: list[Var], where=None):
        self.prim, self.inputs, self.params, self.outs, self.where = prim, inputs, params, outs, where

    def __repr__(self):
        return f"Eqn({self.prim.name}, {self.inputs}, {self.params}, {self.outs})"


class Program:
    """A typed SSA program. `captures` pairs each captured Var with its value (an array, or a traced value
    of an enclosing trace); callers pass only `inputs`."""

    __slots__ = ("name", "inputs", "captures", "eqns", "outputs")

    def __init__(self, inputs, eqns, outputs, captures=(), name: str = "f"):
        self.name = name
        self.inputs: list[Var] = list(inputs)
        self.captures: list[tuple[Var, Any]] = list(captures)
        self.eqns: list[Eqn] = list(eqns)
        self.outputs: list = list(outputs)

    @property
    def in_avals(self):
        return [v.aval for v in self.inputs]

    @property
    def out_avals(self):
        return [a.aval for a in self.outputs]

    @property
    def capture_vars(self):
        return [v for v, _ in self.captures]

    def closed(self) -> tuple["Program", list]:
        """This program with its captures turned into trailing inputs, and the captured values: a sub-program
        stored in an equation's params must not hold values of the trace that made it."""
        program = Program(self.inputs + self.capture_vars, self.eqns, self.outputs, (), self.name)
        return program, [value for _, value in self.captures]

    def check(self) -> "Program":
        """Raise ValueError unless every Var is defined once before use and every aval matches its rule."""
        defined: set[int] = set()

        def define(v, what):
            if not isinstance(v, Var):
                raise ValueError(f"{what} is not a Var: {v!r}")
            if v.id in defined:
                raise ValueError(f"SSA violation: {v!r} is defined twice ({what})")
            defined.add(v.id)

        def use(a, what):
            if isinstance(a, Var) and a.id not in defined:
                raise ValueError(f"{what} uses {a!r} before it is defined")
            if not isinstance(a, (Var, Lit)):
                raise ValueError(f"{what} has an operand that is neither Var nor Lit: {a!r}")

        for v in self.inputs:
            define(v, "input")
        for v, value in self.captures:
            define(v, "capture")
            if aval_of(value).shape != v.aval.shape or aval_of(value).dtype != v.aval.dtype:
                raise ValueError(f"capture {v!r} holds a value of aval {aval_of(value)}")
        for eqn in self.eqns:
            for a in eqn.inputs:
                use(a, f"equation {eqn.prim.name}")
            expect = eqn.prim.abstract_eval(*[a.aval for a in eqn.inputs], **eqn.params)
            expect = expect if eqn.prim.multiple_results else [expect]
            if len(expect) != len(eqn.outs):
                raise ValueError(f"{eqn.prim.name}: {len(eqn.outs)} outputs, rule gives {len(expect)}")
            for v, av in zip(eqn.outs, expect):
                if (v.aval.shape, v.aval.dtype) != (av.shape, av.dtype):
                    raise ValueError(f"{eqn.prim.name}: output {v!r} declared {v.aval}, rule gives {av}")
                define(v, f"output of {eqn.prim.name}")
            for p in sub_programs(eqn.params):
                p.check()
        for a in self.outputs:
            use(a, "program output")
        return self

    def __str__(self):
        return format_program(self)

    def __repr__(self):
        return f"<Program {self.name}: {len(self.inputs)} inputs, {len(self.eqns)} equations>"

    def _repr_html_(self) -> str:
        """The listing, in Jupyter (where repr() would show only the summary line)."""
        return f"<pre>{html.escape(format_program(self))}</pre>"


_IDENT = re.compile(r"[^0-9a-zA-Z_]")


class Namer:
    """Readable, unique names for the Vars of a program: the user's names where known (x, then x_1, x_2, ...),
    else a, b, c, ... Each name costs O(1): a base remembers the suffix it reached, since names are never freed."""

    def __init__(self, reserved=()):
        self.taken: set[str] = set(reserved)
        self.names: dict[int, str] = {}
        self._suffix: dict[str, int] = {}  # base -> the first n for which base_n may be free
        self._letters = ("".join(p) for n in itertools.count(1) for p in itertools.product(_ALPHABET, repeat=n))

    def __call__(self, v: Var) -> str:
        name = self.names.get(v.id)
        if name is None:
            name = self._fresh(v.hint)
            self.names[v.id] = name
        return name

    def _fresh(self, hint: str | None) -> str:
        if hint:
            base = _IDENT.sub("_", hint)
            if base[0].isdigit():
                base = "_" + base
            if keyword.iskeyword(base):
                base += "_"
            name = base
            if name in self.taken:
                n = self._suffix.get(base, 1)
                while f"{base}_{n}" in self.taken:
                    n += 1
                name, self._suffix[base] = f"{base}_{n}", n + 1
        else:
            name = next(self._letters)
            while name in self.taken or keyword.iskeyword(name):
                name = next(self._letters)
        self.taken.add(name)
        return name


_ALPHABET = "abcdefghijklmnopqrstuvwxyz"


def format_param(value) -> str:
    if isinstance(value, np.dtype) or (isinstance(value, type) and issubclass(value, np.generic)):
        return np.dtype(value).name
    if isinstance(value, Program):
        return "{...}"
    return str(value) if hasattr(value, "_dt_format") else repr(value)


def format_program(program: Program, indent: str = "", namer: Namer | None = None) -> str:
    namer = namer or Namer()

    def atom(a):
        return namer(a) if isinstance(a, Var) else format_literal(a.value)

    def typed(v):
        return f"{namer(v)}:{v.aval}"

    head = f"{indent}program {program.name}({', '.join(typed(v) for v in program.inputs)})"
    lines = [head + ":"]
    if program.captures:
        lines.append(f"{indent}  captures {', '.join(typed(v) for v in program.capture_vars)}")
    for eqn in program.eqns:
        plain = {k: p for k, p in eqn.params.items() if not sub_programs({k: p})}
        params = ", ".join(f"{k}={format_param(p)}" for k, p in plain.items())
        name = eqn.prim.name + (f"[{params}]" if params else "")
        outs = " ".join(typed(v) for v in eqn.outs)
        lines.append(f"{indent}  {outs} = {name} {' '.join(atom(a) for a in eqn.inputs)}".rstrip())
        for k, value in eqn.params.items():
            for sub in sub_programs({k: value}):
                lines.append(f"{indent}    {k}:")
                lines.append(format_program(sub, indent + "      ", namer))
    lines.append(f"{indent}  return {', '.join(atom(a) for a in program.outputs)}")
    return "\n".join(lines)
