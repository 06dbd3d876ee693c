"""PNG plots of a suite report with matplotlib (the `bench` extra), drawn from the workloads' plot specs and
a suite-wide grad/f bar chart; skipped with a note when matplotlib is not installed."""

from __future__ import annotations

import math
import pathlib


def grad_over_f_spec(report: dict) -> dict | None:
    """A grouped bar chart of time(grad f) / time(f): one group per case, one bar per contender."""
    cases = {}
    for w in report["workloads"].values():
        cases.update(w["grad_over_f"])
    if not cases:
        return None
    contenders = list(dict.fromkeys(name for ratios in cases.values() for name in ratios))
    return {"name": "grad_over_f", "kind": "bar", "title": "time(grad f) / time(f), lower is better",
            "ylabel": "grad / f", "categories": list(cases), "target": 3,
            "series": {name: [cases[c].get(name, math.nan) for c in cases] for name in contenders}}


def _draw(spec: dict, path: pathlib.Path) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 4.5), layout="constrained")
    ax = fig.subplots()
    if spec["kind"] == "line":
        for label, ys in spec["series"].items():
            ax.plot(spec["x"], ys, marker="o", label=label, linestyle="-" if label.startswith("dualtape") else "--")
        ax.set_xlabel(spec["xlabel"])
        if spec.get("log"):
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
        ax.set_xticks(spec["x"], [str(x) for x in spec["x"]])
    else:
        categories, series = spec["categories"], spec["series"]
        width = 0.8 / len(series)
        for k, (label, values) in enumerate(series.items()):
            ax.bar([i + (k - (len(series) - 1) / 2) * width for i in range(len(categories))], values, width,
                   label=label if len(series) > 1 else None)
        ax.set_xticks(range(len(categories)), categories, rotation=20, ha="right", fontsize=8)
    if "target" in spec:
        ax.axhline(spec["target"], color="grey", linestyle=":", label=f"target {spec['target']}")
    ax.set_ylabel(spec["ylabel"])
    ax.set_title(spec["title"])
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    fig.savefig(path, dpi=100)


def write_plots(report: dict, out_dir: pathlib.Path, stem: str) -> tuple[list[pathlib.Path], str | None]:
    """(paths of the PNGs written, or a note saying why there are none)."""
    specs = [spec for w in report["workloads"].values() for spec in w["plots"]]
    summary = grad_over_f_spec(report)
    if summary is not None:
        specs.append(summary)
    if not specs:
        return [], None
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return [], "skipped, matplotlib is not installed (pip install 'dualtape[bench]')"
    paths = []
    for spec in specs:
        path = out_dir / f"{stem}-{spec['name']}.png"
        _draw(spec, path)
        paths.append(path)
    return paths, None
