"""Compiling a program for backend="numba": the lowered kernel (codegen/numba_lower.py) and a small Python
wrapper written to a module file named by the hash of its text under the cache directory, so that Numba's
on-disk cache (cache=True, keyed by that file) serves a second process in milliseconds. Captured values are
passed as arguments, never frozen into the machine code, so two programs that differ only in a constant share a
file and a cache entry safely.

Where Numba cannot take a whole program (a dtype it lacks, tapes crossing the program's boundary) the NumPy
backend runs it; where it cannot type one statement that the lowering let through, that statement is put in
object mode and the kernel compiled again.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import logging
import os
import pathlib
import re
import sys
import warnings

import numpy as np

from ..control.tape import is_tape
from ..core.ir import Program, sub_programs
from ..errors import BackendError, optional_module
from .numba_lower import HELPERS, lower_program, supported
from .runtime import helpers_for

logger = logging.getLogger("dualtape")
CACHE_ENV = "DUALTAPE_NUMBA_CACHE"
INSTALL = 'pip install "dualtape[numba]"'
_RETRIES = 8
# (Numba's cache does not follow calls into other files: the helpers' own hash is written into each module, so
# that changing them makes new modules rather than reusing stale machine code)
_KERNELS = hashlib.sha256((pathlib.Path(__file__).parent / "numba_kernels.py").read_bytes()).hexdigest()[:12]
_TAPE_MAKERS = {"while_loop_tape", "while_loop_adjoint", "while_loop"}  # (their tapes are Numba lists)


def require_numba():
    """The numba module, or a BackendError naming the extra to install."""
    return optional_module("numba", "backend='numba'", "Numba", INSTALL)


def numba_available() -> bool:
    try:
        require_numba()
    except BackendError:
        return False
    return True


def cache_dir() -> pathlib.Path:
    """Where generated modules and Numba's cache live: $DUALTAPE_NUMBA_CACHE, else the user cache directory."""
    chosen = os.environ.get(CACHE_ENV)
    if chosen:
        return pathlib.Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return pathlib.Path(base) / "dualtape" / "numba"


def whole_program_problem(program: Program) -> str | None:
    """Why Numba cannot run the program at all (then the NumPy backend does), or None."""
    for v in [*program.inputs, *program.outputs]:
        if hasattr(v, "aval") and not supported(v.aval):
            return f"a value of dtype {v.aval.dtype} at its boundary"
    for v, _ in program.captures:
        if not supported(v.aval):
            return f"a captured value of dtype {v.aval.dtype}"
    return _inner_problem(program)


def _inner_problem(program: Program) -> str | None:
    for eqn in program.eqns:
        for v in [*eqn.outs, *(a for a in eqn.inputs if hasattr(a, "aval"))]:
            if not supported(v.aval) and not (is_tape(v.aval) and eqn.prim.name in _TAPE_MAKERS | {"scan"}):
                return f"{eqn.prim.name} on a value of dtype {v.aval.dtype}"
        if eqn.prim.name == "scan" and any(is_tape(v.aval) for v in eqn.outs):
            return "a scan stacking the tapes of loops in its body"
        for sub in sub_programs(eqn.params):
            found = _inner_problem(sub)
            if found:
                return found
    return None


def module_text(program: Program, comments: bool = True, forced: frozenset = frozenset(),
                unfused: frozenset = frozenset()):
    """(the module's source, the lowered kernel, the line of the kernel's def in the module)."""
    numba = require_numba()
    lowered = lower_program(program, comments, forced, unfused)
    head = [f'"""dualtape: {program.name}, lowered for Numba {numba.__version__} (helpers {_KERNELS}); '
            f'{len(lowered.fallbacks)} statement(s) in object mode."""', "import numba", "import numpy as xp",
            "from numba import objmode",
            f"from dualtape.codegen.numba_kernels import {', '.join(sorted(HELPERS))}", "", "",
            '@numba.njit(cache=True, error_model="numpy")']
    wrapper = _wrapper(program, lowered)
    text = "\n".join(head) + "\n" + lowered.source + ("\n\n" + wrapper if wrapper else "")
    return text, lowered, len(head) + 1


def _wrapper(program: Program, lowered) -> str:
    """`make_call(<captured values>)`, the Python function giving the kernel its captured values and NumPy's
    scalar types (Numba returns Python numbers and takes NumPy scalars); "" when the kernel can be called as
    it is. (A closure, not module globals: programs differing only in a constant share the module.)"""
    params = lowered.source.split("(", 1)[1].split(")", 1)[0].split(", ")
    inputs = params[:len(program.inputs)] if program.inputs else []
    scalars_in = [not v.aval.weak and v.aval.shape == () for v in program.inputs]
    scalars_out = [hasattr(v, "aval") and not v.aval.weak and v.aval.shape == () for v in program.outputs]
    if not (lowered.captured or any(scalars_in) or any(scalars_out)):
        return ""
    args = [f"{n}[()]" if s else n for n, s in zip(inputs, scalars_in)] + list(lowered.captured)
    call = f"{lowered.name}({', '.join(args)})"
    lines = [f"def make_call({', '.join(lowered.captured)}):", f"    def call_{lowered.name}({', '.join(inputs)}):"]
    if not any(scalars_out):
        lines.append(f"        return {call}")
    elif len(program.outputs) == 1:
        lines.append(f"        return xp.{program.outputs[0].aval.dtype.name}({call})")
    else:
        lines.append(f"        results = {call}")
        outs = [f"xp.{v.aval.dtype.name}(results[{k}])" if s else f"results[{k}]"
                for k, (v, s) in enumerate(zip(program.outputs, scalars_out))]
        lines.append(f"        return ({', '.join(outs)})")
    lines.append(f"    return call_{lowered.name}")
    return "\n".join(lines) + "\n"


