"""The benchmark suite behind `dualtape bench`: workloads with hand-written NumPy baselines and optional peers
(PyTorch, JAX, HIPS autograd), timed as medians of interleaved rounds, reported as JSON, Markdown and plots.
It ships with the package so that an installed dualtape can measure itself."""

from .runner import WORKLOADS, main, run_suite
from .timing import FULL, QUICK, Settings

__all__ = ["FULL", "QUICK", "Settings", "WORKLOADS", "main", "run_suite"]
