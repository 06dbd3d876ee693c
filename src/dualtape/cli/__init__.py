"""The `dualtape` command line: `demo` (a first tour of the pipeline), `show` (any function's IR,
derivative source, gradient and gradient check) and `bench` (the benchmark suite). Each subcommand is one row
of COMMANDS."""

from __future__ import annotations

import argparse
import sys

from .bench import bench, bench_arguments
from .demo import demo
from .errors import CommandError
from .show import finite_differences, load_function, parse_arguments, show, show_arguments

__all__ = ["COMMANDS", "CommandError", "build_parser", "finite_differences", "load_function", "main",
           "parse_arguments", "show", "show_arguments"]


# ---- the parser ---------------------------------------------------------------------------------------------
# One row per subcommand: (name, help, add_arguments(parser) or None, handler(args) -> exit status).
COMMANDS = [
    ("demo", "a tour: trace a small model, print its IR and generated source, run it", None, demo),
    ("show", "a function's IR, derivative source, gradient and gradient check at given arguments",
     show_arguments, show),
    ("bench", "the benchmark suite: tables on stdout, JSON, Markdown and plots in --out", bench_arguments, bench),
]


def build_parser() -> argparse.ArgumentParser:
    import dualtape  # (already imported: this package is inside it)

    parser = argparse.ArgumentParser(
        prog="dualtape", description="dualtape: automatic differentiation you can read."
    )
    parser.add_argument("--version", action="version", version=f"dualtape {dualtape.__version__}")
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

