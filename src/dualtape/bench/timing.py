"""Timing for the benchmark suite: medians over interleaved rounds, so that a noisy machine slows every
contender alike and the ratios, taken from one run, stay meaningful."""

from __future__ import annotations

import contextlib
import importlib.util
import statistics
import sys
import time
import tracemalloc
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    """How long to measure: `rounds` interleaved samples per contender, each about `target_s` long; `peers`
    adds PyTorch, JAX and HIPS autograd columns where they are installed."""

    rounds: int = 21
    target_s: float = 0.02
    repeats: int = 7  # for one-off costs such as trace + compile time
    quick: bool = False
    peers: bool = True


FULL = Settings()
QUICK = Settings(rounds=5, target_s=0.005, repeats=1, quick=True)


def calibrate(fn, args, target_s: float) -> int:
    """How many calls of fn(*args) take about target_s (after one warm-up call, which may compile)."""
    fn(*args)
    n = 1
    while True:
        start = time.perf_counter()
        for _ in range(n):
            fn(*args)
        elapsed = time.perf_counter() - start
        if elapsed >= target_s or n >= 1 << 20:
            return max(1, int(n * target_s / max(elapsed, 1e-9)))
        n *= 4


def compare(contenders: dict, args: tuple, settings: Settings) -> dict[str, float]:
    """Median seconds per call of each contender, measured round-robin in the same run. A contender is a
    callable (called with args) or a pair (callable, its own args), e.g. a peer that takes tensors."""
    calls = {name: c if isinstance(c, tuple) else (c, args) for name, c in contenders.items()}
    numbers = {name: calibrate(fn, a, settings.target_s) for name, (fn, a) in calls.items()}
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(settings.rounds):
        for name, (fn, a) in calls.items():
            n = numbers[name]
            start = time.perf_counter()
            for _ in range(n):
                fn(*a)
            samples[name].append((time.perf_counter() - start) / n)
    return {name: statistics.median(s) for name, s in samples.items()}


def first_call(fn, args) -> float:
    """Seconds of one call (for a fresh transform: trace + compile + run)."""
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def peak_bytes(fn, args) -> int:
    """Peak bytes allocated (tracemalloc) during one call, after a warm-up call."""
    fn(*args)
    tracemalloc.start()
    fn(*args)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


@contextlib.contextmanager
def one_thread():
    """BLAS (through threadpoolctl) and PyTorch limited to one thread inside; None where threadpoolctl is absent."""
    if importlib.util.find_spec("threadpoolctl") is None:
        yield None
        return
    from threadpoolctl import threadpool_limits

    torch = sys.modules.get("torch")  # (PyTorch keeps its own pool; only where a contender uses it)
    before = torch.get_num_threads() if torch is not None else None
    with threadpool_limits(1):
        if torch is not None:
            torch.set_num_threads(1)
        try:
            yield True
        finally:
            if torch is not None:
                torch.set_num_threads(before)


def per_thread_setting(contenders: dict, settings: Settings, result):
    """(label, times): the zero-argument contenders timed side by side at the machine's default threads, then
    at one thread (one_thread()); without threadpoolctl the one-thread run is left out, with a note in result."""
    for label, limit in (("default threads", contextlib.nullcontext(True)), ("one thread", one_thread())):
        with limit as active:
            if active is None:
                result.notes.append("One-thread rows need threadpoolctl: pip install threadpoolctl.")
                continue
            times = compare(contenders, (), settings)
        yield label, times
