"""Run the suite: the workloads in order, a plain-text progress bar on stderr, each workload's tables on
stdout as it finishes, then the JSON, Markdown and plots written to the output folder."""

from __future__ import annotations

import dataclasses
import pathlib
import sys
import time
import traceback

from . import eager, forward, fused, linalg, loops, overhead, parallel, precision, report, reverse, scaling, training
from .result import Result
from .timing import FULL, QUICK

WORKLOADS = {
    "tiny_elementwise": overhead.tiny_elementwise,
    "compile_time": overhead.compile_time,
    "compile_scaling": scaling.compile_scaling,
    "mlp_grad": reverse.mlp_grad,
    "jvp": forward.jvp,
    "jacobians": forward.jacobians,
    "hvp": reverse.hvp,
    "gp_grad": linalg.gp_grad,
    "ode_loop": loops.ode_loop,
    "eager_chain": eager.eager_chain,
    "training_step": eager.training_step,
    "spiral_epoch": training.spiral_epoch,
    "mixed_precision": precision.mixed_precision,
    "fused_cpu": fused.fused_cpu,
    "data_parallel": parallel.data_parallel_grad,
}


class Progress:
    """`[#####...............] 5/9 jacobians` on a stream: redrawn in place on a terminal, one line each
    update otherwise (logs, CI)."""

    def __init__(self, total: int, stream, width: int = 20):
        self.total, self.stream, self.width = total, stream, width
        self.tty = getattr(stream, "isatty", lambda: False)()
        self.shown = 0

    def update(self, done: int, label: str) -> None:
        filled = self.width * done // max(self.total, 1)
        line = f"[{'#' * filled}{'.' * (self.width - filled)}] {min(done + 1, self.total)}/{self.total} {label}"
        if self.tty:
            self.stream.write("\r" + line.ljust(self.shown))
            self.shown = len(line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def clear(self) -> None:
        """Wipe the bar before other output goes to the terminal."""
        if self.tty and self.shown:
            self.stream.write("\r" + " " * self.shown + "\r")
            self.stream.flush()
            self.shown = 0

    def finish(self, seconds: float) -> None:
        line = f"[{'#' * self.width}] {self.total}/{self.total} done in {seconds:.1f} s"
        self.stream.write(("\r" + line.ljust(self.shown) if self.tty else line) + "\n")
        self.stream.flush()


def select(only) -> list[str]:
    """The workload names to run, in suite order; an unknown name is a ValueError listing the known ones."""
    if not only:
        return list(WORKLOADS)
    unknown = [name for name in only if name not in WORKLOADS]
    if unknown:
        raise ValueError(f"unknown workload(s): {', '.join(unknown)}; choose from {', '.join(WORKLOADS)}")
    return [name for name in WORKLOADS if name in only]


def run_suite(names, settings, stream=sys.stderr, echo=None) -> dict:
    """Run the named workloads; returns the report dict. `echo(markdown)` sees each workload as it ends."""
    start = time.perf_counter()
    machine = report.machine_info(settings)
    progress = Progress(len(names), stream)
    results = []
    for i, name in enumerate(names):
        progress.update(i, name)
        began = time.perf_counter()
        try:
            result = WORKLOADS[name](settings)
        except Exception as e:  # one broken workload must not lose the others' numbers
            progress.clear()
            traceback.print_exc(file=stream)
            result = Result(name, WORKLOADS[name].__doc__.splitlines()[0], error=f"{type(e).__name__}: {e}")
        result.seconds = round(time.perf_counter() - began, 2)
        results.append(result)
        if echo is not None:
            progress.clear()
            echo(report.workload_markdown(dataclasses.asdict(result)))
    progress.finish(time.perf_counter() - start)
    return report.build(results, settings, machine, time.perf_counter() - start)


OWN_FOLDER = "dualtape-bench-results"


def default_out() -> pathlib.Path:
    """benchmarks/results/ when run at the root of a dualtape checkout (whose .gitignore ignores new results
    there), else ./dualtape-bench-results (which ignores itself: see ignored_folder)."""
    here = pathlib.Path.cwd()
    if (here / "benchmarks" / "results").is_dir() and (here / "src" / "dualtape").is_dir():
        return here / "benchmarks" / "results"
    return here / OWN_FOLDER


def ignored_folder(folder: pathlib.Path) -> pathlib.Path:
    """folder, made if need be, with a .gitignore of `*` in it, so results written there never show as untracked
    files of a git checkout around it (as pytest does with its cache)."""
    folder.mkdir(parents=True, exist_ok=True)
    ignore = folder / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# written by `dualtape bench`: git ignores this folder\n*\n", encoding="utf-8")
    return folder


def main(quick: bool = False, out=None, only=None, stdout=None, stderr=None) -> int:
    """`dualtape bench`: 0 when every workload ran (or was skipped), 1 when one failed, 2 for a bad name."""
    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    try:
        names = select(only)
    except ValueError as e:
        print(f"dualtape bench: {e}", file=stderr)
        return 2
    settings = QUICK if quick else FULL
    data = run_suite(names, settings, stderr, echo=lambda text: print(text, file=stdout, flush=True))
    out_dir = pathlib.Path(out) if out else default_out()
    if out_dir.name == OWN_FOLDER and not out:
        ignored_folder(out_dir)
    paths = report.write(data, out_dir, report.file_stem(data, WORKLOADS))
    if data["plots_note"]:
        print(f"plots: {data['plots_note']}", file=stdout)
    if quick:
        print(report.QUICK_NOTE.replace("**", "").replace("`", ""), file=stdout)
    print("wrote " + ", ".join(str(p) for p in paths), file=stdout)
    return 1 if any(w["error"] for w in data["workloads"].values()) else 0
