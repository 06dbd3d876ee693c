"""`dualtape show FILE.py:FUNC --at ARGS`: any function's IR, derivative source, gradient and gradient check."""

from __future__ import annotations

import argparse
import ast
import importlib.util
import inspect
import math
import pathlib
import sys
from typing import Callable, NamedTuple

import numpy as np

from .. import tree
from .demo import banner
from .errors import CommandError, attempt

GRADCHECK_EPS, GRADCHECK_ATOL, GRADCHECK_RTOL = 1e-6, 1e-5, 1e-3
MODES = {"fwd": "forward", "rev": "reverse"}

SHOW_EPILOG = """\
With neither --ir nor --source, everything is printed: the IR, the derivative source, the gradient (or
Jacobian) at ARGS, and a gradient check against central finite differences (exit status 1 if it fails).

examples:
  dualtape show model.py:f --at "0.5, 2.0"
  dualtape show model.py:layer --at "[0.5, 1.5]" --mode both
  dualtape show model.py:f --at "0.5, 2.0" --source --dot f.svg"""


def show_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = SHOW_EPILOG
    parser.add_argument("target", metavar="FILE.py:FUNC", help="a Python file and the name of a function in it")
    parser.add_argument("--at", required=True, metavar="ARGS",
                        help='the arguments, Python literals separated by commas: "0.5", "0.5, 2.0", "[0.5, 1.5]" '
                             "(each becomes a float64 scalar or array)")
    parser.add_argument("--mode", choices=("fwd", "rev", "both"), default="rev",
                        help="forward mode (jvp, jacfwd), reverse mode (grad or vjp, jacrev) or both; default rev")
    parser.add_argument("--ir", action="store_true", help="print the IR (only it, unless --source is given too)")
    parser.add_argument("--source", action="store_true",
                        help="print the derivative source (only it, unless --ir is given too)")
    parser.add_argument("--dot", metavar="PATH",
                        help="also draw the program to PATH: .dot or .gv (the DOT text), or .svg, .png, .pdf "
                             "(needs Graphviz)")


def show(args: argparse.Namespace) -> int:
    """Print a function's IR, derivative source, gradient or Jacobian at the arguments, and a gradient check."""
    import dualtape as dt

    from ..api.staging import trace_program

    if args.dot:
        check_picture_path(args.dot)
    fn, path = load_function(args.target)
    values = parse_arguments(args.at, fn)
    name, names = getattr(fn, "__name__", "f"), _argument_names(fn, values)
    program, out_tree = attempt(f"tracing {name} at these arguments", trace_program, fn, tuple(values),
                                user_file=path)
    print(f"{name} from {path}, at " + ", ".join(f"{n}={np.asarray(v).tolist()}" for n, v in zip(names, values)))
    if args.dot:
        draw(program, args.dot)
    everything = not (args.ir or args.source)
    if everything or args.ir:
        banner(f"IR: dt.trace({name})")
        print(program)
    if not program.outputs:
        raise CommandError(f"{name} returns no arrays, so there is nothing to differentiate")
    outs = [name] if len(program.outputs) == 1 else [f"{name}[{i}]" for i in range(len(program.outputs))]
    labels = [f"d{out}/d{x}" for out in outs for x in names]  # one per Jacobian block, output-major
    passed, numeric = True, None
    for mode in ("fwd", "rev") if args.mode == "both" else (args.mode,):
        d = _derivative(dt, fn, values, names, mode, program, out_tree)
        if everything or args.source:
            banner(d.title)
            print(attempt(f"generating the {MODES[mode]} mode source", dt.source, d.function, *values, *d.extra)
                  .rstrip())
        if everything:
            with np.errstate(all="ignore"):  # (an inf or nan shows in what is printed, not as a warning)
                found = _blocks(attempt(f"computing the {d.what}", d.jacobian, *values, user_file=path))
                banner(f"{d.what} at these arguments")
                for label, block in zip(labels, found):
                    text = _text(block)
                    print(f"{label} =\n{text}" if "\n" in text else f"{label} = {text}")
                if numeric is None:
                    numeric = attempt(f"evaluating {name} for finite differences", finite_differences,
                                      program_function(program), values, user_file=path)
                passed = _gradcheck(found, numeric, labels, mode) and passed
    return 0 if passed else 1


