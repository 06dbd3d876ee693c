"""What autograph needs to know of a statement before rewriting it: the names it assigns, the attribute and item
targets it assigns (the fields it carries, or the one it cannot), and whether jumps (`return`, `break`, ...)
occur in it. Pure functions of the AST."""

from __future__ import annotations

import ast


def assigned(statements, skip: set[str]) -> list[str]:
    """Names the statements assign in the enclosing scope (not in nested functions or comprehensions)."""
    found: list[str] = []

    def add(name):
        if name not in found and name not in skip:
            found.append(name)

    def walk(node):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            add(node.name)
            return
        if isinstance(node, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            return
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            add(node.id)
        for child in ast.iter_child_nodes(node):
            walk(child)

    for s in statements:
        walk(s)
    return found


def _stores(statements) -> list:
    """The attribute and subscript targets the statements assign (not in nested functions or comprehensions)."""
    found = []

    def walk(node):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda, ast.ListComp,
                             ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            return
        if isinstance(node, (ast.Attribute, ast.Subscript)) and isinstance(node.ctx, ast.Store):
            found.append(node)
        for child in ast.iter_child_nodes(node):
            walk(child)

    for s in statements:
        walk(s)
    return found


def _root(target):
    """The name a chain of attributes and subscripts starts from (None if it starts from something else)."""
    while isinstance(target, (ast.Attribute, ast.Subscript)):
        target = target.value
    return target.id if isinstance(target, ast.Name) else None


def _fixed(key, bound: set[str]) -> bool:
    """A subscript key that stays the same through the statement: constants, and names it does not assign."""
    if isinstance(key, ast.Constant):
        return True
    if isinstance(key, ast.UnaryOp) and isinstance(key.op, (ast.USub, ast.UAdd)):
        return isinstance(key.operand, ast.Constant)
    if isinstance(key, ast.Tuple):
        return all(_fixed(k, bound) for k in key.elts)
    if isinstance(key, ast.Attribute):
        return _fixed(key.value, bound)
    return isinstance(key, ast.Name) and key.id not in bound


def carried_fields(statements, bound: set[str]):
    """(the attribute / item targets carried as fields, the first target that cannot be carried or None).
    A target on an object the statement itself creates (its root name is assigned there) is neither: it is
    part of a carried variable."""
    fields, texts = [], set()
    for target in _stores(statements):
        root = _root(target)
        if root is not None and root in bound:
            continue
        chain, node, ok = [], target, root is not None
        while isinstance(node, (ast.Attribute, ast.Subscript)):
            if isinstance(node, ast.Subscript) and not _fixed(node.slice, bound):
                ok = False
            node = node.value
            chain.append(ast.unparse(node))
        if not ok:
            return [], target
        text = ast.unparse(target)
        if text not in texts:
            texts.add(text)
            fields.append((text, target, chain))
    # s.h and s.h["k"]: s.h alone is carried (the item is part of its value)
    return [target for text, target, chain in fields if not texts.intersection(chain)], None


def contains(statements, kinds, into_loops: bool = False) -> bool:
    """Whether a statement of these kinds occurs (not inside nested functions; nor nested loops unless asked)."""
    def walk(node):
        if isinstance(node, kinds):
            return True
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            return False
        if not into_loops and isinstance(node, (ast.For, ast.While)):
            return False
        return any(walk(c) for c in ast.iter_child_nodes(node))

    return any(walk(s) for s in statements)


JUMPS = {ast.Return: "return", ast.Yield: "yield", ast.Break: "break", ast.Continue: "continue",
          ast.Nonlocal: "nonlocal", ast.Global: "global"}


def named(statements, kinds, where: str) -> str:
    """The construct for an error message: e.g. "`return` inside an if"."""
    found = [f"`{JUMPS[k]}`" for k in kinds if contains(statements, k)]
    return f"{' / '.join(found)} inside {where}"
