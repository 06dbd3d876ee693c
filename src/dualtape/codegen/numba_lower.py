"""Program -> source that Numba compiles in nopython mode: the NumPy emitter (codegen/emit.py), with each
statement lowered where NumPy's spelling has no Numba form.

Shapes are static, so what Numba lacks is written with them: a reduction over axes becomes a reduction over the
rows of a 2-D reshape (codegen/numba_kernels.py), squeeze / expand_dims / reshape to a known shape, a 0-d value
a scalar. Python-number operands are cast to the dtype NumPy 2 gives their result (Numba would widen a float32
array times 0.5 to float64). A statement with no lowering (einsum, linalg, FFT, scatters, SciPy's special
functions) runs in object mode, that statement only: `with objmode(out="float64[:, ::1]"): out = <NumPy>`.
Loops over `reversed(...)`, which Numba cannot type, become index loops counting down.
"""

from __future__ import annotations

import ast
import keyword
from typing import NamedTuple

import numpy as np

from ..core.ir import Namer, Program, Var
from ..core.primitive import REGISTRY
from .emit import _RESERVED, _Emitter, _fresh_results, _helpers_used, param_ast
from .numba_carry import carried_in_place
from .numba_fuse import emit_chain, find_chains, sink_into_chains

NO_UFUNC = {"heaviside"}  # elementwise rows whose xp ufunc Numba does not implement
SUPPORTED = {"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float32", "float64",
             "complex64", "complex128"}
HELPERS = ("sum_rows", "prod_rows", "max_rows", "min_rows", "matvec", "matmat")  # (codegen/numba_kernels.py)
SMALL_MATMUL = 1 << 20  # multiply-adds up to which a product runs as loops, not a BLAS call (docs/numba.md)


class Lowered(NamedTuple):
    """Kernel source (an undecorated function whose trailing parameters are the captured values), its name, the
    captured values in parameter order, the statements left to object mode, and the first line of each
    statement (source line -> equation), to put a statement Numba cannot type in object mode (or out of its fused
    loop) and try again."""

    source: str
    name: str
    captured: dict
    fallbacks: list
    line_eqns: dict
    fused: frozenset  # ids of the statements written inside a fused loop (codegen/numba_fuse.py)


def supported(aval) -> bool:
    return aval.dtype.name in SUPPORTED


def numba_type(aval) -> str:
    """The Numba type an objmode block declares for a value: a scalar for shape (), else a C-contiguous array."""
    name = "boolean" if aval.dtype == np.bool_ else aval.dtype.name
    if aval.shape == ():
        return name
    return f"{name}[{', '.join([':'] * (len(aval.shape) - 1) + ['::1'])}]"


class _Lines(list):
    """The emitted lines; a `for` over `reversed(...)` (scans and tape walks) is rewritten as it is appended."""

    def __init__(self):
        super().__init__()
        self.steps = 0

    def append(self, line: str) -> None:
        stripped = line.lstrip()
        if stripped.startswith("for ") and "reversed(" in stripped:
            indent = line[:len(line) - len(stripped)]
            header, _, comment = stripped.partition(":")
            loop = ast.parse(header + ":\n    pass").body[0]
            return self.extend(self._count_down(indent, loop, comment))
        return super().append(line)

    def _count_down(self, indent: str, loop: ast.For, comment: str) -> list[str]:
        walk = loop.iter
        if _is_call(walk, "reversed") and _is_call(walk.args[0], "range"):
            n = ast.unparse(walk.args[0].args[-1])
            return [f"{indent}for {ast.unparse(loop.target)} in range({n} - 1, -1, -1):{comment}"]
        lists = walk.args if _is_call(walk, "zip") else [walk]
        targets = loop.target.elts if _is_call(walk, "zip") else [loop.target]
        names = [ast.unparse(w.args[0]) for w in lists]
        step = f"step_{self.steps}"
        self.steps += 1
        lines = [f"{indent}for {step} in range(len({names[0]}) - 1, -1, -1):{comment}"]
        unpacked = [(ast.unparse(t), n) for t, n in zip(targets, names)]
        lines += [f"{indent}    {t} = {n}[{step}]" for t, n in unpacked if t != "_"]
        return lines


def _is_call(node, name: str) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name


def _dtype(dtype) -> str:
    return "xp.bool_" if dtype == np.bool_ else f"xp.{np.dtype(dtype).name}"


def _weak_example(dtype):
    return {"b": True, "i": 0, "u": 0, "f": 0.0, "c": 0j}[dtype.kind]


class _CastConstants(ast.NodeTransformer):
    """Numbers written in a row's template (relu's 0, sigmoid's 0) cast to the result's dtype."""

    def __init__(self, dtype):
        self.dtype = dtype

    def visit_Subscript(self, node):  # (an element's index in a fused loop stays an integer)
        return node

    def visit_Constant(self, node):
        if type(node.value) in (int, float):
            return ast.parse(f"{_dtype(self.dtype)}({node.value!r})", mode="eval").body
        return node


