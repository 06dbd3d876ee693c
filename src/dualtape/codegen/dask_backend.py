"""backend="dask": the emitted program run on dask.array, lazily, so inputs larger than memory (or than one
worker's) flow through chunk by chunk. The emitter's `xp` calls go to a namespace over dask.array with the few
per-backend helpers it lacks (uneven and empty reshapes, copy, NumPy's dtypes); scatter-adds, which dask cannot
do with repeated indices, run as one NumPy task. Straight-line programs only: a loop's body would be a new graph
per step, so loops and branches are refused, pointing at dt.parallel (sharding, docs/scale.md)."""

from __future__ import annotations

import ast
import functools
import importlib

import numpy as np

from ..core.ir import Eqn, Program, Var, all_eqns
from ..core.primitive import REGISTRY
from ..errors import BackendError, optional_module
from ..ops.indexing import Index, Slice
from .emit import Emitted, _Emitter, emit_program, param_ast
from .portable import NUMPY_NAMES
from .runtime import helpers_for

INSTALL = "pip install 'dualtape[dask]'"
STRAIGHT_LINE_ONLY = ("while_loop", "while_loop_tape", "while_loop_adjoint", "scan", "cond")


def dask_array():
    """The dask.array module, or a BackendError naming the extra."""
    return optional_module("dask.array", "backend='dask'", "dask", INSTALL)


class DaskNamespace:
    """What emitted code calls `xp`: dask.array's functions, dualtape's helpers where dask lacks one, and
    NumPy's dtypes and constants (dask.array has no float16 or bfloat16, and no pi)."""

    def __init__(self):
        self.da = dask_array()
        self.ndarray = self.da.Array

    def __getattr__(self, name):
        found = getattr(self.da, NUMPY_NAMES.get(name, name), None)  # (dask.array has NumPy 1's names)
        if found is not None:
            return found
        value = getattr(np, name, None)
        if (isinstance(value, type) and issubclass(value, np.generic)) or isinstance(value, (int, float)):
            return value
        raise AttributeError(f"dask.array has no {name}")

    def copy(self, x):
        return x.copy() if isinstance(x, self.da.Array) else np.copy(x)

    def reshape(self, x, shape):
        """da.reshape, which splits and merges axes only evenly: else the axes after those the reshape keeps are
        made one chunk and each block reshaped on its own. An empty array has no values to move, and dask's
        reshape fails on a zero-length axis: its reshape is zeros of the new shape."""
        if not isinstance(x, self.da.Array):
            return np.reshape(x, shape)
        shape = tuple(shape)
        if x.size == 0:
            return self.da.zeros(shape, x.dtype)
        try:
            return self.da.reshape(x, shape)
        except (ValueError, NotImplementedError):  # (older dask raised ValueError)
            kept = next((i for i, (a, b) in enumerate(zip(x.shape, shape)) if a != b), min(x.ndim, len(shape)))
            whole = x.rechunk({i: -1 for i in range(kept, x.ndim)})
            return whole.map_blocks(
                lambda block: block.reshape(block.shape[:kept] + shape[kept:]), dtype=x.dtype,
                chunks=whole.chunks[:kept] + tuple((n,) for n in shape[kept:]),
                drop_axis=list(range(kept, x.ndim)), new_axis=list(range(kept, len(shape))))


def _scatter_add_numpy(g, shape, index, dtype):
    out = np.zeros(shape, dtype)
    np.add.at(out, index, np.asarray(g))
    return out


def index_add_helper(xp: DaskNamespace):
    def index_add(g, shape, index):
        """zeros(shape) with g added at index, repeated indices accumulating: one NumPy task (dask's item
        assignment keeps only one of the writes to a repeated index)."""
        dtype = getattr(g, "dtype", None) or np.asarray(g).dtype
        delayed = importlib.import_module("dask").delayed
        task = delayed(_scatter_add_numpy)(g, shape, index, dtype)
        return xp.da.from_delayed(task, shape, dtype)

    return index_add