def load_function(target: str):
    """(function, path) from "FILE.py:FUNC", the file imported with its own folder importable."""
    path_text, colon, name = target.rpartition(":")
    if not colon or not path_text or not name:
        raise CommandError(f"{target!r}: name the function as FILE.py:FUNC, e.g. model.py:loss")
    path = pathlib.Path(path_text)
    if not path.is_file():
        raise CommandError(f"{path}: no such file")
    spec = importlib.util.spec_from_file_location("__dualtape_show__", path)
    if spec is None:
        raise CommandError(f"{path}: not a Python file (it should end in .py)")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # (so dataclasses, pickle and inspect find it)
    folder = str(path.resolve().parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    attempt(f"importing {path}", spec.loader.exec_module, module, user_file=path)
    fn = module
    for part in name.split("."):
        fn = getattr(fn, part, None)
        if fn is None:
            raise CommandError(f"{path} has no function {name!r}; {_defined(module)}")
    if inspect.isclass(fn):
        raise CommandError(f"{path}: {name} is a class, not a function; {_defined(module)}")
    if not callable(fn):
        raise CommandError(f"{path}: {name} is a {type(fn).__name__}, not a function")
    return fn, path


def _defined(module) -> str:
    """The functions a module defines, for an error message."""
    defined = sorted(k for k, v in vars(module).items() if inspect.isfunction(v) and v.__module__ == module.__name__)
    return f"it defines {', '.join(defined)}" if defined else "it defines no functions"


def check_picture_path(path: str) -> None:
    """Refuse a --dot path whose suffix names no format dt.viz can write, before anything is done."""
    from ..viz.dot import FORMATS, TEXT_SUFFIXES

    suffix = pathlib.Path(path).suffix.lstrip(".").lower()
    if suffix in TEXT_SUFFIXES or suffix in FORMATS:
        return
    said = f"unknown picture format {suffix!r}" if suffix else "no suffix naming the picture format"
    text, pictures = ", ".join(f".{s}" for s in TEXT_SUFFIXES), ", ".join(f".{s}" for s in FORMATS)
    raise CommandError(f"--dot {path}: {said}; choose {text} (the DOT text, no Graphviz needed) or "
                       f"{pictures} (drawn by Graphviz)")


def draw(program, path: str) -> None:
    """Write the program's picture to path; without Graphviz (for .svg, .png, ...), say so and go on."""
    from ..viz import GraphvizNotFoundError, to_dot

    def render():
        try:
            return to_dot(program).render(path)
        except GraphvizNotFoundError:
            return None

    written = attempt(f"drawing the program to {path}", render)
    if written is None:
        text = pathlib.Path(path).with_suffix(".dot")
        print(f"note: no picture written to {path}: drawing it needs Graphviz's `dot` program, which is not "
              "installed (apt install graphviz, brew install graphviz or conda install graphviz); "
              f"`--dot {text}` writes the DOT text, which needs no Graphviz")
    else:
        print(f"wrote the picture of the program to {written}")


def parse_arguments(text: str, fn) -> list:
    """The values of --at: numbers become float64 scalars, (nested) lists float64 arrays; their count must fit
    fn's signature."""
    try:
        literals = ast.literal_eval(f"({text},)")
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        raise CommandError(f'--at {text!r}: not Python literals separated by commas; write numbers and lists '
                           'of numbers, e.g. "0.5, 2.0" or "[0.5, 1.5]"') from None
    values = []
    for i, literal in enumerate(literals, 1):
        array = _as_float64(literal)
        if array is None:
            raise CommandError(f"--at: argument {i}, {literal!r}, is not a number or a rectangular list of numbers")
        if not np.all(np.isfinite(array)):
            bad = float(array[~np.isfinite(array)].flat[0])
            raise CommandError(f"--at: argument {i} is not finite ({bad}); write finite numbers (float64 holds "
                               "magnitudes up to about 1.8e308)")
        values.append(array if array.ndim else np.float64(array))
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):  # (a builtin without one: let the call decide)
        return values
    try:
        signature.bind(*values)
    except TypeError as e:
        s = "" if len(values) == 1 else "s"
        raise CommandError(f"--at gives {len(values)} argument{s} for {getattr(fn, '__name__', 'f')}{signature}: "
                           f"{e}") from None
    return values


def _as_float64(literal):
    """A number, or a rectangular (nested) list of numbers, as a float64 array; None for anything else."""
    stack = [literal]
    while stack:
        x = stack.pop()
        if isinstance(x, (list, tuple)):
            stack.extend(x)
        elif not isinstance(x, (int, float)):
            return None
    try:
        return np.asarray(literal, dtype=np.float64)
    except ValueError:  # (ragged)
        return None


def _argument_names(fn, values) -> list[str]:
    from ..core.trace import input_hints

    return [hint or f"arg{i}" for i, hint in enumerate(input_hints(fn, tuple(values)))]


def _text(value) -> str:
    """A scalar in full (as repr shows it), an array as NumPy prints it, with commas."""
    array = np.asarray(value)
    return repr(array.item()) if array.ndim == 0 else np.array2string(array, separator=", ")


class _Derivative(NamedTuple):
    title: str  # the heading of its source
    function: Callable  # whose generated source is shown, called with fn's arguments and then `extra`
    extra: tuple  # tangents (forward mode) or the output cotangent (vjp)
    what: str  # "gradient by ...", "Jacobian by ..."
    jacobian: Callable  # fn's arguments -> the derivative, a block per output and argument


