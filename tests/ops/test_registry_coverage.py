"""Every primitive in the registry has a NumPy-agreement case: the one per-primitive table
(tests/primitive_cases.py) gives each entry a `values` draw that a tests/ops suite runs, and this test fails
when a registered primitive has none (or the table names a primitive that does not exist), so no primitive
lands untested."""

from dualtape.core.primitive import REGISTRY
from primitive_cases import CASES, CONTRACTIONS, ELEMENTWISE, FAMILIES, REDUCTIONS, SHAPES


def test_every_primitive_has_a_case():
    """(Primitives over sub-programs are tested in tests/control/: test_subprograms.py, test_flow.py.)"""
    run_by_ops_suites = {**ELEMENTWISE, **REDUCTIONS, **SHAPES, **CONTRACTIONS, **FAMILIES}
    with_values = {name for name, case in run_by_ops_suites.items() if case.values is not None}
    over_sub_programs = {name for name, p in REGISTRY.items() if p.inline_param or p.emit_statements}
    missing = sorted(set(REGISTRY) - over_sub_programs - with_values)
    unknown = sorted(set(CASES) - set(REGISTRY))
    assert not missing, f"primitives without a NumPy-agreement case in primitive_cases.py: {missing}"
    assert not unknown, f"cases for primitives that are not registered: {unknown}"
