"""DOT text and its rendering: `DotWriter` builds a digraph line by line (every label escaped), `Graph` holds
the finished text and renders it to SVG / PNG / PDF with Graphviz's `dot` executable when one is installed
(through the `graphviz` Python package where that is installed, the `graphviz` extra; else by running `dot`
itself). Writing DOT text needs neither. In Jupyter a Graph shows as its picture, or as its DOT text with a note
when Graphviz is missing."""

from __future__ import annotations

import pathlib
import shutil
import subprocess

FORMATS = ("svg", "png", "pdf", "jpg", "jpeg", "gif", "ps", "eps")
TEXT_SUFFIXES = ("dot", "gv")
_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "{": "\\{", "}": "\\}", "<": "\\<", ">": "\\>",
                          "|": "\\|"})


class GraphvizNotFoundError(RuntimeError):
    """Rendering a picture needs Graphviz's `dot` executable, and there is none on PATH."""


GRAPHVIZ_MISSING = (
    "drawing a picture needs Graphviz's `dot` program, which is not on PATH; install Graphviz "
    "(`apt install graphviz`, `brew install graphviz` or `conda install graphviz`). The DOT text "
    "needs no Graphviz: str(graph), graph.render('graph.dot'), or `dualtape show ... --dot graph.dot`.")


def have_graphviz() -> bool:
    """Whether Graphviz's `dot` program is installed (pictures need it; DOT text does not)."""
    return shutil.which("dot") is not None


def _graphviz_package():
    """The `graphviz` Python package (the optional `graphviz` extra), or None."""
    try:
        import graphviz
    except ImportError:
        return None
    return graphviz


def quote(text) -> str:
    """text as a DOT quoted string: quotes, backslashes, newlines and record-label characters escaped."""
    return '"' + str(text).translate(_ESCAPES) + '"'


def _attributes(attrs: dict) -> str:
    shown = [f"{k}={quote(v)}" for k, v in attrs.items() if v is not None]
    return f" [{', '.join(shown)}]" if shown else ""


class DotWriter:
    """A digraph under construction: nodes get fresh ids (n0, n1, ...), clusters nest."""

    def __init__(self, name: str, **graph_attrs):
        self.lines = [f"digraph {quote(name)} {{"]
        self.lines.append("  graph" + _attributes({"fontname": "Helvetica", **graph_attrs}))
        self.lines.append('  node [fontname="Helvetica", fontsize="11"]')
        self.lines.append('  edge [fontname="Helvetica", fontsize="9"]')
        self._ids = 0
        self._clusters = 0
        self._indent = "  "

    def node(self, label, **attrs) -> str:
        """Add a node; returns its id."""
        node_id = f"n{self._ids}"
        self._ids += 1
        self.lines.append(f"{self._indent}{node_id}{_attributes({'label': label, **attrs})}")
        return node_id

    def edge(self, tail: str, head: str, **attrs) -> None:
        self.lines.append(f"{self._indent}{tail} -> {head}{_attributes(attrs)}")

    def open_cluster(self, label, **attrs) -> str:
        """Start a cluster subgraph (closed by close_cluster); returns its name, for an edge's lhead."""
        name = f"cluster_{self._clusters}"
        self._clusters += 1
        self.lines.append(f"{self._indent}subgraph {name} {{")
        self._indent += "  "
        self.lines.append(f"{self._indent}graph{_attributes({'label': label, **attrs})}")
        return name

    def close_cluster(self) -> None:
        self._indent = self._indent[:-2]
        self.lines.append(f"{self._indent}}}")

    def finish(self) -> "Graph":
        return Graph("\n".join(self.lines + ["}"]) + "\n", self._ids)


class Graph:
    """A graph picture: `str(graph)` / `graph.source` is the DOT text, `graph.render("out.svg")` draws it."""

    def __init__(self, source: str, n_nodes: int):
        self.source = source
        self.n_nodes = n_nodes

    def __str__(self):
        return self.source

    def __repr__(self):
        return f"<dualtape.viz.Graph of {self.n_nodes} nodes: .source is its DOT text, .render(path) draws it>"

    def pipe(self, format: str = "svg") -> bytes:
        """The picture in this format, made by Graphviz's `dot` (through the `graphviz` package if installed)."""
        if format not in FORMATS:
            raise ValueError(f"unknown picture format {format!r}; choose one of {', '.join(FORMATS)}")
        if not have_graphviz():
            raise GraphvizNotFoundError(GRAPHVIZ_MISSING)
        graphviz = _graphviz_package()
        if graphviz is not None:
            try:
                return graphviz.Source(self.source).pipe(format=format)
            except graphviz.ExecutableNotFound:
                raise GraphvizNotFoundError(GRAPHVIZ_MISSING) from None
            except graphviz.CalledProcessError as e:
                error = (e.stderr or b"").decode(errors="replace").strip()
                raise RuntimeError(f"Graphviz `dot -T{format}` failed: {error}") from None
        result = subprocess.run([shutil.which("dot"), f"-T{format}"], input=self.source.encode(), capture_output=True)
        if result.returncode != 0:
            raise RuntimeError(f"Graphviz `dot -T{format}` failed: {result.stderr.decode(errors='replace').strip()}")
        return result.stdout

    def render(self, path, format: str | None = None) -> pathlib.Path:
        """Write the picture to path, in the format its suffix names (.svg, .png, .pdf, ...; .dot or .gv
        writes the DOT text, with no Graphviz needed). Returns the path."""
        path = pathlib.Path(path)
        format = (format or path.suffix.lstrip(".")).lower()
        if not format:
            raise ValueError(f"{path}: give the file a suffix naming its format (.svg, .png, .pdf or .dot)")
        if format in TEXT_SUFFIXES:
            path.write_text(self.source, encoding="utf-8")
        else:
            path.write_bytes(self.pipe(format))
        return path

    def _repr_svg_(self):
        """The picture inline in Jupyter, when Graphviz is installed (else _repr_markdown_ shows the DOT text)."""
        return self.pipe("svg").decode() if have_graphviz() else None

    def _repr_markdown_(self):
        """Without Graphviz, Jupyter shows the DOT text and how to get the picture (with it, only the picture)."""
        if have_graphviz():
            return None
        return (f"```dot\n{self.source.rstrip()}\n```\n\n*The picture needs Graphviz's `dot` program, which is "
                "not installed (`apt install graphviz`, `brew install graphviz` or `conda install graphviz`); "
                "above is its DOT text.*")
