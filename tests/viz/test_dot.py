"""dt.viz: the DOT text of Programs (labels, types on edges, outputs, control-flow clusters) and of eager backward
graphs (grad_fn names, AccumulateGrad, shapes, leaf and root colours, deep chains), escaping, and rendering."""

import re
import shutil

import numpy as np
import pytest

import dualtape as dt
import dualtape.numpy as dnp
from dualtape.viz import Graph, GraphvizNotFoundError, to_dot
from dualtape.viz.dot import quote
from testkit import leaf

HAVE_DOT = shutil.which("dot") is not None
NODE = re.compile(r"^\s*(n\d+) \[(.*)\]$")
EDGE = re.compile(r"^\s*(n\d+) -> (n\d+)(?: \[(.*)\])?$")
ATTR = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def parse(graph: Graph):
    """({node id: attrs}, [(tail, head, attrs)]) of the DOT text, labels unescaped."""
    nodes, edges = {}, []

    def attrs(text):
        return {k: re.sub(r"\\(.)", lambda m: "\n" if m[1] == "n" else m[1], v) for k, v in ATTR.findall(text or "")}

    for line in str(graph).splitlines():
        if m := NODE.match(line):
            nodes[m[1]] = attrs(m[2])
        elif m := EDGE.match(line):
            edges.append((m[1], m[2], attrs(m[3])))
    return nodes, edges


def node_labelled(nodes, label):
    (found,) = [n for n, a in nodes.items() if a.get("label") == label]
    return found


def f(x, y):
    return dnp.sin(x) * y + x ** 2 * 3.0


# ---- programs ---------------------------------------------------------------------------------------------
def test_a_program_draws_inputs_equations_typed_edges_and_highlighted_outputs():
    program = dt.trace(f)(np.ones(3), 2.0)
    nodes, edges = parse(to_dot(program))
    x, y = node_labelled(nodes, "x: f64[3]"), node_labelled(nodes, "y: f64[]")
    assert nodes[x]["fillcolor"] == nodes[y]["fillcolor"] == "lightblue"
    sin, power = node_labelled(nodes, "a = sin"), node_labelled(nodes, "c = integer_pow\ny=2")
    assert (x, sin, {"label": "x: f64[3]"}) in edges and (x, power, {"label": "x: f64[3]"}) in edges
    three = node_labelled(nodes, "3.0")  # a literal operand, drawn as plain text
    assert nodes[three]["shape"] == "plaintext" and (three, node_labelled(nodes, "d = mul"), {}) in edges
    output = node_labelled(nodes, "output")
    assert nodes[output]["fillcolor"] == "darkolivegreen1"
    assert (node_labelled(nodes, "e = add"), output, {"label": "e: f64[3]"}) in edges
    assert "e:f64[3] = add b d" in str(program)  # the picture names values as the listing does


def test_a_function_is_traced_at_example_arguments():
    assert str(to_dot(f, np.ones(3), 2.0)) == str(to_dot(dt.trace(f)(np.ones(3), 2.0)))


def test_cond_branches_and_loop_bodies_are_clusters_joined_to_their_equation():
    def g(x, n):
        def body(i, v):
            return dt.cond(v.sum() > 1.0, lambda v: v * 0.5, lambda v: v + 1.0, v)
        return dt.fori_loop(0, n, body, x)

    graph = to_dot(g, np.ones(2), 3)  # a traced bound: a while_loop, a cond inside its body
    text = str(graph)
    for title in ("while_loop cond: cond", "while_loop body: body", "cond branches[0]: false_branch",
                  "cond branches[1]: true_branch"):
        assert f'graph [label="{title}"' in text
    nodes, edges = parse(graph)
    loop, cond = node_labelled(nodes, "a, b = while_loop\nn_consts=1"), node_labelled(nodes, "h = cond")
    joins = {(head, a["label"], a["ltail"]) for _, head, a in edges if a.get("style") == "dashed"}
    assert {(loop, "cond"), (loop, "body"), (cond, "branches[0]"), (cond, "branches[1]")} == {
        (head, label) for head, label, _ in joins}
    outputs = [a for a in nodes.values() if a["label"].startswith("output")]
    assert [a["fillcolor"] for a in outputs].count("darkolivegreen1") == 1  # only the program's own output
    static = str(to_dot(dt.trace(g, static_argnums=1)(np.ones(2), 3)))  # a static bound: a scan
    assert 'label="scan body: body"' in static and "cond branches[1]: true_branch" in static


def test_labels_are_escaped():
    assert quote('say "hi" {a|b} <c> \\ d\ne') == r'"say \"hi\" \{a\|b\} \<c\> \\ d\ne"'
    program = dt.trace(lambda a, b: dnp.einsum("ij,jk->ik", a, b))(np.ones((2, 2)), np.ones((2, 2)))
    assert r"spec='ij,jk-\>ik'" in str(to_dot(program))


# ---- eager backward graphs ----------------------------------------------------------------------------------

