"""Pytrees: nested tuples, lists, dicts and namedtuples of leaves, flattened to a list and a hashable TreeDef.

Dict keys are sorted (as in JAX) so that two dicts with the same keys give the same TreeDef; None is an empty
node (no leaves). Every other object is a leaf.
"""

from __future__ import annotations

from typing import Any, Callable

_LEAF = None


class TreeDef:
    """The structure of a pytree, without its leaves; hashable so it can key a compile cache."""

    __slots__ = ("kind", "meta", "children", "num_leaves", "_hash")

    def __init__(self, kind, meta, children: tuple):
        self.kind = kind  # None for a leaf, else the container type
        self.meta = meta  # dict keys, or None
        self.children = children
        self.num_leaves = 1 if kind is _LEAF else sum(c.num_leaves for c in children)
        self._hash = hash((kind, meta, children))

    def __hash__(self):
        return self._hash

    def __eq__(self, other):
        return (
            isinstance(other, TreeDef)
            and self._hash == other._hash
            and self.kind is other.kind
            and self.meta == other.meta
            and self.children == other.children
        )

    def __repr__(self):
        if self.kind is _LEAF:
            return "*"
        if self.kind is type(None):
            return "None"
        inner = ", ".join(map(repr, self.children))
        if self.kind is dict:
            inner = ", ".join(f"{k!r}: {c!r}" for k, c in zip(self.meta, self.children))
            return "{" + inner + "}"
        if self.kind is list:
            return f"[{inner}]"
        if self.kind is tuple:
            return f"({inner}{',' if len(self.children) == 1 else ''})"
        return f"{self.kind.__name__}({inner})"


LEAF = TreeDef(_LEAF, None, ())


def _is_namedtuple(x) -> bool:
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def _dict_keys(d: dict) -> tuple:
    try:
        return tuple(sorted(d))
    except TypeError:
        return tuple(d)


def flatten(tree) -> tuple[list, TreeDef]:
    """(leaves, treedef) with leaves in a fixed order."""
    leaves: list = []
    return leaves, _flatten(tree, leaves)


def _flatten(x, leaves: list) -> TreeDef:
    kind = type(x)
    if kind is tuple or kind is list:
        return TreeDef(kind, None, tuple(_flatten(c, leaves) for c in x))
    if kind is dict:
        keys = _dict_keys(x)
        return TreeDef(dict, keys, tuple(_flatten(x[k], leaves) for k in keys))
    if x is None:
        return TreeDef(type(None), None, ())
    if _is_namedtuple(x):
        return TreeDef(kind, None, tuple(_flatten(c, leaves) for c in x))
    leaves.append(x)
    return LEAF


def unflatten(treedef: TreeDef, leaves) -> Any:
    """Rebuild the pytree of `treedef` from `leaves` (a sequence with treedef.num_leaves items)."""
    it = iter(leaves)
    out = _unflatten(treedef, it)
    for _ in it:
        raise ValueError(f"unflatten: too many leaves for tree structure {treedef!r}")
    return out


def _unflatten(td: TreeDef, it):
    kind = td.kind
    if kind is _LEAF:
        try:
            return next(it)
        except StopIteration:
            raise ValueError("unflatten: too few leaves for the tree structure") from None
    children = [_unflatten(c, it) for c in td.children]
    if kind is tuple:
        return tuple(children)
    if kind is list:
        return children
    if kind is dict:
        return dict(zip(td.meta, children))
    if kind is type(None):
        return None
    return kind(*children)


def tree_map(fn: Callable, tree, *rest):
    """Apply fn leafwise to one or more pytrees of the same structure."""
    leaves, td = flatten(tree)
    others = []
    for r in rest:
        r_leaves, r_td = flatten(r)
        if r_td != td:
            raise ValueError(f"tree_map: tree structures differ: {td!r} vs {r_td!r}")
        others.append(r_leaves)
    return unflatten(td, [fn(*xs) for xs in zip(leaves, *others)])


def leaves(tree) -> list:
    return flatten(tree)[0]
