"""The `dualtape` command line: `demo` (a first tour of the pipeline), `show` (any function's IR,
derivative source, gradient and gradient check) and `bench` (the benchmark suite). Each subcommand is one row
of COMMANDS."""

from __future__ import annotations

import argparse
import ast
import importlib.util
import inspect
import pathlib
import sys
import time
from typing import Callable, NamedTuple

import numpy as np

from . import tree


def _banner(title: str) -> None:
    print(f"\n== {title} " + "=" * max(0, 72 - len(title)))


def _median_time(fn, *args, repeat: int = 7, number: int = 200) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn(*args)
        times.append((time.perf_counter() - start) / number)
    return float(np.median(times))


def demo(args: argparse.Namespace) -> int:
    """A tour: trace a small model, show its IR and generated source, run it compiled and eagerly."""
    import dualtape as dt
    from dualtape.examples.mlp import example_inputs, mlp_loss

    inputs = example_inputs()

    print("dualtape demo: a 4-8-3 MLP with a softmax cross-entropy loss, batch 5, float32.")
    print("Written once with dualtape.numpy (dnp), it runs eagerly on NumPy arrays, or is traced into an IR")
    print("program and emitted as plain Python source.")
    _banner("1. The IR (dt.trace): one equation per line, with shapes and dtypes")
    print(dt.trace(mlp_loss)(*inputs))
    _banner("2. The generated source (dt.source): what dt.jit compiles and runs")
    print(dt.source(mlp_loss, *inputs))
    _banner("3. Running it")
    fast = dt.jit(mlp_loss)
    compiled, eager = fast(*inputs), mlp_loss(*inputs)
    print(f"compiled loss = {compiled!r} ({np.asarray(compiled).dtype})")
    print(f"eager loss    = {eager!r} (same maths, op by op)")
    print(f"equal: {bool(np.allclose(compiled, eager, rtol=1e-6))}")
    t_fast, t_eager = _median_time(fast, *inputs), _median_time(mlp_loss, *inputs)
    print(f"time per call: compiled {t_fast * 1e6:.1f} us, eager {t_eager * 1e6:.1f} us "
          f"({t_eager / t_fast:.1f}x)")
    fast(*(a.astype(np.float64) for a in inputs))
    print(f"jit cache: {fast.cache_size} signatures (float32 and float64), traced {fast.trace_count} times")

    _banner("4. Reverse mode (dt.grad): the adjoint program, gradients named after their primals")
    print(dt.source(dt.grad(mlp_loss, argnums=(0, 1, 2)), *inputs))
    _gradient_check(dt, mlp_loss, inputs)
    _banner("5. Forward vs reverse mode: Jacobian of tanh(W @ x) by jacfwd and by jacrev")
    _jacobian_timings(dt)
    return 0


def _gradient_check(dt, fn, inputs) -> None:
    """dt.grad against central finite differences in float64, the largest difference printed."""
    wide = tuple(a.astype(np.float64) for a in inputs)
    grads = dt.grad(fn, argnums=(0, 1, 2))(*wide)
    worst, eps = 0.0, 1e-6
    for k, g in enumerate(grads):
        for index in list(np.ndindex(g.shape))[:6]:
            up, down = [list(wide), list(wide)]
            for sign, args in ((1, up), (-1, down)):
                args[k] = args[k].copy()
                args[k][index] += sign * eps
            numeric = (fn(*up) - fn(*down)) / (2 * eps)
            worst = max(worst, abs(numeric - g[index]))
    print(f"gradient check against central finite differences (float64, 18 entries): "
          f"max |difference| = {worst:.1e} -> {'ok' if worst < 1e-6 else 'FAILED'}")


def _jacobian_timings(dt) -> None:
    from dualtape.examples.mlp import tanh_layer

    rng = np.random.default_rng(0)
    print("  n_in  n_out   jacfwd (us)   jacrev (us)   faster")
    for n_in, n_out in ((4, 256), (64, 64), (256, 4)):
        W, x = rng.standard_normal((n_out, n_in)), rng.standard_normal(n_in)
        fwd, rev = dt.jit(dt.jacfwd(tanh_layer, argnums=1)), dt.jit(dt.jacrev(tanh_layer, argnums=1))
        t_fwd, t_rev = _median_time(fwd, W, x, number=50), _median_time(rev, W, x, number=50)
        faster = "forward" if t_fwd < t_rev else "reverse"
        print(f"  {n_in:4d}  {n_out:5d}   {t_fwd * 1e6:11.1f}   {t_rev * 1e6:11.1f}   {faster}")
    print("  (forward mode pushes one tangent per input, reverse mode pulls one cotangent per output)")



class CommandError(Exception):
    """A command cannot do what was asked: printed as `dualtape COMMAND: error: ...`, exit status 2."""


def _attempt(what: str, fn, *args):
    """fn(*args), with any error it raises turned into a CommandError that says what was being done."""
    try:
        return fn(*args)
    except CommandError:
        raise
    except Exception as e:  # the user's function or dualtape failed: report it, no traceback
        raise CommandError(f"{what} failed:\n  {type(e).__name__}: {e}") from None


