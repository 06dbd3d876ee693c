"""The AST rewrite of autograph: `if`, `while`, `for i in range(...)`, `and`/`or`/`not`, conditional expressions,
`break` and `continue` become calls of the runtime operators (runtime.py), which run ordinary Python on
concrete values and record cond / while_loop / fori_loop on traced ones.

Each statement becomes small local functions over the variables it assigns (its carried state) and one call:

    if x > 0:                    def if_true_1(y):          def if_false_1(y):
        y = x                        y = x                      y = -x
    else:            ->              return (y,)                return (y,)
        y = -x                   (y,) = ag__.if_stmt(x > 0, if_true_1, if_false_1,
                                                     ag__.values_before(locals(), ('y',)), ('y',))

Attributes and items a statement assigns (`s.h = ...`, `state["h"] = ...`, keys that are constants or names
it does not assign) are carried too, as fields (`ag__.attr`, `ag__.item`) the runtime reads before the
statement and writes back after it. The `for` target is carried out of the loop (Python binds it after the
loop). Calls of user functions, methods and callable objects go through `ag__.converted`, which converts them
when they run; calls into modules that are not the user's (`np.sum`, `dnp.sin`) and array methods (`x.sum()`)
are left as written, so the rewritten source stays close to the user's.
"""

from __future__ import annotations

import ast
import builtins
import copy
import types

import numpy as np

from .._util import is_internal, is_library
from ..numpy.methods import ARRAY_METHODS
from .analysis import JUMPS, assigned, carried_fields, contains, named
from .source import function_def as _def
from .source import placed, stamp


class _Counter:
    def __init__(self):
        self.n = 0
        self.generated: set[str] = set()

    def name(self, base: str) -> str:
        """A fresh name for a generated function (never carried as loop or branch state)."""
        name = self.flag(base)
        self.generated.add(name)
        return name

    def flag(self, base: str) -> str:
        """A fresh name for a generated variable (a flag, a counter): carried like the user's own."""
        self.n += 1
        return f"{base}_{self.n}"


def _field(target) -> ast.Call:
    """ag__.attr('s.h', lambda: (s, 'h')) / ag__.item("state['h']", lambda: (state, 'h'))."""
    key = ast.Constant(target.attr) if isinstance(target, ast.Attribute) else copy.deepcopy(target.slice)
    locate = ast.Lambda(args=_no_args(), body=ast.Tuple(elts=[copy.deepcopy(target.value), key], ctx=ast.Load()))
    return _call("attr" if isinstance(target, ast.Attribute) else "item", [ast.Constant(ast.unparse(target)), locate])


def _names_tuple(names, ctx):
    return ast.Tuple(elts=[ast.Name(n, ctx()) for n in names], ctx=ctx())


def _call(func: str, args, keywords=()) -> ast.Call:
    return ast.Call(func=ast.Attribute(value=ast.Name("ag__", ast.Load()), attr=func, ctx=ast.Load()),
                    args=list(args), keywords=list(keywords))


def _run(op: str, args, names, fields, keywords=()):
    """`names = ag__.op(*args, values_before(locals(), names), names[, fields])` (an expression statement when
    the statement assigns no variable)."""
    strings = ast.Tuple(elts=[ast.Constant(n) for n in names], ctx=ast.Load())
    before = _call("values_before", [ast.Call(func=ast.Name("locals", ast.Load()), args=[], keywords=[]), strings])
    extra = [ast.Tuple(elts=[_field(t) for t in fields], ctx=ast.Load())] if fields else []
    call = _call(op, list(args) + [before, strings] + extra, keywords)
    return ast.Assign(targets=[_names_tuple(names, ast.Store)], value=call) if names else ast.Expr(call)


def _function(name: str, params, body, returns) -> ast.FunctionDef:
    args = ast.arguments(posonlyargs=[], args=[ast.arg(p) for p in params], vararg=None, kwonlyargs=[],
                         kw_defaults=[], kwarg=None, defaults=[])
    body = list(body)
    if returns is not None:
        body.append(ast.Return(value=returns))
    return _def(name, args, body or [ast.Pass()])


def _assign(name: str, value) -> ast.Assign:
    return ast.Assign(targets=[ast.Name(name, ast.Store())], value=value)


