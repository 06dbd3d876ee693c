"""Pytrees: flatten / unflatten round trips, TreeDef equality and hashing, tree_map, and the errors."""

from collections import namedtuple

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dualtape import tree

Point = namedtuple("Point", "x y")
Triple = namedtuple("Triple", "a b c")

LEAVES = st.one_of(
    st.integers(-5, 5),
    st.floats(-3, 3, allow_nan=False),
    st.builds(lambda n: np.arange(float(n)), st.integers(0, 3)),
    st.text(max_size=2),
)

KEYS = st.text(alphabet="abcxyz", min_size=1, max_size=3)

TREES = st.recursive(
    LEAVES | st.none(),
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.lists(children, max_size=3).map(tuple),
        st.dictionaries(KEYS, children, max_size=3),
        st.builds(Point, children, children),
        st.builds(Triple, children, children, children),
    ),
    max_leaves=8,
)


def same_tree(a, b) -> bool:
    """Structural equality with types checked (a list is not a tuple) and arrays compared by value."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_tree(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same_tree(x, y) for x, y in zip(a, b))
    if isinstance(a, np.ndarray):
        return np.array_equal(a, b)
    return a == b


@settings(max_examples=30, deadline=None)
@given(TREES)
def test_flatten_unflatten_round_trip(t):
    leaves, td = tree.flatten(t)
    assert td.num_leaves == len(leaves)
    assert not any(x is None or isinstance(x, (list, tuple, dict)) for x in leaves)
    assert same_tree(tree.unflatten(td, leaves), t)


@settings(max_examples=30, deadline=None)
@given(TREES)
def test_treedef_is_deterministic_and_hashable(t):
    leaves, td = tree.flatten(t)
    leaves_again, td_again = tree.flatten(t)
    assert td == td_again and hash(td) == hash(td_again)
    assert all(a is b for a, b in zip(leaves, leaves_again))
    assert {td: 1}[td_again] == 1


@settings(max_examples=30, deadline=None)
@given(TREES)
def test_tree_map_applies_to_every_leaf_once(t):
    seen = []
    mapped = tree.tree_map(lambda v: seen.append(v) or f"leaf{len(seen)}", t)
    leaves, td = tree.flatten(mapped)
    assert tree.flatten(t)[1] == td
    assert leaves == [f"leaf{i + 1}" for i in range(len(seen))]
    assert all(a is b for a, b in zip(seen, tree.leaves(t)))


def test_leaf_order_is_depth_first_with_sorted_dict_keys():
    t = {"b": [1, (2, 3)], "a": Point(4, {"z": 5, "y": 6}), "c": None}
    leaves, td = tree.flatten(t)
    assert leaves == [4, 6, 5, 1, 2, 3]
    assert tree.leaves(t) == leaves
    assert repr(td) == "{'a': Point(*, {'y': *, 'z': *}), 'b': [*, (*, *)], 'c': None}"


def test_dict_insertion_order_does_not_change_the_treedef():
    assert tree.flatten({"a": 1, "b": 2})[1] == tree.flatten({"b": 2, "a": 1})[1]


@pytest.mark.parametrize(
    "left, right",
    [
        ((1, 2), [1, 2]),  # tuple vs list
        ((1, 2), (1, 2, 3)),  # arity
        ({"a": 1}, {"b": 1}),  # keys
        (Point(1, 2), (1, 2)),  # namedtuple vs tuple
        (Point(1, 2), namedtuple("Other", "x y")(1, 2)),  # two namedtuple types with the same fields
        ((1, None), (1, 2)),  # None is a node, not a leaf
        ((1, (2,)), (1, 2)),  # nesting
    ],
)
def test_different_structures_have_different_treedefs(left, right):
    assert tree.flatten(left)[1] != tree.flatten(right)[1]


def test_same_structure_different_leaves_have_equal_treedefs():
    a = tree.flatten({"w": np.ones(3), "b": [1.0, 2]})[1]
    b = tree.flatten({"w": "anything", "b": ["x", object()]})[1]
    assert a == b and hash(a) == hash(b)


def test_dict_with_unsortable_keys_round_trips():
    t = {1: "one", "a": ["x"], (2,): None}
    leaves, td = tree.flatten(t)
    assert leaves == ["one", "x"] and tree.unflatten(td, leaves) == t


def test_none_is_an_empty_node():
    leaves, td = tree.flatten(None)
    assert leaves == [] and td.num_leaves == 0
    assert tree.unflatten(td, []) is None
    assert tree.flatten([None, 1])[0] == [1]


def test_scalar_is_a_single_leaf():
    leaves, td = tree.flatten(3.5)
    assert leaves == [3.5] and td is tree.LEAF
    assert tree.unflatten(td, ["x"]) == "x"


def test_tuple_treedef_repr_of_one_element():
    assert repr(tree.flatten((1,))[1]) == "(*,)"


def test_unflatten_rejects_wrong_leaf_counts():
    td = tree.flatten((1, [2, 3]))[1]
    with pytest.raises(ValueError, match="too few leaves"):
        tree.unflatten(td, [1, 2])
    with pytest.raises(ValueError, match="too many leaves"):
        tree.unflatten(td, [1, 2, 3, 4])


def test_tree_map_over_several_trees():
    out = tree.tree_map(lambda a, b: a * 10 + b, {"p": (1, 2), "q": 3}, {"q": 4, "p": (5, 6)})
    assert out == {"p": (15, 26), "q": 34}


def test_tree_map_rejects_mismatched_structures():
    with pytest.raises(ValueError, match="tree structures differ"):
        tree.tree_map(lambda a, b: a + b, (1, 2), [1, 2])


def test_namedtuple_round_trip_keeps_its_type():
    p = Point(np.ones(2), [1, 2])
    leaves, td = tree.flatten(p)
    out = tree.unflatten(td, leaves)
    assert type(out) is Point and out.y == [1, 2]