# ---- show ---------------------------------------------------------------------------------------------------
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
                        help="also draw the program to PATH: .svg, .png or .pdf (needs Graphviz), or .dot (text)")


def show(args: argparse.Namespace) -> int:
    """Print a function's IR, derivative source, gradient or Jacobian at the arguments, and a gradient check."""
    import dualtape as dt

    from .api.staging import trace_program

    fn, path = load_function(args.target)
    values = parse_arguments(args.at, fn)
    name, names = getattr(fn, "__name__", "f"), _argument_names(fn, values)
    program, out_tree = _attempt(f"tracing {name} at these arguments", trace_program, fn, tuple(values))
    print(f"{name} from {path}, at " + ", ".join(f"{n}={np.asarray(v).tolist()}" for n, v in zip(names, values)))
    if args.dot:
        written = _attempt(f"drawing the program to {args.dot}", dt.viz.to_dot(program).render, args.dot)
        print(f"wrote the picture of the program to {written}")
    everything = not (args.ir or args.source)
    if everything or args.ir:
        _banner(f"IR: dt.trace({name})")
        print(program)
    if not program.outputs:
        raise CommandError(f"{name} returns no arrays, so there is nothing to differentiate")
    outs = [name] if len(program.outputs) == 1 else [f"{name}[{i}]" for i in range(len(program.outputs))]
    labels = [f"d{out}/d{x}" for out in outs for x in names]  # one per Jacobian block, output-major
    passed, numeric = True, None
    for mode in ("fwd", "rev") if args.mode == "both" else (args.mode,):
        d = _derivative(dt, fn, values, names, mode, program, out_tree)
        if everything or args.source:
            _banner(d.title)
            print(_attempt(f"generating the {MODES[mode]} mode source", dt.source, d.function, *values, *d.extra)
                  .rstrip())
        if everything:
            found = _blocks(_attempt(f"computing the {d.what}", d.jacobian, *values))
            _banner(f"{d.what} at these arguments")
            for label, block in zip(labels, found):
                text = _text(block)
                print(f"{label} =\n{text}" if "\n" in text else f"{label} = {text}")
            if numeric is None:
                numeric = _attempt(f"evaluating {name} for finite differences", finite_differences, fn, values)
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
    _attempt(f"importing {path}", spec.loader.exec_module, module)
    fn = module
    for part in name.split("."):
        fn = getattr(fn, part, None)
        if fn is None:
            defined = sorted(k for k, v in vars(module).items()
                             if inspect.isfunction(v) and v.__module__ == module.__name__)
            listing = f"it defines {', '.join(defined)}" if defined else "it defines no functions"
            raise CommandError(f"{path} has no function {name!r}; {listing}")
    if not callable(fn):
        raise CommandError(f"{path}: {name} is a {type(fn).__name__}, not a function")
    return fn, path


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
    from .core.trace import input_hints

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
    """Print the largest difference from the finite differences and whether all are within tolerance."""
    worst, where, ok = 0.0, labels[0], True
    for block, reference, label in zip(found, numeric, labels):
        error = np.abs(block - reference)
        if error.size and float(error.max()) >= worst:
            worst, where = float(error.max()), label
        ok = ok and bool(np.all(error <= GRADCHECK_ATOL + GRADCHECK_RTOL * np.abs(reference)))
    verdict = "ok" if ok else f"FAILED (tolerance {GRADCHECK_ATOL:g} + {GRADCHECK_RTOL:g} * |numeric|)"
    print(f"gradcheck, {MODES[mode]} mode against central finite differences: largest |difference| {worst:.1e} "
          f"(in {where}) -> {verdict}")
    return ok


# ---- bench --------------------------------------------------------------------------------------------------
def bench_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true", help="few rounds: the whole suite in well under a minute")
    parser.add_argument("--out", metavar="DIR", help="where to write the results (default: benchmarks/results/ "
                        "at the root of a dualtape checkout, else ./dualtape-bench-results)")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these workloads")


def bench(args: argparse.Namespace) -> int:
    """Run the benchmark suite (dualtape.bench, imported only when asked for)."""
    from .bench import main as run_bench

    return run_bench(quick=args.quick, out=args.out, only=args.only)


# ---- the parser ---------------------------------------------------------------------------------------------
# One row per subcommand: (name, help, add_arguments(parser) or None, handler(args) -> exit status).
COMMANDS = [
    ("demo", "a tour: trace a small model, print its IR and generated source, run it", None, demo),
    ("show", "a function's IR, derivative source, gradient and gradient check at given arguments",
     show_arguments, show),
    ("bench", "the benchmark suite: tables on stdout, JSON, Markdown and plots in --out", bench_arguments, bench),
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dualtape", description="dualtape: automatic differentiation you can read."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, help_text, add_arguments, handler in COMMANDS:
        command = sub.add_parser(name, help=help_text, description=help_text,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
        if add_arguments is not None:
            add_arguments(command)
        command.set_defaults(handler=handler)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "handler", None) is None:
        parser.print_help()
        return 2
    try:
        return args.handler(args)
    except CommandError as e:
        print(f"dualtape {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