def _derivative(dt, fn, values, names, mode: str, program, out_tree) -> _Derivative:
    """The derivative `show` prints in this mode: jvp (fwd); grad, or vjp when the output is not a scalar (rev)."""
    name, n, nums, listed = getattr(fn, "__name__", "f"), len(names), tuple(range(len(names))), ", ".join(names)
    if mode == "fwd":
        dots = [f"{x}_dot" for x in names]
        jvp = _with_signature(lambda *a: dt.jvp(fn, a[:n], a[n:]), f"jvp_{name}", [*names, *dots])
        title = f"forward mode: dt.jvp({name}, {_tuple(names)}, {_tuple(dots)}) -> (output, tangent)"
        return _Derivative(title, jvp, tuple(values), "Jacobian by forward mode (dt.jacfwd)",
                           dt.jacfwd(fn, argnums=nums))
    if len(program.outputs) == 1 and program.out_avals[0].shape == ():
        grad = dt.grad(fn, argnums=nums)
        return _Derivative(f"reverse mode: dt.grad({name}, argnums={nums})", grad, (),
                           "gradient by reverse mode (dt.grad)", grad)
    cotangent = tree.unflatten(out_tree, [np.ones(a.shape, a.dtype) for a in program.out_avals])
    vjp = _with_signature(lambda *a: dt.vjp(fn, *a[:n])[1](a[n]), f"vjp_{name}", [*names, "out_bar"])
    title = f"reverse mode: dt.vjp({name}, {listed}), its pullback of out_bar"
    return _Derivative(title, vjp, (cotangent,), "Jacobian by reverse mode (dt.jacrev)", dt.jacrev(fn, argnums=nums))


def _tuple(names: list[str]) -> str:
    return f"({names[0]},)" if len(names) == 1 else f"({', '.join(names)})"


def _with_signature(fn, name: str, parameters: list[str]):
    """fn named, and with these parameter names (they name the generated function and its variables)."""
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    fn.__name__ = name
    fn.__signature__ = inspect.Signature([inspect.Parameter(p, kind) for p in parameters])
    return fn


def _blocks(derivative) -> list[np.ndarray]:
    """A derivative's blocks (shape output.shape + argument.shape), output-major: d out0/d x, d out0/d y, ..."""
    return [np.asarray(b, dtype=np.float64) for b in tree.leaves(derivative)]


def program_function(program):
    """The traced program as a function of fn's arguments: what the gradient check evaluates, so a function
    written with tensor methods (`x.exp()`, `b.norm()`) or Python control flow on its values runs as it was
    traced, on values that have those methods, rather than on bare NumPy arrays."""
    from ..transforms.evaluate import eval_program

    return lambda *args: eval_program(program, list(args))


def finite_differences(fn, values) -> list[np.ndarray]:
    """fn's Jacobian at values by central differences, as blocks in the order of _blocks."""

    def outputs(args):
        return [np.asarray(o, dtype=np.float64) for o in tree.leaves(fn(*args))]

    blocks = [[np.zeros(out.shape + np.shape(v)) for v in values] for out in outputs(values)]
    for j, v in enumerate(values):
        for index in np.ndindex(np.shape(v)):
            step = GRADCHECK_EPS * max(1.0, abs(float(np.asarray(v)[index])))
            ups, downs = (outputs(_nudged(values, j, index, s)) for s in (step, -step))
            for i, (up, down) in enumerate(zip(ups, downs)):
                blocks[i][j][(Ellipsis, *index)] = (up - down) / (2 * step)
    return [block for row in blocks for block in row]


def _nudged(values, j: int, index: tuple, step: float) -> list:
    moved = np.array(values[j], dtype=np.float64)
    moved[index] += step
    return [*values[:j], moved if moved.ndim else np.float64(moved), *values[j + 1:]]


def _gradcheck(found, numeric, labels, mode: str) -> bool:
    """Print the largest difference from the finite differences (nan, naming the first block with one, when a
    difference is not a number) and whether all are within tolerance."""
    worst, where, ok = 0.0, labels[0], True
    with np.errstate(all="ignore"):
        for block, reference, label in zip(found, numeric, labels):
            error = np.abs(block - reference)
            largest = float(error.max()) if error.size else 0.0  # (nan when any difference is nan)
            if not math.isnan(worst) and (math.isnan(largest) or largest >= worst):
                worst, where = largest, label
            ok = ok and bool(np.all(error <= GRADCHECK_ATOL + GRADCHECK_RTOL * np.abs(reference)))
    if ok:
        verdict = "ok"
    elif math.isnan(worst):
        verdict = "FAILED (a difference is nan: the function or its derivative is not finite at or near ARGS)"
    else:
        verdict = f"FAILED (tolerance {GRADCHECK_ATOL:g} + {GRADCHECK_RTOL:g} * |numeric|)"
    print(f"gradcheck, {MODES[mode]} mode against central finite differences: largest |difference| {worst:.1e} "
          f"(in {where}) -> {verdict}")
    return ok


