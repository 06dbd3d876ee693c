"""`dualtape bench`: the benchmark suite (dualtape.bench, imported only when asked for)."""

from __future__ import annotations

import argparse


def bench_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true", help="few rounds: the whole suite in well under a minute "
                        "(its numbers can be 10-100x off a full run: to check that it runs, not to compare)")
    parser.add_argument("--out", metavar="DIR", help="where to write the results (default: benchmarks/results/ "
                        "at the root of a dualtape checkout, where git ignores new results, else "
                        "./dualtape-bench-results, a folder git ignores)")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these workloads")


def bench(args: argparse.Namespace) -> int:
    """Run the benchmark suite (dualtape.bench, imported only when asked for)."""
    from ..bench import main as run_bench

    return run_bench(quick=args.quick, out=args.out, only=args.only)