def index_update_helper(xp: DaskNamespace):
    def index_update(x, v, index):
        """A copy of x with v written at index. An empty region takes no write: dask's item assignment refuses
        any value for it but one of size 1."""
        out = xp.copy(x)
        if 0 not in out[index].shape:
            out[index] = v
        return out

    return index_update


HELPERS = {"index_add": index_add_helper, "index_update": index_update_helper}


def numpy_task(fn, outs, *args):
    """fn (a NumPy statement) as one task of the graph, on its operands computed whole; outs: the (shape,
    dtype) of each result, which the program knows, so the results join the graph as dask arrays."""
    da, delayed = dask_array(), importlib.import_module("dask").delayed
    value = delayed(fn, pure=True)(*args)
    if len(outs) == 1:
        return da.from_delayed(value, *outs[0])
    return tuple(da.from_delayed(value[i], shape, dtype) for i, (shape, dtype) in enumerate(outs))


class DaskEmitter(_Emitter):
    """The NumPy emitter, with each statement dask.array cannot run (a function it lacks, linear algebra and
    FFTs whose core axes it needs in one chunk, NumPy-only runtime helpers) written as one NumPy task:
    `c = numpy_task(lambda a: np.linalg.inv(a), [((3, 3), 'float64')], a)`."""

    def __init__(self, namer, comments: bool):
        super().__init__(namer, comments)
        self.xp = DaskNamespace()

    def statement(self, eqn, owned, indent: str) -> None:
        eqn = empty_slices_spelled_out(eqn)
        atoms = [self.atom(a) for a in eqn.inputs]
        numbers = all(type(a) is not Var or a.aval.weak for a in eqn.inputs)
        expr = eqn.prim.emit(atoms, eqn.params, param_ast, numbers=numbers)
        if self.runs_on_dask(expr):
            return super().statement(eqn, owned, indent)
        names = list(dict.fromkeys(self.namer(a) for a in eqn.inputs if type(a) is Var))
        body = ast.unparse(_ToNumpy().visit(expr))
        outs = ", ".join(f"({tuple(v.aval.shape)!r}, {str(v.aval.dtype)!r})" for v in eqn.outs)
        targets = ", ".join(self.namer(v) for v in eqn.outs) + (
            "," if eqn.prim.multiple_results and len(eqn.outs) == 1 else "")
        self.lines.append(f"{indent}{targets} = numpy_task(lambda {', '.join(names)}: {body}, [{outs}]"
                          f"{''.join(', ' + n for n in names)})  # {eqn.prim.name}: one NumPy task")

    def runs_on_dask(self, expr: ast.expr) -> bool:
        for node in ast.walk(expr):
            if isinstance(node, ast.Subscript) and _advanced(node.slice):
                return False  # (dask indexes with an array along one axis at most)
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if isinstance(func, ast.Name):  # (a runtime helper: dask has its own only for these)
                if func.id in runtime_helpers() and func.id not in HELPERS:
                    return False
            elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Attribute) and isinstance(
                    func.value.value, ast.Name) and func.value.value.id == "xp":
                return False  # (xp.linalg.*, xp.fft.*)
            elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "xp":
                try:
                    getattr(self.xp, func.attr)
                except AttributeError:
                    return False
        return True


def empty_slices_spelled_out(eqn: Eqn) -> Eqn:
    """eqn with each slice that steps back from before its axis's start (nothing, in NumPy) written `0:0`:
    dask reads such a start as the axis's end (x[-4::-2] of 3 rows is x[2], x[0] there), reading and writing."""
    if eqn.prim.name not in ("getitem", "index_update"):
        return eqn
    shape, entries, axis = eqn.inputs[0].aval.shape, [], 0
    for e in eqn.params["index"]:
        if type(e) is Slice and e.step is not None and e.step < 0 and e.start is not None and e.start < -shape[axis]:
            e = Slice(0, 0, None)
        entries.append(e)
        axis += e is not None and e is not Ellipsis
    if entries == list(eqn.params["index"]):
        return eqn
    return Eqn(eqn.prim, eqn.inputs, {**eqn.params, "index": Index(entries)}, eqn.outs, eqn.where)


