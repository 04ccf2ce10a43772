"""Skeleton validation, ordering, and graph features (pose2rot_core.skeleton)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pose2rot_core.errors import Pose2RotError
from pose2rot_core.skeleton import MAX_HOP, Skeleton


def random_tree(rng: np.random.Generator, J: int) -> tuple[list[str], np.ndarray, np.ndarray]:
    """A sorted random tree: names, parents (parents[j] < j), rest positions."""
    parents = np.array([-1] + [int(rng.integers(0, j)) for j in range(1, J)])
    rest = np.zeros((J, 3))
    for j in range(1, J):
        rest[j] = rest[parents[j]] + rng.normal(size=3)
    return [f"j{j}" for j in range(J)], parents, rest


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 30), st.integers(0, 2 ** 31 - 1))
def test_from_any_order_sorts_and_round_trips(J, seed):
    rng = np.random.default_rng(seed)
    names, parents, rest = random_tree(rng, J)
    perm = rng.permutation(J)  # caller index c holds sorted joint perm[c]
    inv = np.argsort(perm)
    c_names = [names[p] for p in perm]
    c_parents = [-1 if parents[p] < 0 else int(inv[parents[p]]) for p in perm]
    c_rest = rest[perm]
    sk = Skeleton.from_any_order(c_names, c_parents, c_rest)

    assert sk.parents[0] == -1 and (sk.parents[1:] >= 0).all() and (sk.parents[1:] < np.arange(1, J)).all()
    assert sk.names[0] == "j0"
    # every joint keeps its parent (by name) and rest position
    for j, n in enumerate(sk.names):
        c = c_names.index(n)
        assert sk.caller_order[j] == c
        np.testing.assert_array_equal(sk.rest_positions[j], c_rest[c])
        if j:
            assert sk.names[sk.parents[j]] == c_names[c_parents[c]]
    # caller <-> internal order round trip on an array with a frame axis
    x = rng.normal(size=(3, J, 2))
    internal = sk.from_caller(x, axis=1)
    np.testing.assert_array_equal(internal[:, 0], x[:, c_names.index("j0")])
    np.testing.assert_array_equal(sk.to_caller(internal, axis=1), x)
    np.testing.assert_array_equal(sk.from_caller(sk.to_caller(internal, axis=1), axis=1), internal)


def test_from_any_order_with_parent_names():
    sk = Skeleton.from_any_order(["hand", "hips", "arm"], ["arm", None, "hips"],
                                 [[2.0, 0, 0], [0, 0, 0], [1.0, 0, 0]])
    assert sk.names == ("hips", "arm", "hand")
    assert sk.parents.tolist() == [-1, 0, 1]
    assert sk.caller_order.tolist() == [1, 2, 0]
    np.testing.assert_allclose(sk.offsets, [[0, 0, 0], [1, 0, 0], [1, 0, 0]])


def test_sorted_input_keeps_order():
    """Input already root-first with parents before children (not depth-first) keeps its order:
    the Skeleton docstring promises an identity caller_order then."""
    names, parents, rest = random_tree(np.random.default_rng(0), 6)
    assert parents.tolist() == [-1, 0, 1, 1, 2, 1]  # valid order, but j4 (child of j2) comes after j3
    sk = Skeleton.from_any_order(names, parents, rest)
    assert sk.is_caller_sorted and list(sk.names) == names


# ----------------------------------------------------------------------------- errors
REST3 = np.array([[0.0, 0, 0], [0, 1, 0], [0, 2, 0]])


@pytest.mark.parametrize("names, parents, rest, words", [
    (["a", "b", "a"], [-1, 0, 1], REST3, ["duplicate", "'a'", "unique"]),
    (["a", "b", "c"], [-1, -1, 1], REST3, ["several roots", "a", "b"]),
    (["a", "b", "c"], [1, 2, 0], REST3, ["no root"]),
    (["a", "b", "c", "d"], [-1, 2, 3, 1], np.zeros((4, 3)), ["cycle", "b", "c", "d"]),
    (["a", "b", "c"], [-1, 0, 7], REST3, ["'c'", "parent index 7", "0..2"]),
    (["a", "b", "c"], [-1, 0, -2], REST3, ["'c'", "parent index -2"]),
    (["a", "b", "c"], [-1, 1, 1], REST3, ["'b'", "own parent"]),
    (["a", "b", "c"], [-1, 0, 1], [[0, 0, 0], [0, np.nan, 0], [0, 2, 0]], ["'b'", "not finite"]),
    (["a", "b", "c"], [-1, 0, 1], [[0, 0, 0], [0, np.inf, 0], [0, 2, 0]], ["'b'", "not finite"]),
    (["a", "b", "c"], [-1, 0, 1], np.zeros((2, 3)), ["[3,3]", "[2, 3]"]),
    (["a", "b", "c"], [-1, 0], REST3, ["3 joint names", "2 parents"]),
    (["a", "b", "c"], [None, "a", "zz"], REST3, ["'c'", "unknown parent 'zz'"]),
], ids=["duplicate", "two-roots", "no-root", "cycle", "parent-out-of-range", "parent-below-minus-one",
        "self-parent", "nan-rest", "inf-rest", "rest-shape", "parents-length", "unknown-parent-name"])
def test_from_any_order_errors(names, parents, rest, words):
    with pytest.raises(Pose2RotError) as info:
        Skeleton.from_any_order(names, parents, np.asarray(rest, float))
    msg = str(info.value)
    assert "\n" not in msg
    for w in words:
        assert w in msg, (w, msg)


def test_direct_constructor_rejects_unsorted():
    with pytest.raises(Pose2RotError, match="from_any_order"):
        Skeleton(("a", "b", "c"), np.array([-1, 2, 0]), REST3)
    with pytest.raises(Pose2RotError, match="no joints"):
        Skeleton((), np.zeros(0, int), np.zeros((0, 3)))


# ----------------------------------------------------------------------------- graph features
@pytest.fixture
def two_chains() -> Skeleton:
    """root(0) -> a1(1) -> a2(2) -> a3(3) -> a4(4) -> a5(5) -> a6(6); root -> b1(7) -> b2(8)."""
    parents = [-1, 0, 1, 2, 3, 4, 5, 0, 7]
    rest = np.zeros((9, 3))
    for j in range(1, 9):
        rest[j] = rest[parents[j]] + [0, 1, 0] if j < 7 else rest[parents[j]] + [1, 0, 0]
    names = ["root", "a1", "a2", "a3", "a4", "a5", "a6", "b1", "b2"]
    return Skeleton(tuple(names), np.array(parents), rest)


def test_hop_distance_known_values(two_chains):
    hop = two_chains.hop_distance()
    assert hop.dtype == np.int64 and hop.shape == (9, 9)
    np.testing.assert_array_equal(hop, hop.T)
    assert (np.diag(hop) == 0).all()
    assert hop[0, 1] == 1 and hop[0, 7] == 1 and hop[1, 7] == 2 and hop[2, 8] == 4
    assert hop[1, 8] == 3 and hop[0, 4] == 4 and hop[0, 5] == 5
    assert hop[0, 6] == MAX_HOP == 5  # 6 hops, clamped
    assert hop[6, 8] == 5  # 8 hops, clamped
    assert two_chains.hop_distance(clamp=100)[6, 8] == 8
    assert two_chains.hop_distance(clamp=100)[0, 6] == 6


def test_edge_type_known_values(two_chains):
    e = two_chains.edge_type()
    assert e.shape == (9, 9)
    assert (np.diag(e) == 0).all()
    assert e[1, 0] == 1 and e[2, 1] == 1 and e[8, 7] == 1  # j is the parent of i
    assert e[0, 1] == 2 and e[0, 7] == 2 and e[7, 8] == 2  # j is a child of i
    assert e[1, 7] == 3 and e[7, 1] == 3  # siblings under the root
    assert e[2, 0] == 4 and e[1, 8] == 4 and e[2, 8] == 4 and e[0, 2] == 4
    # counts: 8 parent links, 8 child links, one sibling pair
    assert (e == 1).sum() == 8 and (e == 2).sum() == 8 and (e == 3).sum() == 2


def test_ancestor_mask_known_values(two_chains):
    m = two_chains.ancestor_mask()
    assert m.dtype == bool
    assert m[3].tolist() == [True, True, True, True, False, False, False, False, False]
    assert m[8].tolist() == [True, False, False, False, False, False, False, True, True]
    assert m[0].tolist() == [True] + [False] * 8


def test_geometry_properties(two_chains):
    np.testing.assert_allclose(two_chains.offsets[1:7], np.tile([0, 1, 0], (6, 1)))
    np.testing.assert_allclose(two_chains.offsets[7:], np.tile([1, 0, 0], (2, 1)))
    assert two_chains.height == pytest.approx(6.0)
    assert two_chains.children[0] == [1, 7] and two_chains.children[6] == []
    assert two_chains.depth().tolist() == [0, 1, 2, 3, 4, 5, 6, 1, 2]
    assert [level.tolist() for level in two_chains.levels] == [[0], [1, 7], [2, 8], [3], [4], [5], [6]]
    assert two_chains.index("b2") == 8
    with pytest.raises(Pose2RotError, match="no joint named 'zz'"):
        two_chains.index("zz")


def _body(first_offset, wrappers: int = 0) -> Skeleton:
    """root -> ``wrappers`` joints at the root -> hips at ``first_offset`` -> a spine 2 units up and
    a leg 1 unit down: a body 3 units tall."""
    offsets = [[0, 0, 0]] * (1 + wrappers) + [first_offset, [0, 1, 0], [0, 1, 0], [0, -1, 0]]
    parents = list(range(-1, wrappers + 3)) + [wrappers + 1]
    rest = np.zeros((len(offsets), 3))
    for j in range(1, len(offsets)):
        rest[j] = rest[parents[j]] + offsets[j]
    return Skeleton(tuple(f"j{j}" for j in range(len(offsets))), np.array(parents), rest)


def test_height_leaves_out_a_root_that_only_places_the_body():
    """A root whose one child lies further from it than the body below spans (a walk's start
    stored as the hips' offset from the origin) by half as much again is a placement: the height
    is the body's, through wrappers at the root as well. A root near the body (the floor under the
    hips, a forearm over a hand), a root with several children and a chain that does not branch (a
    shoulder over an arm whose upper arm outreaches the rest) are bones and count."""
    for wrappers in (0, 2):
        far = _body([0, 1, -10], wrappers)
        assert far.placed_joint == wrappers + 1 and far.height == pytest.approx(3.0)
    near = _body([0, 1, 0])
    assert near.placed_joint is None and near.height == pytest.approx(3.0)
    forearm = _body([0, 0, -4])  # a bone a third longer than the hand below it: a limb, not a placement
    assert forearm.placed_joint is None and forearm.height == pytest.approx(4.0)
    chain = Skeleton(("shoulder", "elbow", "wrist"), np.array([-1, 0, 1]), np.array([[0, 0, 0], [3, 0, 0], [3, 1, 0]]))
    assert chain.placed_joint is None and chain.height == pytest.approx(3.0)
    branched = Skeleton(("r", "a", "b"), np.array([-1, 0, 0]), np.array([[0, 0, 0], [0, 0, -10], [0, 1, -10]]))
    assert branched.placed_joint is None and branched.height == pytest.approx(10.0)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 30), st.integers(0, 2 ** 31 - 1))
def test_depth_first_order_visits_each_subtree_in_one_run(J, seed):
    names, parents, rest = random_tree(np.random.default_rng(seed), J)
    sk = Skeleton(names, parents, rest)
    order = sk.depth_first_order()
    assert sorted(order) == list(range(J)) and order[0] == 0
    position = {j: i for i, j in enumerate(order)}
    anc = sk.ancestor_mask()
    for j in range(J):
        subtree = set(np.flatnonzero(anc[:, j]).tolist())          # j and everything below it
        run = order[position[j]:position[j] + len(subtree)]
        assert set(run) == subtree
    for p, kids in enumerate(sk.children):                           # siblings in index order
        assert [position[k] for k in kids] == sorted(position[k] for k in kids)


@settings(max_examples=60, deadline=None)
@given(J=st.integers(1, 25), seed=st.integers(0, 2 ** 31 - 1))
def test_untargeted_joints_have_no_track_below(J, seed):
    """untargeted: a joint is free of tracks exactly when no joint strictly below it is tracked and
    no tip on it or below it is (as read from the ancestor mask)."""
    rng = np.random.default_rng(seed)
    parents = np.array([-1] + [int(rng.integers(0, j)) for j in range(1, J)])
    skel = Skeleton(tuple(f"j{j}" for j in range(J)), parents, rng.normal(size=(J, 3)))
    tracked, tipped = rng.random(J) < 0.3, rng.random(J) < 0.2
    below = skel.ancestor_mask()  # [i, j]: j is i or an ancestor of i
    expected = np.array([not any((tracked[i] and i != j) or tipped[i] for i in range(J) if below[i, j])
                         for j in range(J)])
    np.testing.assert_array_equal(skel.untargeted(tracked, tipped), expected)
