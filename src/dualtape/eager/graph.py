"""The nodes of the eager backward graph (`grad_fn`): one per recorded operation, named as PyTorch names
them (MulBackward0, ...), with `next_functions` pointing at the nodes of the operands (AccumulateGrad for
leaves). A node keeps the operands and the output's value its primitive's VJP rule reads (the registry's
rule: no derivative is written here), and frees them after backward unless the graph is retained."""

from __future__ import annotations

import itertools
import weakref

from ..avals import ShapedArray

_sequence = itertools.count()  # creation order: a node is always made after the nodes of its operands

_NAMED_BY_OPERANDS = frozenset({"matmul", "pow", "sub", "mod", "reduce_sum", "reduce_max", "reduce_min", "getitem"})


def torch_name(prim, operands, params=None) -> str:
    """PyTorch's name for the backward node of prim (its row's torch_node face): its overload shows in the
    number (x ** 2 is PowBackward0, x ** y PowBackward1, 2 ** x PowBackward2; x % 2 RemainderBackward0, x % y
    RemainderBackward1; sum() SumBackward0, sum(dim) SumBackward1), matmul by ranks (Mm, Mv, Dot), indexing by
    index kind (Select, Slice or Index)."""
    name, params = prim.name, params or {}
    scalar = [type(x) in (int, float) for x in operands]  # a Python number, not a tensor (nor np.float64)
    if name == "matmul":
        ranks = [getattr(x, "ndim", 0) for x in operands]
        return {(2, 2): "MmBackward0", (2, 1): "MvBackward0", (1, 1): "DotBackward0"}.get(tuple(ranks),
                                                                                         "MatmulBackward0")
    if name == "pow":
        return "PowBackward2" if scalar[0] else "PowBackward0" if scalar[1] else "PowBackward1"
    if name == "sub" and scalar[0]:
        return "RsubBackward1"
    if name == "mod":
        return "RemainderBackward0" if scalar[1] else "RemainderBackward1"
    if name in ("reduce_sum", "reduce_max", "reduce_min") and "axes" in params:
        whole = set(params["axes"]) == set(range(getattr(operands[0], "ndim", 0))) and not params.get("keepdims")
        overload = (not whole) if name == "reduce_sum" else whole  # PyTorch: sum() is overload 0, max() is 1
        return prim.faces.torch_node[:-1] + str(int(overload))
    if name == "getitem" and "index" in params:
        return _indexing_name(params["index"], getattr(operands[0], "shape", ()))
    return prim.faces.torch_node or "".join(p.capitalize() for p in name.split("_")) + "Backward0"


def _indexing_name(index, shape) -> str:
    """PyTorch's node for x[index]: IndexBackward0 with an index array; else that of the last step of basic
    indexing, which PyTorch takes left to right (an int selects, a slice slices, None unsqueezes), skipping the
    slices of a tuple that keep a whole dimension; AliasBackward0 when nothing is left."""
    last, dim, lone = None, 0, len(index) == 1
    for entry in index:
        kind = type(entry).__name__
        if kind == "ArrayIndex":
            return "IndexBackward0"
        if entry is None:
            last = "UnsqueezeBackward0"
        elif kind == "Slice":
            size = shape[dim] if dim < len(shape) else 0
            if lone or slice(*entry).indices(size) != (0, size, 1):
                last = "SliceBackward0"
            dim += 1
        elif entry is not Ellipsis:
            last, dim = "SelectBackward0", dim + 1
    return last or "AliasBackward0"


def _saves_values(node) -> bool:
    """Whether a node's rules read values (its operands' or its result's), which a backward without
    retain_graph frees, so a second backward through it fails, as PyTorch's; a rule reading only shapes (add,
    sum, views, slicing) saves none, and its node runs again. Index arrays count as saved (PyTorch saves them)."""
    prim, reads = node.prim, node.prim.vjp_reads
    if prim.linear_vjp:  # (getitem's index arrays are its operands past the first, `*xs`)
        return len(node.raw) > 1 and any("xs" in names for names in reads or ())
    return reads is None or any(edge is not None and k < len(reads) and reads[k]
                                for k, edge in enumerate(node.edges))


def flip_convention(g):
    """A cotangent between the conventions: the graph's rules are JAX's (a VJP is the transpose of the JVP
    under Re(sum(c * t))), and what users see and give (.grad, hooks, gradient=, a Function's backward) is
    PyTorch's, its complex conjugate; real values are the same in both."""
    dtype = getattr(g, "dtype", None)
    if dtype is None or dtype.kind != "c":
        return g
    return g.conj()