class NumbaEmitter(_Emitter):
    """The NumPy emitter with statements lowered for Numba, or put in object mode where they cannot be."""

    def __init__(self, namer: Namer, comments: bool, forced: frozenset, unfused: frozenset = frozenset()):
        super().__init__(namer, comments)
        self.lines = _Lines()
        self.forced, self.unfused, self.fallbacks, self.line_eqns = forced, unfused, [], {}
        self.chains: dict = {}  # id(eqn) -> the fused chain it belongs to
        self.in_place: dict = {}  # id(eqn) -> the loop state whose memory its fused loop writes (numba_carry.py)
        self.copied: set = set()  # ids of loop states copied on entry, to be written in place

    def block(self, program: Program, indent: str = "    ") -> None:
        skip = lambda e: id(e) in self.forced or lower(self, e) is None
        program = sink_into_chains(program, self.unfused, skip)
        for chain in find_chains(program, self.unfused, skip):
            self.chains.update((id(e), chain) for e in chain.eqns)
        scratch = NumbaEmitter(Namer(set()), False, self.forced, self.unfused)  # (names no sub-program's values)
        in_place, copied = carried_in_place(program, self.unfused,
                                            lambda e: id(e) in self.forced or lower(scratch, e) is None)
        self.in_place.update(in_place)
        self.copied |= copied
        super().block(program, indent)

    def assign_all(self, targets, sources, indent: str) -> None:
        super().assign_all(targets, sources, indent)
        for v in targets:  # (a loop's state binding: a state its body writes in place gets memory of its own)
            if v.id in self.copied:
                self.copied.discard(v.id)
                name = self.namer(v)
                self.lines.append(f"{indent}{name} = xp.copy({name})  # (written in place by the loop below)")

    def statement(self, eqn, owned, indent: str) -> None:
        chain = self.chains.get(id(eqn))
        if chain is not None:  # (the chain is written at its last statement, as one loop)
            if eqn is chain.eqns[-1]:
                emit_chain(self, chain, indent, lambda em, e, atom: _elementwise(em, e, atom, scalar=True))
            return
        self.line_eqns[len(self.lines)] = eqn
        expr = None if id(eqn) in self.forced else lower(self, eqn)
        if expr is None:
            return self.object_mode(eqn, indent)
        targets = ", ".join(self.namer(v) for v in eqn.outs) + ("," if eqn.prim.multiple_results
                                                                and len(eqn.outs) == 1 else "")
        self.lines.append(f"{indent}{targets} = {expr}")

    def name(self, a) -> str:
        return ast.unparse(self.atom(a))

    def object_mode(self, eqn, indent: str) -> None:
        """The statement as NumPy runs it, in an objmode block declaring its results' types."""
        self.fallbacks.append(eqn)
        atoms = [ast.parse(f"{_dtype(a.aval.dtype)}({self.name(a)})", mode="eval").body
                 if type(a) is Var and a.aval.shape == () and not a.aval.weak else self.atom(a) for a in eqn.inputs]
        numbers = all(type(a) is not Var or a.aval.weak for a in eqn.inputs)
        expr = ast.unparse(eqn.prim.emit(atoms, eqn.params, param_ast, numbers=numbers))
        names = [self.namer(v) for v in eqn.outs]
        declared = ", ".join(f"{n}={numba_type(v.aval)!r}" for n, v in zip(names, eqn.outs))
        self.lines.append(f"{indent}with objmode({declared}):  # {eqn.prim.name}: NumPy, in object mode")
        targets = ", ".join(names) + ("," if eqn.prim.multiple_results and len(names) == 1 else "")
        self.lines.append(f"{indent}    {targets} = {expr}")
        for n, v in zip(names, eqn.outs):
            fix = f"{_dtype(v.aval.dtype)}({n})" if v.aval.shape == () else f"xp.ascontiguousarray({n})"
            self.lines.append(f"{indent}    {n} = {fix}")

def lower(em: NumbaEmitter, eqn) -> str | None:
    """The Numba expression of a statement, or None to run it in object mode."""
    if not all(supported(v.aval) for v in eqn.outs) or not all(supported(_aval(a)) for a in eqn.inputs):
        return None
    if eqn.prim.elementwise:
        return _elementwise(em, eqn)
    rule = _LOWERINGS.get(eqn.prim.name)
    return rule(em, eqn, [em.name(a) for a in eqn.inputs], eqn.outs[0].aval, **eqn.params) if rule else None


def _aval(a):
    return a.aval if type(a) is Var else _LitAval(np.asarray(a.value).dtype)


