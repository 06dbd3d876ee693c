"""Cutting arguments into shards along their batch axes, and combining the shards' results: summed, averaged
by shard size, or concatenated. Plain NumPy, so the same arithmetic runs with or without a cluster."""

from __future__ import annotations

import numpy as np

from .. import tree
from ..errors import ShapeError

REDUCTIONS = ("sum", "mean", "concat")


def per_argument(spec, n_args: int, what: str, where: str) -> tuple:
    """spec for each of n_args arguments: one value for all, or a tuple/list with one per argument."""
    if isinstance(spec, (tuple, list)):
        if len(spec) != n_args:
            raise ShapeError(where, f"{what} has {len(spec)} entries for {n_args} arguments",
                             fix=f"give one {what} entry per positional argument (None for an argument every "
                                 "shard gets whole)")
        return tuple(spec)
    return (spec,) * n_args


def batch_size(args, in_axes, where: str) -> int:
    """The common length of the sharded leaves along their axes; a ShapeError naming them where they differ."""
    sizes = {}
    for i, (arg, axis) in enumerate(zip(args, in_axes)):
        if axis is None:
            continue
        for leaf in tree.leaves(arg):
            leaf = np.asarray(leaf)
            if not -leaf.ndim <= axis < leaf.ndim:
                raise ShapeError(where, f"argument {i} of shape {leaf.shape} has no axis {axis} to shard",
                                 fix="set its in_axes entry to the batch axis, or None to send it whole")
            sizes[(i, leaf.shape)] = leaf.shape[axis]
    if not sizes:
        raise ShapeError(where, "no argument is sharded (every in_axes entry is None)",
                         fix="give the batch argument's axis in in_axes, e.g. in_axes=(None, 0, 0)")
    if len(set(sizes.values())) > 1:
        shown = ", ".join(f"argument {i} {shape}" for (i, shape) in sizes)
        raise ShapeError(where, f"sharded arguments differ in batch length: {shown}",
                         fix="shard arguments of one batch length (or set in_axes to the axes that agree)")
    return next(iter(sizes.values()))


def split(args, in_axes, shards: int) -> tuple[list[tuple], list[int]]:
    """The arguments of each shard, and each shard's batch length: sharded leaves cut by np.array_split along
    their axes (lengths differing by at most one), the rest whole."""
    pieces, sizes = [], None
    for arg, axis in zip(args, in_axes):
        if axis is None:
            pieces.append([arg] * shards)
            continue
        leaves, treedef = tree.flatten(arg)
        cut = [np.array_split(np.asarray(leaf), shards, axis=axis) for leaf in leaves]
        if leaves and sizes is None:
            sizes = [c.shape[axis] for c in cut[0]]
        pieces.append([tree.unflatten(treedef, [c[k] for c in cut]) for k in range(shards)])
    return [tuple(p[k] for p in pieces) for k in range(shards)], sizes


def reductions(reduce, out_treedef, where: str) -> list[str]:
    """The reduction of each output leaf, from one name for all or a tuple with one per top-level output."""
    n_leaves = out_treedef.num_leaves
    if isinstance(reduce, str):
        names = [reduce] * n_leaves
    elif isinstance(reduce, (tuple, list)) and out_treedef.kind is tuple and len(reduce) == len(
            out_treedef.children):
        names = [name for name, child in zip(reduce, out_treedef.children) for _ in range(child.num_leaves)]
    else:
        raise ShapeError(where, f"reduce={reduce!r} does not fit the output's structure {out_treedef}",
                         fix=f"give one of {REDUCTIONS} for every output, or a tuple of them, one per element of "
                             "the tuple the function returns")
    bad = [name for name in names if name not in REDUCTIONS]
    if bad:
        raise ValueError(f"{where}: unknown reduce {bad[0]!r}; use one of {REDUCTIONS}")
    return names


def combine(results: list, sizes: list[int], reduce, where: str):
    """The shards' results as one: per output leaf, their sum, their mean weighted by shard size (the mean over
    the whole batch of a per-shard mean), or their concatenation along axis 0."""
    flat = [tree.flatten(r) for r in results]
    treedef = flat[0][1]
    names = reductions(reduce, treedef, where)
    weights = np.asarray(sizes, dtype=float) / sum(sizes)
    combined = []
    for j, name in enumerate(names):
        parts = [leaves[j] for leaves, _ in flat]
        if name == "concat":
            combined.append(np.concatenate([np.atleast_1d(p) for p in parts], axis=0))
        elif name == "sum":
            combined.append(_keep_kind(sum(parts[1:], parts[0]), parts[0]))
        else:
            total = sum((w * np.asarray(p) for w, p in zip(weights[1:], parts[1:])), weights[0] * np.asarray(parts[0]))
            combined.append(_keep_kind(np.asarray(total, dtype=np.result_type(parts[0])), parts[0]))
    return tree.unflatten(treedef, combined)


def _keep_kind(value, like):
    """value as a Python scalar where the shards returned Python scalars (a loss), else as an array."""
    if isinstance(like, (float, int, complex)) and not isinstance(like, bool):
        return type(like)(np.asarray(value))
    return np.asarray(value)
