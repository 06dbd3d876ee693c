"""A Program as a picture: inputs, one box per equation (its outputs, primitive and params, named as in
`str(program)`), edges carrying each value's name and type, outputs highlighted; the sub-programs of
control flow (cond branches, loop bodies) drawn as clusters joined to their equation by a dashed edge."""

from __future__ import annotations

from ..core.ir import Eqn, Lit, Namer, Program, format_literal, format_param, sub_programs
from .dot import DotWriter, Graph

OUTER = ("lightblue", "darkolivegreen1")  # the fill of a program's inputs and outputs
INNER = ("azure", "honeydew")  # a sub-program's: paler, so the program's own stand out
CAPTURE_COLOUR = "lightgrey"
_MAX_PARAM = 60


def program_graph(program: Program) -> Graph:
    """The DOT picture of a program and of the sub-programs in its equations' params."""
    dot = DotWriter(program.name, rankdir="TB", compound="true")
    _Drawing(dot).program(program, OUTER)
    return dot.finish()


class _Drawing:
    """Draws programs into one DotWriter. Vars are named in the order format_program names them, so the
    picture and the listing agree; `where` maps a Var's id to the node that defines it."""

    def __init__(self, dot: DotWriter):
        self.dot, self.namer, self.where = dot, Namer(), {}

    def program(self, program: Program, colours: tuple) -> str | None:
        """Draw program's nodes; returns the id of its first output node (None if it has none)."""
        dot, namer = self.dot, self.namer
        for v in program.inputs:
            self.where[v.id] = dot.node(f"{namer(v)}: {v.aval}", shape="ellipse", style="filled",
                                        fillcolor=colours[0])
        for v, _ in program.captures:
            self.where[v.id] = dot.node(f"{namer(v)}: {v.aval}\n(captured)", shape="ellipse", style="filled",
                                        fillcolor=CAPTURE_COLOUR)
        for eqn in program.eqns:
            self.equation(eqn)
        first = None
        for i, a in enumerate(program.outputs):
            label = "output" if len(program.outputs) == 1 else f"output {i}"
            out = dot.node(label, shape="ellipse", style="filled", fillcolor=colours[1])
            self.edge(a, out)
            first = first or out
        return first

    def equation(self, eqn: Eqn) -> None:
        """A box `outs = prim` with its params, after the clusters of its sub-programs."""
        outs = ", ".join(self.namer(v) for v in eqn.outs)
        bodies = []
        for key, value in eqn.params.items():
            subs = sub_programs({key: value})
            for i, sub in enumerate(subs):
                role = f"{key}[{i}]" if isinstance(value, tuple) else key
                cluster = self.dot.open_cluster(f"{eqn.prim.name} {role}: {sub.name}", style="rounded",
                                                color="grey50")
                bodies.append((self.program(sub, INNER), cluster, role))
                self.dot.close_cluster()
        params = [_param_line(k, p) for k, p in eqn.params.items() if not sub_programs({k: p})]
        node = self.dot.node("\n".join([f"{outs} = {eqn.prim.name}", *params]), shape="box", style="rounded")
        for a in eqn.inputs:
            self.edge(a, node)
        for body, cluster, role in bodies:
            if body is not None:
                self.dot.edge(body, node, ltail=cluster, style="dashed", label=role)
        for v in eqn.outs:
            self.where[v.id] = node

    def edge(self, atom, head: str) -> None:
        """An edge carrying atom: a Var, labelled with its name and type, or a literal drawn as plain text."""
        if isinstance(atom, Lit):
            self.dot.edge(self.dot.node(format_literal(atom.value), shape="plaintext"), head)
        else:
            self.dot.edge(self.where[atom.id], head, label=f"{self.namer(atom)}: {atom.aval}")


def _param_line(key, value) -> str:
    text = format_param(value)
    return f"{key}={text if len(text) <= _MAX_PARAM else text[:_MAX_PARAM - 3] + '...'}"