class _LitAval(NamedTuple):
    dtype: np.dtype
    shape: tuple = ()
    weak: bool = True


def _elementwise(em: NumbaEmitter, eqn, atom=None, scalar: bool = False) -> str | None:
    """The statement's expression (atom(a): an operand as source, by default its name; scalar: every operand is
    a scalar, as inside a fused loop)."""
    prim, out = eqn.prim, eqn.outs[0].aval
    if prim.helpers and prim.name not in ("div", "floor_divide", "mod", "pow") or prim.name in NO_UFUNC:
        return None  # (those four name a helper only for Python numbers, which Numba divides as NumPy does)
    weak = [type(a) is not Var and isinstance(a.value, (bool, int, float, complex)) or type(a) is Var and a.aval.weak
            for a in eqn.inputs]
    strong = [_aval(a).dtype for a, w in zip(eqn.inputs, weak) if not w]
    atoms = []
    for a, w in zip(eqn.inputs, weak):
        operand = (atom or em.atom)(a)
        target = np.result_type(*strong, _weak_example(_aval(a).dtype)) if w and strong else None
        if target is not None and target != np.result_type(_weak_example(_aval(a).dtype)):
            operand = ast.parse(f"{_dtype(target)}({ast.unparse(operand)})", mode="eval").body
        atoms.append(operand)
    if prim.name == "where" and (scalar or all(_aval(a).shape == () for a in eqn.inputs)):
        c, x, y = (ast.unparse(t) for t in atoms)
        return f"{x} if {c} else {y}"
    expr = prim.emit(atoms, eqn.params, param_ast)
    if out.dtype.kind in "fciu" and out.dtype not in (np.float64, np.complex128, np.int64):
        expr = _CastConstants(out.dtype).visit(expr)
    return ast.unparse(expr)


def _reduction(numpy_name: str, helper: str, identity):
    def lower_reduction(em, eqn, operands, out, axes, keepdims):
        x, (src,) = eqn.inputs[0].aval, operands
        axes = tuple(sorted(a % x.ndim for a in axes)) if x.ndim else ()
        if not axes:
            return (src if x.ndim == 0 else f"xp.copy({src})") if x.dtype == out.dtype else None
        kept = [d for d in range(x.ndim) if d not in axes]
        size_kept = int(np.prod([x.shape[d] for d in kept]))
        size_reduced = int(np.prod([x.shape[d] for d in axes]))
        if size_reduced == 0 and identity is None:
            return None
        if not kept and out.shape == () and x.dtype == out.dtype and x.dtype.kind in "fc":
            return f"xp.{numpy_name}({src})"
        perm = tuple(kept + list(axes))
        moved = src if perm == tuple(range(x.ndim)) else f"{src}.transpose({perm})"
        rows = f"xp.ascontiguousarray({moved}).reshape(({size_kept}, {size_reduced}))"
        start = "" if identity is None else f", {_dtype(out.dtype)}({identity})"
        call = f"{helper}({rows}{start})" if identity is not None or x.dtype == out.dtype else None
        if call is None:
            return None
        if out.shape == ():
            return f"{call}[0]"
        return call if out.shape == (size_kept,) else f"{call}.reshape({out.shape})"

    return lower_reduction


def _reshaped(em, eqn, operands, out, **_):
    x, (src,) = eqn.inputs[0].aval, operands
    if x.shape == out.shape:
        return src
    if x.shape == ():
        return f"xp.full({out.shape}, {src})"
    if out.shape == ():
        return f"xp.ascontiguousarray({src}).reshape(1)[0]"
    return f"xp.ascontiguousarray({src}).reshape({out.shape})"


def _broadcast_to(em, eqn, operands, out, shape):
    x, (src,) = eqn.inputs[0].aval, operands
    if x.shape == out.shape:
        return src
    return f"xp.full({out.shape}, {src})" if x.shape == () else f"xp.broadcast_to({src}, {out.shape})"


def _transpose(em, eqn, operands, out, perm):
    return operands[0] if len(perm) < 2 else f"{operands[0]}.transpose({tuple(perm)})"


def _convert(em, eqn, operands, out, dtype):
    x = eqn.inputs[0].aval
    if x.dtype.kind == "c" and out.dtype.kind != "c":
        return None
    return f"{_dtype(out.dtype)}({operands[0]})" if out.shape == () else f"{operands[0]}.astype({_dtype(out.dtype)})"


def _contiguous(em, eqn, operands, out):
    return operands[0] if out.shape == () else f"xp.ascontiguousarray({operands[0]})"


def _full(em, eqn, operands, out, shape, fill_value, dtype):
    value = f"{_dtype(out.dtype)}({ast.unparse(param_ast(fill_value))})"
    return value if out.shape == () else f"xp.full({out.shape}, {value})"