def _scalar_ready(value):
    """A captured value as the kernel takes it: a 0-d array as its NumPy scalar."""
    return value[()] if isinstance(value, np.ndarray) and value.ndim == 0 else value


class NumbaCompiled:
    """A program compiled by Numba: the same interface as runtime.Compiled (fn, source, n_outputs, program)."""

    __slots__ = ("fn", "source", "filename", "n_outputs", "program", "fallbacks", "kernel")

    def __init__(self, program: Program, comments: bool = True):
        numba = require_numba()
        forced: set = set()  # statements put in object mode
        unfused: set = set()  # statements taken out of their fused loop
        for _ in range(_RETRIES):
            self.source, lowered, offset = module_text(program, comments, frozenset(forced), frozenset(unfused))
            module = _load(self.source)
            module.__dict__.update(helpers_for(program, np))  # (what statements in object mode call)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", numba.NumbaPerformanceWarning)
                    warnings.filterwarnings("ignore", "Cannot cache compiled function", numba.NumbaWarning)
                    getattr(module, lowered.name).compile(_signature(program, lowered, numba))
                break
            except numba.core.errors.NumbaError as e:
                eqn = _failing_statement(str(e), module.__file__, offset, lowered)
                if eqn is None or id(eqn) in forced:
                    raise
                where = "out of its fused loop" if id(eqn) in lowered.fused else "in object mode"
                (unfused if id(eqn) in lowered.fused else forced).add(id(eqn))
                logger.info("dualtape numba: %s put %s (%s)", eqn.prim.name, where, str(e).splitlines()[0])
        self.kernel = getattr(module, lowered.name)
        captured = {k: _scalar_ready(v) for k, v in lowered.captured.items()}
        self.fn = module.make_call(**captured) if hasattr(module, "make_call") else self.kernel
        self.filename, self.fallbacks = module.__file__, [e.prim.name for e in lowered.fallbacks]
        self.n_outputs, self.program = len(program.outputs), program

    def __call__(self, *args):
        return self.fn(*args)


def _signature(program: Program, lowered, numba) -> tuple:
    types = []
    for v in program.inputs:
        dtype = numba.from_dtype(v.aval.dtype)
        types.append(dtype if v.aval.shape == () else numba.types.Array(dtype, len(v.aval.shape), "C"))
    return tuple(types) + tuple(numba.typeof(_scalar_ready(v)) for v in lowered.captured.values())


def _failing_statement(message: str, filename: str, offset: int, lowered):
    """The statement at the kernel line a Numba error points to, or None."""
    for line in re.findall(rf'File "[^"]*{re.escape(os.path.basename(filename))}", line (\d+)', message):
        eqn = lowered.line_eqns.get(int(line) - offset)
        if eqn is not None:
            return eqn
    return None


def _load(text: str):
    """The module of this source, written once under the cache directory by the hash of its text."""
    key = hashlib.sha256(text.encode()).hexdigest()[:24]
    name = f"dualtape_numba_{key}"
    if name in sys.modules:
        return sys.modules[name]
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.py"
    if not path.exists() or path.read_text() != text:
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(text)
        os.replace(temporary, path)  # (atomic: another process never imports half a file)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def compile_for(program: Program, backend: str, comments: bool = True) -> NumbaCompiled | None:
    """The program compiled by Numba, or None where the NumPy backend should run it: backend="auto" choosing
    NumPy (codegen/numba_auto.py), or a program Numba cannot take whole."""
    if backend == "auto":
        from .numba_auto import choose

        if choose(program) != "numba":
            return None
    problem = whole_program_problem(program)
    if problem is not None:
        logger.info("dualtape numba: %s runs on NumPy: %s", program.name, problem)
        return None
    return NumbaCompiled(program, comments)


def numba_source(program: Program, backend: str = "numba", comments: bool = True) -> str:
    """What `dt.source(..., backend=...)` shows: the generated module, or for a program NumPy runs, a note and
    the NumPy source."""
    from .emit import emit_program

    if backend == "auto":
        from .numba_auto import choose

        reason = choose(program, explain=True)
        if not reason.startswith("numba"):
            why = reason.partition(": ")[2]
            return f"# backend='auto' chose NumPy: {why}\n" + emit_program(program, comments=comments).source
    require_numba()
    problem = whole_program_problem(program)
    if problem is not None:
        return f"# runs on NumPy: Numba cannot take {problem}\n" + emit_program(program, comments=comments).source
    return module_text(program, comments)[0]