class Node:
    """A grad_fn: how to pull an output cotangent back to the operands of one recorded operation."""

    __slots__ = ("_name", "seq", "inputs", "raw", "edges", "versions", "out_data", "out_ref", "freed", "hooks",
                 "__weakref__")

    def __init__(self, name: str, inputs, out_data, out_tensor):
        self._name = name
        self.inputs = list(inputs)  # the operands as given: Tensors (graph edges) or plain values
        self.edges, self.versions, self.raw = [], [], []
        for x in self.inputs:
            tensor = getattr(x, "_dt_eager", False)
            self.edges.append(edge_of(x) if tensor else None)
            self.versions.append(x._version[0] if tensor else None)
            self.raw.append(x._array if tensor else x)  # the arrays the rule reads (when no graph is built)
        self.seq = next(_sequence)  # (after the edges: reading a view's grad_fn may make its node now)
        self.out_data = out_data
        self.out_ref = None  # a weak reference to the output, set once it has hooks or retains its grad
        self.freed = False
        self.hooks = None

    def name(self) -> str:
        return self._name

    def __repr__(self):
        return f"<{self.name()}>"

    @property
    def next_functions(self):
        return tuple((edge, 0) for edge in self.edges)

    def free(self) -> None:
        """Drop the saved values (after a backward that does not retain the graph); the edges stay."""
        self.freed = True
        self.out_data = None
        self.inputs = self.raw = [None] * len(self.inputs)

    def register_hook(self, fn):
        """fn(grad_inputs, grad_outputs) -> None or replacement grad_inputs, called after this node runs."""
        if self.hooks is None:
            self.hooks = []
        self.hooks.append(fn)
        return _Handle(self.hooks, fn)


class Unread(ShapedArray):
    """What a node keeps of a value that no VJP rule it will run reads: its shape and dtype, all that fitting a
    cotangent to it needs (as PyTorch saves only what backward uses, so the array itself can be freed)."""

    __slots__ = ()
    weak = False  # (a tensor's array: never a weak Python number)

    @property
    def aval(self):
        return self


def unread(data) -> Unread:
    """The Unread of an array (of a Python number: itself, which costs nothing to keep)."""
    shape = getattr(data, "shape", None)
    if shape is None:
        return data
    kept = Unread.__new__(Unread)  # (an array's shape and dtype are already a tuple and a dtype)
    kept.shape, kept.dtype = shape, data.dtype
    return kept


class PrimitiveNode(Node):
    """The node of a registry primitive; its backward is the primitive's VJP rule. What it keeps is what the
    rules read: operands no rule reads are Unread, and out_data is the result, or only its shape (a tuple)."""

    __slots__ = ("prim", "params", "out_version", "out_seen", "cast_from", "saves")

    def __init__(self, prim, params, inputs, raw, edges, versions, out_data, out_version, saves=None):
        # (the eager trace has already walked the operands: no second pass here, this is the hot path)
        self._name, self.seq, self.inputs, self.raw, self.edges = None, next(_sequence), inputs, raw, edges
        self.versions, self.out_data, self.out_ref, self.freed, self.hooks = versions, out_data, None, False, None
        self.prim, self.params, self.cast_from, self.saves = prim, params, None, saves  # saves: whether the rules
        # that run read values (None: find out when freeing); cast_from: per operand promoted by PyTorch's
        # rules before the op (else None), its Unread before: its cotangent is fitted back to that dtype
        # the output's version counter (shared with its aliases), when the rule reads the output
        self.out_version = out_version if prim.vjp_reads_out else None
        self.out_seen = out_version[0]  # (a view shares its base's counter, which need not be at 0)

    def name(self) -> str:
        if self._name is None:  # named on first use (most nodes are never asked)
            self._name = torch_name(self.prim, [getattr(x, "_array", x) for x in self.inputs], self.params)
        return self._name

    def free(self) -> None:
        """Drop the values saved for the rules (keeping their shapes, as Unread); a node that saved none can
        run again, as in PyTorch, and only one that did is marked freed."""
        saves = self.saves
        if not (saves or saves is None and _saves_values(self)):
            return  # (what it keeps are shapes: it can run again)
        if self._name is None and self.prim.name in _NAMED_BY_OPERANDS:
            self.name()  # (named from the operands it is about to drop)
        self.freed, self.out_data = True, None
        self.inputs = self.raw = [None] * len(self.edges)


class MultipleResultsNode(Node):
    """The node of a registry primitive with several results (eigh, svd, qr, eig): each result's grad_fn is an
    OutputNode feeding this one its cotangent as OutputGrads; the primitive's VJP rule runs once on all of them, with
    zeros for the results that got none (as the adjoint transform does)."""

    __slots__ = ("prim", "params", "out_refs")

    def __init__(self, prim, params, inputs, outs, out_tensors):
        super().__init__(prim.faces.torch_node or prim.name, inputs, list(outs), None)
        self.prim, self.params = prim, params
        self.out_refs = [weakref.ref(t) for t in out_tensors]

    def backward(self, parts, create_graph: bool):
        from . import devices  # (devices sits above the graph's nodes)

        outs = self.out_data
        gs = [devices.module_of(o).zeros(o.shape, o.dtype) if parts.grads.get(i) is None else parts.grads[i]
              for i, o in enumerate(outs)]
        if create_graph:  # (the results as tensors in the graph: their own, or stand-ins with the same node)
            operands = list(self.inputs)
            tensor = next(type(x) for x in operands if getattr(x, "_dt_eager", False))
            out_tensors = [_alive(ref, tensor, self, i, o) for i, (ref, o) in enumerate(zip(self.out_refs, outs))]
        else:
            operands, out_tensors = self.raw, outs
        return self.prim.vjp(gs, *operands, out=out_tensors, needed=self.edges, **self.params)