def _matmul(em, eqn, operands, out):
    a, b = (v.aval for v in eqn.inputs) if all(type(v) is Var for v in eqn.inputs) else (None, None)
    if a is None or not (1 <= a.ndim <= 2 and 1 <= b.ndim <= 2) or a.dtype != b.dtype or a.dtype.kind not in "fc":
        return None
    flops = int(np.prod(out.shape or (1,))) * a.shape[-1]
    if flops > SMALL_MATMUL:
        return f"{operands[0]} @ {operands[1]}"
    left, right = (f"xp.ascontiguousarray({o})" for o in operands)
    if a.ndim == 2 and b.ndim == 1:
        return f"matvec({left}, {right})"
    if a.ndim == 1 and b.ndim == 2:  # (x @ b as bᵀ's rows would be strided: a row times b instead)
        return f"matmat({left}.reshape((1, {a.shape[0]})), {right}).reshape({out.shape})"
    if a.ndim == 1:
        return f"xp.dot({operands[0]}, {operands[1]})"
    return f"matmat({left}, {right})"


def _concatenate(em, eqn, operands, out, axis):
    if any(type(a) is not Var or a.aval.shape == () or a.aval.dtype != out.dtype for a in eqn.inputs):
        return None
    return f"xp.concatenate(({', '.join(operands)},), axis={axis})"


def _scan_1d(name: str):
    def lower_scan(em, eqn, operands, out, axis):
        x = eqn.inputs[0].aval
        return f"xp.{name}({operands[0]})" if x.ndim == 1 and x.dtype == out.dtype else None

    return lower_scan


def _arg_reduction(name: str):
    def lower_arg(em, eqn, operands, out, axis, keepdims):
        x = eqn.inputs[0].aval
        return f"xp.{name}({operands[0]})" if x.ndim == 1 and out.shape == () else None

    return lower_arg


def _argsort(em, eqn, operands, out, axis, **_):
    return f"xp.argsort({operands[0]}, kind='mergesort')" if eqn.inputs[0].aval.ndim == 1 else None


def _as_emitted(em, eqn, operands, out, **params):
    """Numba's own form of this NumPy expression (basic and one-array indexing, integer powers)."""
    if eqn.prim.name == "integer_pow" and out.shape == () and out.dtype.kind in "iu" and params.get("y", 0) < 0:
        return None
    return ast.unparse(eqn.prim.emit([em.atom(a) for a in eqn.inputs], eqn.params, param_ast))


_LOWERINGS = {
    "reduce_sum": _reduction("sum", "sum_rows", 0), "reduce_prod": _reduction("prod", "prod_rows", 1),
    "reduce_max": _reduction("max", "max_rows", None), "reduce_min": _reduction("min", "min_rows", None),
    "reshape": _reshaped, "squeeze": _reshaped, "expand_dims": _reshaped, "broadcast_to": _broadcast_to,
    "transpose": _transpose, "convert_element_type": _convert, "contiguous": _contiguous, "full": _full,
    "matmul": _matmul, "concatenate": _concatenate, "cumsum": _scan_1d("cumsum"), "cumprod": _scan_1d("cumprod"),
    "argmax": _arg_reduction("argmax"), "argmin": _arg_reduction("argmin"), "argsort": _argsort,
    "getitem": _as_emitted, "integer_pow": _as_emitted,
}


def lower_program(program: Program, comments: bool = True, forced: frozenset = frozenset(),
                  unfused: frozenset = frozenset()) -> Lowered:
    """The program as the source of one Numba kernel: the program's inputs, then its captured values."""
    fn_name = program.name
    if fn_name == "xp" or keyword.iskeyword(fn_name) or fn_name in _helpers_used(program) or fn_name in HELPERS:
        fn_name += "_"
    reserved = _RESERVED | {name for prim in REGISTRY.values() for name in prim.helpers} | set(HELPERS)
    namer = Namer(reserved | {fn_name, "objmode"})
    emitter = NumbaEmitter(namer, comments, forced, unfused)
    arg_names = [namer(v) for v in program.inputs]
    header = len(emitter.lines)
    emitter.lines.append("")  # (the def line, once the captured values are known)
    emitter.block(program)
    results = _fresh_results(emitter, program)
    emitter.lines.append(f"    return {results[0]}" if len(results) == 1 else f"    return ({', '.join(results)})")
    emitter.lines[header] = f"def {fn_name}({', '.join(arg_names + list(emitter.globals))}):"
    line_eqns = {k + 1: e for k, e in emitter.line_eqns.items()}
    fused = frozenset(emitter.chains)
    return Lowered("\n".join(emitter.lines) + "\n", fn_name, emitter.globals, emitter.fallbacks, line_eqns, fused)