def test_an_eager_graph_has_grad_fn_names_accumulate_grad_shapes_and_coloured_leaves():
    x, W = leaf([1.0, 2.0]), leaf([[1.0, 2.0], [3.0, 4.0]])
    loss = (dt.tanh(W @ x) * x).sum()
    nodes, edges = parse(to_dot(loss, names={"x": x, "loss": loss}))
    labels = sorted(a["label"] for a in nodes.values())
    assert labels == sorted(["loss\n() f64", "SumBackward0", "MulBackward0", "TanhBackward0", "MvBackward0",
                             "AccumulateGrad", "AccumulateGrad", "x\n(2,) f64", "(2, 2) f64"])
    assert loss.grad_fn.name() == "SumBackward0"
    root, x_node, w_node = (node_labelled(nodes, s) for s in ("loss\n() f64", "x\n(2,) f64", "(2, 2) f64"))
    assert nodes[root]["fillcolor"] == "darkolivegreen1"
    assert nodes[x_node]["fillcolor"] == nodes[w_node]["fillcolor"] == "lightblue"
    assert nodes[node_labelled(nodes, "MvBackward0")]["fillcolor"] == "lightgrey"
    (x_acc,) = [head for tail, head, _ in edges if tail == x_node]
    assert nodes[x_acc]["label"] == "AccumulateGrad"
    into = {nodes[head]["label"]: a.get("label") for tail, head, a in edges if tail == x_acc}
    assert into == {"MvBackward0": "(2,)", "MulBackward0": "(2,)"}  # one AccumulateGrad, feeding two ops
    (w_acc,) = [head for tail, head, _ in edges if tail == w_node]
    assert [a["label"] for tail, _, a in edges if tail == w_acc] == ["(2, 2)"]
    assert (node_labelled(nodes, "SumBackward0"), root, {"label": "()"}) in edges


def test_several_roots_and_a_graph_freed_by_backward():
    x = leaf([1.0, 2.0])
    a, b = x * 2.0, dt.exp(x)
    nodes, _ = parse(to_dot([a, b]))
    assert {"output 0\n(2,) f64", "output 1\n(2,) f64", "MulBackward0", "ExpBackward0"} <= {
        v["label"] for v in nodes.values()}
    y = (x * x).sum()
    y.backward()
    nodes, edges = parse(to_dot(y))
    assert {"SumBackward0", "MulBackward0", "AccumulateGrad"} <= {v["label"] for v in nodes.values()}
    assert len(edges) == 5  # leaf -> AccumulateGrad -(twice)-> Mul -> Sum -> root; freed shapes go unlabelled


def test_a_10000_deep_chain_draws_without_recursion():
    x = leaf(1.0)
    y = x
    for _ in range(10_000):
        y = y * 1.0
    graph = to_dot(y)
    assert str(graph).count('label="MulBackward0"') == 10_000
    assert graph.n_nodes == 10_003 and "10003 nodes" in repr(graph)


def test_what_cannot_be_drawn_is_a_type_error():
    with pytest.raises(TypeError, match="to_dot draws a Program, an eager Tensor"):
        to_dot(np.ones(3))


# ---- rendering ----------------------------------------------------------------------------------------------
@pytest.mark.skipif(not HAVE_DOT, reason="Graphviz's dot is not installed")
def test_render_to_png_and_svg(tmp_path):
    graph = to_dot(dt.trace(lambda a, b: dnp.einsum("ij,jk->ik", a, b))(np.ones((2, 2)), np.ones((2, 2))))
    png = graph.render(tmp_path / "program.png")
    assert png == tmp_path / "program.png" and png.read_bytes().startswith(b"\x89PNG")
    svg = graph.render(tmp_path / "program.svg").read_text()
    assert "<svg" in svg and "spec=&#39;ij,jk&#45;&gt;ik&#39;" in svg  # the escapes render as the characters
    assert graph._repr_svg_().startswith("<?xml")
    with pytest.raises(RuntimeError, match="Graphviz `dot -Tsvg` failed"):
        Graph("this is not DOT", 0).pipe("svg")


def test_without_graphviz_rendering_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    graph = to_dot(f, 1.0, 2.0)
    with pytest.raises(GraphvizNotFoundError) as error:
        graph.render(tmp_path / "f.svg")
    for hint in ("apt install graphviz", "brew install graphviz", "conda install graphviz", ".dot"):
        assert hint in str(error.value)
    assert not (tmp_path / "f.svg").exists()
    assert graph._repr_svg_() is None
    assert graph.render(tmp_path / "f.dot").read_text() == str(graph)  # the text needs no Graphviz


def test_render_needs_a_known_suffix(tmp_path):
    graph = to_dot(f, 1.0, 2.0)
    with pytest.raises(ValueError, match="give the file a suffix"):
        graph.render(tmp_path / "picture")
    with pytest.raises(ValueError, match="unknown picture format 'bmp'"):
        graph.render(tmp_path / "picture.bmp")