class _Lower:
    """break / continue in one loop body -> flag variables, with the statements after them guarded by
    `if not flag:` (those ifs are then converted like any other)."""

    def __init__(self, brk: str | None, cnt: str | None):
        self.brk, self.cnt = brk, cnt
        self.kinds = tuple(k for k, f in ((ast.Break, brk), (ast.Continue, cnt)) if f)  # the jumps lowered

    def flag(self, name, node):
        return placed(_assign(name, ast.Constant(True)), node)

    def block(self, statements):
        out = []
        for k, s in enumerate(statements):
            jumps = contains([s], self.kinds)
            if isinstance(s, ast.Break) and self.brk:
                s = self.flag(self.brk, s)
            elif isinstance(s, ast.Continue) and self.cnt:
                s = self.flag(self.cnt, s)
            elif isinstance(s, ast.If):
                s.body, s.orelse = self.block(s.body), self.block(s.orelse)
            out.append(s)
            rest = statements[k + 1:]
            if jumps and rest:
                flags = [ast.Name(f, ast.Load()) for f in (self.brk, self.cnt) if f]
                either = flags[0] if len(flags) == 1 else ast.BoolOp(ast.Or(), flags)
                guard = ast.If(test=ast.UnaryOp(ast.Not(), either), body=self.block(rest), orelse=[])
                out.append(placed(guard, rest[0]))
                break
        return out


