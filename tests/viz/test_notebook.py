"""What Jupyter shows: a Program as its listing (HTML), generated source as a Python block (Markdown) while
staying a str, a Graph as its SVG picture where Graphviz is installed (through the `graphviz` package when that
is installed, else by running `dot`) or as its DOT text with a note where it is not."""

import shutil
import sys
import types

import numpy as np
import pytest

import dualtape as dt
import dualtape.numpy as dnp
from dualtape.viz import GraphvizNotFoundError, to_dot

HAVE_DOT = shutil.which("dot") is not None


def f(x, y):
    return dnp.sin(x) * y < 2.0  # (a `<`, escaped in HTML)


def test_a_program_shows_its_listing_as_html():
    program = dt.trace(f)(np.ones(2), 3.0)
    html = program._repr_html_()
    assert html.startswith("<pre>program f(x:f64[2], y:f64[]):\n") and html.endswith("</pre>")
    assert "= lt b 2.0" in html and "<" not in html[5:-6]  # the listing, escaped
    assert html[5:-6].replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&") == str(program)


def test_generated_source_is_a_str_that_shows_as_python():
    source = dt.source(f, np.ones(2), 3.0, comments=False)
    assert isinstance(source, str) and source == str(source) and source.startswith("def f(x, y):")
    assert source._repr_markdown_() == f"```python\n{source.rstrip()}\n```"
    assert source.splitlines()[0] == "def f(x, y):" and type(source + "") is str  # str operations as before
    assert dt.jit(f).source(np.ones(2), 3.0, comments=False) == source


def test_without_graphviz_a_graph_shows_its_dot_text_and_how_to_draw_it(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    graph = to_dot(f, np.ones(2), 3.0)
    assert graph._repr_svg_() is None
    markdown = graph._repr_markdown_()
    assert markdown.startswith(f"```dot\n{graph.source.rstrip()}\n```")
    assert "needs Graphviz's `dot` program, which is not installed" in markdown
    with pytest.raises(GraphvizNotFoundError, match="apt install graphviz"):
        graph.pipe("svg")


class FakeGraphviz(types.ModuleType):
    """A stand-in for the `graphviz` package: records what it is asked to draw."""

    class ExecutableNotFound(RuntimeError):
        pass

    class CalledProcessError(RuntimeError):
        def __init__(self, stderr):
            self.stderr = stderr

    def __init__(self, outcome):
        super().__init__("graphviz")
        self.outcome, self.drawn = outcome, []
        module = self

        class Source:
            def __init__(self, text):
                self.text = text

            def pipe(self, format):
                module.drawn.append((self.text, format))
                if isinstance(module.outcome, Exception):
                    raise module.outcome
                return module.outcome

        self.Source = Source


def test_the_graphviz_package_draws_when_installed(monkeypatch):
    fake = FakeGraphviz(b"<svg>picture</svg>")
    monkeypatch.setitem(sys.modules, "graphviz", fake)
    monkeypatch.setattr(shutil, "which", lambda name: "/usr/bin/dot")
    graph = to_dot(f, np.ones(2), 3.0)
    assert graph._repr_svg_() == "<svg>picture</svg>" and graph._repr_markdown_() is None
    assert fake.drawn == [(graph.source, "svg")]
    graph.pipe("png")
    assert fake.drawn[-1] == (graph.source, "png")


def test_the_graphviz_packages_errors_become_dualtapes(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: "/usr/bin/dot")
    graph = to_dot(f, np.ones(2), 3.0)
    missing = FakeGraphviz(None)
    missing.outcome = missing.ExecutableNotFound("dot")
    monkeypatch.setitem(sys.modules, "graphviz", missing)
    with pytest.raises(GraphvizNotFoundError, match="is not on PATH"):
        graph.pipe("svg")
    failing = FakeGraphviz(None)
    failing.outcome = failing.CalledProcessError(b"syntax error in line 1")
    monkeypatch.setitem(sys.modules, "graphviz", failing)
    with pytest.raises(RuntimeError, match=r"Graphviz `dot -Tsvg` failed: syntax error in line 1"):
        graph.pipe("svg")


@pytest.mark.skipif(not HAVE_DOT, reason="Graphviz's dot is not installed")
def test_with_graphviz_a_graph_shows_its_picture():
    graph = to_dot(f, np.ones(2), 3.0)
    svg = graph._repr_svg_()
    assert "<svg" in svg and "sin" in svg and graph._repr_markdown_() is None