def _alive(ref, tensor, node, index, value):
    """The result tensor a weak reference names or, where it is gone, a tensor standing in for it, recorded as
    it was."""
    t = ref()
    if t is None:
        t = tensor._wrap(value)
        t.grad_fn, t.requires_grad = OutputNode(node, index, value), True
    return t


def record_results(prim, params, args, outs, wrap) -> list:
    """The results of a several-result primitive as tensors (made by wrap), each inexact one with its OutputNode
    of one MultipleResultsNode (integer results carry no gradient)."""
    results = [wrap(o) for o in outs]
    node = MultipleResultsNode(prim, params, args, outs, results)
    for i, (t, o) in enumerate(zip(results, outs)):
        if o.dtype.kind in "fc":
            t._grad_fn, t._requires_grad = OutputNode(node, i, o), True
    return results


class OutputGrads:
    """The cotangents of some of a several-output node's outputs, by output position; the engine sums them with
    `+` where they meet, slot by slot, as any cotangent."""

    __slots__ = ("grads",)

    def __init__(self, grads: dict):
        self.grads = grads

    def __add__(self, other):
        merged = dict(self.grads)
        for i, g in other.grads.items():
            merged[i] = g if merged.get(i) is None else merged[i] + g
        return OutputGrads(merged)


class OutputNode(Node):
    """The grad_fn of output `index` of a several-output node (a primitive's, or an autograd.Function's): it
    shows as that node (its name, its operands' nodes as next_functions, its hooks) and hands its cotangent on
    in its output's slot."""

    __slots__ = ("node", "index")

    def __init__(self, node: Node, index: int, out_data):
        super().__init__(node.name(), (), out_data, None)
        self.node, self.index = node, index
        self.edges, self.inputs, self.raw, self.versions = [node], [None], [None], [None]

    @property
    def next_functions(self):
        return self.node.next_functions

    def register_hook(self, fn):
        return self.node.register_hook(fn)

    def backward(self, g, create_graph: bool):
        return (OutputGrads({self.index: g}),)

    def free(self) -> None:
        """Nothing is saved here (the value it would keep is its output's own)."""
        self.out_data = None


class AccumulateGrad:
    """The node that adds a cotangent into a leaf tensor's .grad."""

    __slots__ = ("_leaf", "__weakref__")

    def __init__(self, leaf):
        self._leaf = weakref.ref(leaf)  # the leaf owns this node, not the other way round

    @property
    def variable(self):
        return self._leaf()

    seq = -1  # (after every node that feeds it, in the engine's order)
    edges = ()

    def name(self) -> str:
        return "torch::autograd::AccumulateGrad"

    def free(self) -> None:
        """Nothing is saved here."""

    def __repr__(self):
        return "<AccumulateGrad>"

    next_functions = ()


class _Handle:
    """What register_hook returns: `.remove()` takes the hook off again."""

    def __init__(self, hooks: list, fn):
        self._hooks, self._fn = hooks, fn

    def remove(self) -> None:
        if self._fn in self._hooks:
            self._hooks.remove(self._fn)


def _is_tensor(x) -> bool:
    return getattr(x, "_dt_eager", False)


def edge_of(x):
    """The node a value's gradient flows into: its grad_fn, its AccumulateGrad if a leaf requiring grad, or None."""
    if not _is_tensor(x) or not x.requires_grad:
        return None
    if x.grad_fn is not None:
        return x.grad_fn
    if x._accumulator is None:
        x._accumulator = AccumulateGrad(x)
    return x._accumulator


def before_inplace(t, node) -> None:
    """Before t's storage is overwritten by an in-place op recorded as `node` (None when not recording): the
    nodes that would read t's old value get a copy of it, so the graph differentiates what was computed.
    These are `node` itself (it read t as an operand) and t's producer if it saved t's storage as its output
    (exp, tanh, sigmoid, ... read their result). `node` becomes t's grad_fn, so hooks and retain_grad on t
    see its gradient there, once."""
    producer = t.grad_fn
    aliased = producer is not None and producer.out_data is t._array
    reads_t = node is not None and not getattr(getattr(node, "prim", None), "linear_vjp", False) and any(
        x is t for x in node.inputs)
    if aliased or reads_t:
        old = type(t)._wrap(t._array.copy())
        old.grad_fn, old.requires_grad = producer, t.requires_grad
        if aliased:
            producer.out_data = old._array
            if getattr(producer, "out_version", None) is not None:
                producer.out_version = None  # (it saved a copy of its own, which nothing else changes)
        if reads_t:
            node.inputs = [old if x is t else x for x in node.inputs]
            node.versions = [old._version[0] if x is old else v for x, v in zip(node.inputs, node.versions)]
            node.raw = [old._array if x is old else r for x, r in zip(node.inputs, node.raw)]
    if node is not None:
        node.out_ref = weakref.ref(t)
        if producer is not None:  # t's hooks and retained grad belong to its new grad_fn only
            producer.out_ref = None