class Converter(ast.NodeTransformer):
    """Rewrites one function's FunctionDef; `scope` resolves the names it does not bind (its globals and
    closure), to leave calls into library modules as written."""

    def __init__(self, filename: str, scope=None):
        self.filename = filename
        self.names = _Counter()
        self.scope = scope or {}
        self.local: set[str] = set()
        self.loads: dict | None = None
        self.dynamic = False
        self.pending_pre: list = []

    # -- statements ----------------------------------------------------------------------------------------
    def visit_FunctionDef(self, node):
        if self.loads is None:  # the converted function itself (not one nested in it)
            nodes = list(ast.walk(node))
            names = [n for n in nodes if isinstance(n, ast.Name)]
            # its own names (and those of nested functions) are not globals
            self.local = {n.arg for n in nodes if isinstance(n, ast.arg)}
            self.local |= {n.id for n in names if not isinstance(n.ctx, ast.Load)}
            self.local |= {n.name for n in nodes if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
            self.loads = {}  # name -> its reads, to tell whether a loop variable is read after its loop
            for n in names:
                if isinstance(n.ctx, ast.Load):
                    self.loads.setdefault(n.id, set()).add(id(n))
            self.dynamic = any(n.id in ("locals", "vars", "eval", "exec") for n in names)
        node.body = self.statements(node.body)
        return node

    def read_outside(self, name: str, statements) -> bool:
        """Whether the function may read name outside these statements (a loop's body: then it may read the
        loop variable after the loop)."""
        inside = {id(n) for s in statements for n in ast.walk(s)}
        return self.dynamic or bool(self.loads.get(name, set()) - inside)

    def statements(self, body):
        out = []
        for s in body:
            r = self.visit(s)
            out.extend(r if isinstance(r, list) else [r])
        return out

    def visit_If(self, node):
        original = node.body + node.orelse
        if contains(original, tuple(JUMPS)):
            return self.keep(node, named(original, tuple(JUMPS), "an if"))
        fields, bad = carried_fields(original, set(assigned(original, set())))
        if bad is not None:
            return self.keep(node, f"assignment to `{ast.unparse(bad)}` inside an if", self.store_fix(bad, "if"))
        test = self.visit(node.test)
        body, orelse = self.statements(node.body), self.statements(node.orelse)
        names = assigned(body + orelse, self.names.generated)
        t, f = self.names.name("if_true"), self.names.name("if_false")
        returns = _names_tuple(names, ast.Load)
        out = [_function(t, names, body, returns), _function(f, names, orelse, returns),
               _run("if_stmt", [test, ast.Name(t, ast.Load()), ast.Name(f, ast.Load())], names, fields)]
        return [stamp(n, node) for n in out]

    def visit_While(self, node):
        if node.orelse or contains(node.body, (ast.Return, ast.Yield)):
            construct = ("a while loop with an else clause" if node.orelse else
                         named(node.body, (ast.Return, ast.Yield), "a while loop"))
            return self.keep(node, construct)
        fields, bad = carried_fields(node.body, set(assigned(node.body, set())))
        if bad is not None:
            self.pending_pre = []
            return self.keep(node, f"assignment to `{ast.unparse(bad)}` inside a while loop",
                             self.store_fix(bad, "loop"))
        pre, body, test = self.lower_jumps(node.body, node.test, node)
        test = self.visit(test)
        body = self.statements(body)
        names = assigned(body, self.names.generated)
        c, b = self.names.name("loop_test"), self.names.name("loop_body")
        out = pre + [_function(c, names, [], test), _function(b, names, body, _names_tuple(names, ast.Load)),
                     _run("while_stmt", [ast.Name(c, ast.Load()), ast.Name(b, ast.Load())], names, fields)]
        return [stamp(n, node) for n in out]

    def visit_For(self, node):
        it = node.iter
        is_range = (isinstance(it, ast.Call) and isinstance(it.func, ast.Name) and it.func.id == "range"
                    and 1 <= len(it.args) <= 3 and not it.keywords and isinstance(node.target, ast.Name))
        if not is_range:
            node.iter = self.visit(node.iter)
            node.body, node.orelse = self.statements(node.body), self.statements(node.orelse)
            return node
        if node.orelse or contains(node.body, (ast.Return, ast.Yield)):
            return self.keep(node, "a for loop with an else clause" if node.orelse else
                             named(node.body, (ast.Return, ast.Yield), "a for loop"))
        target = node.target.id
        fields, bad = carried_fields(node.body, set(assigned(node.body, set())) | {target})
        if bad is not None:
            return self.keep(node, f"assignment to `{ast.unparse(bad)}` inside a for loop",
                             self.store_fix(bad, "loop"))
        if contains(node.body, (ast.Break, ast.Continue)):
            if len(it.args) == 3:
                return self.keep(node, "a for loop over range with a step and break or continue")
            return self.visit_While(self.range_as_while(node))
        read_after = self.read_outside(target, node.body)
        args = [self.visit(a) for a in it.args]
        body = self.statements(node.body)
        names = assigned(body, self.names.generated | {target})
        reassigned = target in assigned(body, self.names.generated)  # the body assigns the loop variable
        b = self.names.name("for_body")
        returns = _names_tuple([target] + names if reassigned else names, ast.Load)
        keywords = [ast.keyword("target_reassigned", ast.Constant(True))] if reassigned else []
        if not read_after:  # no need to compute it after a traced loop
            keywords.append(ast.keyword("target_read", ast.Constant(False)))
        out = [_function(b, [target] + names, body, returns),
               _run("for_range", [ast.Tuple(elts=args, ctx=ast.Load()), ast.Name(b, ast.Load())],
                    [target] + names, fields, keywords)]
        return [stamp(n, node) for n in out]

    def range_as_while(self, node):
        """for i in range(a, b): body  ->  n = a; while n < b: i = n; body; n = n + 1 (continue still counts), so
        i keeps Python's value after the loop: the last index, the one it broke at, or its value before the
        loop after no iteration (a traced loop gives it the start where it had none)."""
        i = node.target.id
        read_after = self.read_outside(i, node.body)
        n = self.names.flag("index") if read_after else i  # i itself counts where it is not read after the loop
        args = node.iter.args
        start, stop = (ast.Constant(0), args[0]) if len(args) == 1 else (args[0], args[1])
        body = [_assign(i, ast.Name(n, ast.Load()))] if read_after else []
        if contains(node.body, ast.Continue):
            cnt = self.names.flag("continue_")
            body += [_assign(cnt, ast.Constant(False))] + _Lower(None, cnt).block(node.body)
        else:
            body += node.body
        count = _assign(n, ast.BinOp(ast.Name(n, ast.Load()), ast.Add(), ast.Constant(1)))
        loop = ast.While(test=ast.Compare(ast.Name(n, ast.Load()), [ast.Lt()], [stop]), body=body + [count],
                         orelse=[])
        first = _call("loop_target", [ast.Call(func=ast.Name("locals", ast.Load()), args=[], keywords=[]),
                                      ast.Constant(i), ast.Name(n, ast.Load())])
        self.pending_pre = [placed(_assign(n, self.visit(start)), node)]
        if read_after:
            self.pending_pre.append(placed(_assign(i, first), node))
        return placed(loop, node)

    def lower_jumps(self, body, test, node):
        """break -> a flag tested with the loop condition; continue -> a flag reset each iteration."""
        pre = self.pending_pre
        self.pending_pre = []
        has_break, has_continue = contains(body, ast.Break), contains(body, ast.Continue)
        if not (has_break or has_continue):
            return pre, body, test
        brk = self.names.flag("break_") if has_break else None
        cnt = self.names.flag("continue_") if has_continue else None
        new_body = _Lower(brk, cnt).block(body)
        if cnt:
            new_body.insert(0, _assign(cnt, ast.Constant(False)))
        if brk:
            pre = pre + [placed(_assign(brk, ast.Constant(False)), node)]
            test = placed(ast.BoolOp(ast.And(), [ast.UnaryOp(ast.Not(), ast.Name(brk, ast.Load())), test]), node)
        return pre, [stamp(s, node) for s in new_body], test

    def keep(self, node, construct, fix=None):
        """The statement left as Python, its test (for a `for` over range, each bound) through ag__.unsupported:
        fine when concrete, an error naming the construct when traced."""
        if isinstance(node, ast.For):
            node.iter.args = [self.guard(construct, a, node, fix) for a in node.iter.args]
        else:
            node.test = self.guard(construct, node.test, node, fix)
        node.body, node.orelse = self.statements(node.body), self.statements(node.orelse)
        return node

    def guard(self, construct, expr, node, fix=None):
        args = [ast.Constant(construct), self.visit(expr), ast.Constant(node.lineno), ast.Constant(self.filename)]
        return placed(_call("unsupported", args + ([ast.Constant(fix)] if fix else [])), node)

    @staticmethod
    def store_fix(target, where: str) -> str:
        text = ast.unparse(target)
        return (f"assign the value to a local variable inside the {where} and store it with `{text} = ...` after "
                f"the {where}" + (" (for one item per iteration, carry an array and update it with dnp.where, or "
                                  "use dt.scan)" if where == "loop" else ""))

    # -- expressions ---------------------------------------------------------------------------------------
    def visit_BoolOp(self, node):
        self.generic_visit(node)
        op = "and_" if isinstance(node.op, ast.And) else "or_"
        result = node.values[-1]
        for left in reversed(node.values[:-1]):
            result = _call(op, [left, ast.Lambda(args=_no_args(), body=result)])
        return placed(result, node)

    def visit_UnaryOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, ast.Not):
            return placed(_call("not_", [node.operand]), node)
        return node

    def visit_IfExp(self, node):
        self.generic_visit(node)
        call = _call("if_exp", [node.test, ast.Lambda(args=_no_args(), body=node.body),
                                ast.Lambda(args=_no_args(), body=node.orelse)])
        return placed(call, node)

    def visit_Call(self, node):
        self.generic_visit(node)
        if self.user_callee(node.func):
            node.func = placed(_call("converted", [node.func]), node.func)
        return node

    def visit_Lambda(self, node):
        return node  # a lambda's body is an expression: left as written

    def user_callee(self, func) -> bool:
        """Whether a call may reach user code to convert: a name (not a builtin), a subscript (`layers[0](x)`),
        a method of self / cls, an attribute of a user module, or an attribute that is not an array method."""
        if isinstance(func, ast.Name):
            return func.id not in _BUILTIN_NAMES or func.id in self.local or func.id in self.scope  # (shadowed)
        if isinstance(func, ast.Subscript):
            return True
        if not isinstance(func, ast.Attribute):
            return False
        if isinstance(func.value, ast.Name) and func.value.id in ("self", "cls"):
            return True
        module = self.module(func.value)
        if module is not None:
            return not _library_module(module)
        return func.attr not in _ARRAY_METHODS

    def module(self, expr):
        """The module expr names where that is known now (`np`, `dnp.linalg`, a user's `helpers`), else None."""
        if isinstance(expr, ast.Name):
            if expr.id in self.local or expr.id not in self.scope:
                return None
            value = self.scope[expr.id]
        elif isinstance(expr, ast.Attribute):
            owner = self.module(expr.value)
            value = getattr(owner, expr.attr, None) if owner is not None else None
        else:
            return None
        return value if isinstance(value, types.ModuleType) else None


_BUILTIN_NAMES = set(dir(builtins)) | {"locals"}

# array methods (NumPy's, and the eager Tensor set traced values carry): `x.sum()` is left as written
_ARRAY_METHODS = {n for n in set(dir(np.ndarray)) | set(ARRAY_METHODS) if not n.startswith("_")}


def _library_module(module) -> bool:
    """A module that is not the user's: builtin, standard library, installed, or dualtape's own."""
    filename = getattr(module, "__file__", None)
    return filename is None or is_internal(filename) or is_library(filename)


def _no_args():
    return ast.arguments(posonlyargs=[], args=[], vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None,
                         defaults=[])