def _advanced(index: ast.expr) -> bool:
    """Whether an index expression may hold arrays (names, lists, calls), not only ints, slices and None."""
    calls_slice = {id(n.func) for n in ast.walk(index) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
                   and n.func.id == "slice"}
    return any(isinstance(n, (ast.Name, ast.List)) and id(n) not in calls_slice or
               isinstance(n, ast.Call) and id(n.func) not in calls_slice for n in ast.walk(index))


class _ToNumpy(ast.NodeTransformer):
    """xp.<name> as np.<name>, and a runtime helper as its NumPy build (np_<helper>)."""

    def visit_Name(self, node):
        return ast.Name("np", ast.Load()) if node.id == "xp" else node

    def visit_Call(self, node):
        self.generic_visit(node)
        if isinstance(node.func, ast.Name) and node.func.id in runtime_helpers():
            node.func = ast.Name(f"np_{node.func.id}", ast.Load())
        return node


@functools.cache
def runtime_helpers() -> frozenset:
    """The names of the runtime helpers primitives emit calls to (index_add, solve_triangular, erf, ...)."""
    return frozenset(name for prim in REGISTRY.values() for name in prim.helpers)


def emit(program: Program, comments: bool = True) -> Emitted:
    """The program's source for dask (the NumPy emitter's, with NumPy tasks where dask cannot run a statement)."""
    return emit_program(program, comments=comments, emitter=DaskEmitter)


def namespace_for(program: Program, xp: DaskNamespace) -> dict:
    """What the emitted source reads besides its captured values: xp, np, numpy_task, dask's scatter helpers,
    and NumPy's build of every other runtime helper (np_<name>, called inside NumPy tasks)."""
    found = {"xp": xp, "np": np, "numpy_task": numpy_task}
    for name, helper in helpers_for(program, np).items():
        found[f"np_{name}"] = helper
        if name in HELPERS:
            found[name] = HELPERS[name](xp)
    return found


def refuse_control_flow(program: Program) -> None:
    """A BackendError naming the first loop or branch in the program (or one of its sub-programs)."""
    for eqn in all_eqns(program):
        if eqn.prim.name in STRAIGHT_LINE_ONLY:
            raise BackendError(
                f"backend='dask' runs straight-line programs, and {program.name} has a {eqn.prim.name} (from "
                "dt.fori_loop / dt.while_loop / dt.scan / dt.cond, or a Python loop or if that autograph "
                "converted): each step of a loop on dask arrays would build a new task graph. Shard the batch "
                "instead: dt.parallel.data_parallel runs the compiled NumPy program per shard on a Dask cluster "
                "(docs/scale.md)")


def missing_calls(source: str, xp: DaskNamespace) -> list[str]:
    """The `xp.<name>` calls in source that the dask namespace cannot resolve."""
    missing = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "xp":
            try:
                getattr(xp, node.attr)
            except AttributeError:
                missing.add(f"xp.{node.attr}")
        elif (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute)
              and isinstance(node.value.value, ast.Name) and node.value.value.id == "xp"):
            module = getattr(xp, node.value.attr, None)
            if module is None or getattr(module, node.attr, None) is None:
                missing.add(f"xp.{node.value.attr}.{node.attr}")
    return sorted(missing)


def lazy(fn, xp: DaskNamespace, n_outputs: int, to_host: bool):
    """fn over dask arrays (NumPy arguments join the graph as they are); its results stay lazy dask arrays, or
    with to_host are computed together (one pass over the shared graph) into NumPy arrays."""

    @functools.wraps(fn)
    def call(*args):
        outs = fn(*args)
        if not to_host:
            return outs
        computed = importlib.import_module("dask").compute(*(outs if n_outputs != 1 else (outs,)))
        return computed[0] if n_outputs == 1 else tuple(computed)

    return call
