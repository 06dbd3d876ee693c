"""The suite's report: one JSON-ready dict (machine, settings, every workload's tables and raw numbers), and
its Markdown rendering; both are written side by side, with the plots, into the output folder."""

from __future__ import annotations

import dataclasses
import datetime
import json
import operator
import os
import pathlib
import platform
import re

import numpy as np

import dualtape as dt

from . import peers
from .plots import write_plots

QUICK_NOTE = ("**Quick run (`--quick`):** few rounds of short samples, and smaller problems in some workloads, so "
              "these numbers can be 10-100x off those of a full run (`dualtape bench`): they show that the suite "
              "runs, not how fast dualtape is; compare and quote only full runs.")
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")  # read when NumPy loads BLAS


def _cpu_name() -> str:
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info(settings) -> dict:
    """Where and when the suite ran: platform, CPU, cores, versions, load, date."""
    return {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu": _cpu_name(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "dualtape": dt.__version__,
        "peers": peers.versions(settings),
        "load_average": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        "threads": {name: os.environ[name] for name in THREAD_VARIABLES if name in os.environ},
    }


def build(results, settings, machine: dict, duration_s: float) -> dict:
    """The whole report as plain data (what the JSON file holds)."""
    return {
        "suite": "dualtape bench",
        "quick": settings.quick,
        "settings": dataclasses.asdict(settings),
        "machine": machine,
        "duration_s": round(duration_s, 2),
        "workloads": {r.name: dataclasses.asdict(r) for r in results},
    }


# A target next to a number, as the workloads write them: a note's "3.45 (target <= 3)" (or "(target <= 1: why)"),
# a column's "ratio (target <= 3)". A number that meets its target is marked MET, one that misses it MISSED.
MET, MISSED = "met", "MISSED"
_COMPARE = {"<=": operator.le, "<": operator.lt, ">=": operator.ge, ">": operator.gt}
_NUMBER = r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?"
_TARGET = rf"\(target (?P<op><=|>=|<|>) (?P<limit>{_NUMBER})"
_NOTE_TARGET = re.compile(rf"(?P<value>{_NUMBER})x? {_TARGET}[^()]*\)")
_COLUMN_TARGET = re.compile(_TARGET + r"[^()]*\)")
_CELL = re.compile(rf"\s*(?P<value>{_NUMBER})x?\s*")


def verdict(value: float, op: str, limit: float) -> str:
    """MET or MISSED: whether value satisfies `value op limit`."""
    return MET if _COMPARE[op](value, limit) else MISSED


def mark_targets(note: str) -> str:
    """A note with every "value (target op limit)" in it followed by MET or MISSED."""
    return _NOTE_TARGET.sub(lambda m: f"{m[0]} {verdict(float(m['value']), m['op'], float(m['limit']))}", note)


def _marked_rows(columns, rows) -> list:
    """The rows, each number in a column whose heading names a target followed by MET or MISSED."""
    targets = {i: (m["op"], float(m["limit"])) for i, c in enumerate(columns) if (m := _COLUMN_TARGET.search(str(c)))}
    if not targets:
        return rows
    marked = []
    for row in rows:
        row = list(row)
        for i, (op, limit) in targets.items():
            if i < len(row) and (m := _CELL.fullmatch(str(row[i]))):
                row[i] = f"{row[i]} {verdict(float(m['value']), op, limit)}"
        marked.append(row)
    return marked


def _table(columns, rows) -> list[str]:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    return lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in _marked_rows(columns, rows)]


def table_markdown(table: dict) -> str:
    """One table (a Table as a dict): its title, then its rows, targets marked."""
    title = [f"{table['title']}:", ""] if table["title"] else []
    return "\n".join(title + _table(table["columns"], table["rows"]))


def workload_markdown(w: dict) -> str:
    """One workload's section: heading, tables, notes, or why it was skipped or failed; every number shown
    against a target is marked MET or MISSED."""
    lines = [f"## {w['name']}: {w['title']}", ""]
    if w["error"]:
        lines += [f"**Failed:** `{w['error']}`", ""]
    for table in w["tables"]:
        lines += [table_markdown(table), ""]
    if w["skipped"]:
        lines += [f"Skipped: {w['skipped']}.", ""]
    lines += [mark_targets(note) for note in w["notes"]] + ([""] if w["notes"] else [])
    return "\n".join(lines)


def markdown(report: dict) -> str:
    m, s = report["machine"], report["settings"]
    peer_list = ", ".join(f"{name} {v}" for name, v in m["peers"].items()) or "none (not installed, or switched off)"
    rows = [["date", m["date"]], ["platform", m["platform"]], ["CPU", f"{m['cpu']} ({m['machine']})"],
            ["cores", m["cores"]], ["Python", m["python"]], ["NumPy", m["numpy"]], ["dualtape", m["dualtape"]],
            ["peers", peer_list], ["load average at start", m["load_average"]],
            ["threads", ", ".join(f"{k}={v}" for k, v in m["threads"].items()) or "the libraries' defaults"],
            ["settings", f"{s['rounds']} interleaved rounds per contender, ~{s['target_s'] * 1e3:.0f} ms per sample; "
                         f"{s['repeats']} repeats of one-off costs" + (" (--quick)" if report["quick"] else "")]]
    title = m["date"][:10] + (" (quick)" if report["quick"] else "")
    lines = [f"# dualtape benchmark suite, {title}", "", *_table(["machine", ""], rows), "",
             "Times are medians of interleaved rounds (every contender measured in each round, so a noisy machine "
             "slows all alike); every ratio compares numbers from this one run. "
             f"The suite took {report['duration_s']:.1f} s.", ""]
    if report["quick"]:
        lines += [QUICK_NOTE, ""]
    lines += [workload_markdown(w) for w in report["workloads"].values()]
    if report.get("plots"):
        lines += ["## Plots", ""]
        lines += [f"![{pathlib.Path(p).stem}]({pathlib.Path(p).name})\n" for p in report["plots"]]
    if report.get("plots_note"):
        lines += [f"Plots: {report['plots_note']}.", ""]
    return "\n".join(lines).rstrip() + "\n"


def file_stem(report: dict, all_names) -> str:
    """`<date>-<machine>-suite[-quick]`, or the workload names when only some ran."""
    names = list(report["workloads"])
    label = "suite" if names == list(all_names) else "-".join(names)
    return f"{report['machine']['date'][:10]}-{report['machine']['machine']}-{label}" + (
        "-quick" if report["quick"] else "")


def write(report: dict, out_dir: pathlib.Path, stem: str) -> list[pathlib.Path]:
    """Write the plots, the JSON and the Markdown into out_dir; returns the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    plots, note = write_plots(report, out_dir, stem)
    report["plots"], report["plots_note"] = [p.name for p in plots], note
    json_path, md_path = out_dir / f"{stem}.json", out_dir / f"{stem}.md"
    json_path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    md_path.write_text(markdown(report), encoding="utf-8")
    return [md_path, json_path, *plots]
