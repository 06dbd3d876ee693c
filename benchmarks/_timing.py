"""Timing helpers for the benchmarks: medians over interleaved rounds, so that a noisy machine slows every
contender alike and ratios stay meaningful."""

from __future__ import annotations

import platform
import statistics
import time


def calibrate(fn, args, target_s: float = 0.02) -> int:
    """How many calls of fn(*args) take about target_s."""
    n = 1
    while True:
        start = time.perf_counter()
        for _ in range(n):
            fn(*args)
        elapsed = time.perf_counter() - start
        if elapsed >= target_s or n >= 1 << 20:
            return max(1, int(n * target_s / max(elapsed, 1e-9)))
        n *= 4


def compare(contenders: dict, args: tuple, rounds: int = 15) -> dict[str, float]:
    """Median seconds per call of each contender, measured round-robin in the same run."""
    numbers = {name: calibrate(fn, args) for name, fn in contenders.items()}
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, fn in contenders.items():
            n = numbers[name]
            start = time.perf_counter()
            for _ in range(n):
                fn(*args)
            samples[name].append((time.perf_counter() - start) / n)
    return {name: statistics.median(s) for name, s in samples.items()}


def machine() -> str:
    import numpy as np

    cpu = platform.processor() or platform.machine()
    return f"{cpu}, Python {platform.python_version()}, NumPy {np.__version__}"


def fmt_us(seconds: float) -> str:
    return f"{seconds * 1e6:.2f} us"
