"""The rig variants of pose2rot_core.variants keep the motion: the source's joints and bone tips
move in the world as they did, and the joints a variant adds are what its family says."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pose2rot_core.bvh import read_bvh, write_bvh
from pose2rot_core.variants import FAMILIES, limb_bones, make_variant, random_tree_clip

RIG_FAMILIES = [f for f in FAMILIES if f not in ("z_up", "units", "fast")]
trees = st.tuples(st.integers(3, 25), st.integers(3, 40), st.integers(0, 10_000))


def _same_motion(clip, variant) -> None:
    """The variant's joints named as the source's, and the bone tips, where the source's are (a
    billionth of the height)."""
    idx = [variant.skeleton.names.index(n) for n in clip.skeleton.names]
    tol = 1e-9 * clip.skeleton.height
    np.testing.assert_allclose(variant.fk()[:, idx], clip.fk(), atol=tol, rtol=0)
    np.testing.assert_allclose(variant.end_site_positions(), clip.end_site_positions(), atol=tol, rtol=0)
    np.testing.assert_array_equal(variant.end_parents, [idx[p] for p in clip.end_parents])


@settings(max_examples=25, deadline=None)
@given(tree=trees, family=st.sampled_from(RIG_FAMILIES))
def test_every_rig_family_keeps_the_sources_motion(tree, family):
    joints, frames, seed = tree
    clip = random_tree_clip(joints, frames, seed)
    _same_motion(clip, make_variant(clip, family, np.random.default_rng(seed + 1)))


@settings(max_examples=25, deadline=None)
@given(tree=trees)
def test_helper_bones_sit_off_their_bone_and_never_turn(tree):
    """One helper per limb bone, on the bone's joint, that never turns: 20-80 % along the bone,
    10-30 % of its length aside."""
    joints, frames, seed = tree
    clip = random_tree_clip(joints, frames, seed)
    bones = limb_bones(clip)
    assume(bones)
    v = make_variant(clip, "helper", np.random.default_rng(seed + 1))  # not the draws of the tree
    assert v.skeleton.num_joints == clip.skeleton.num_joints + len(bones)
    names = v.skeleton.names
    for j, c in bones:
        h = names.index(f"{clip.skeleton.names[c]}_Helper")
        assert names[v.skeleton.parents[h]] == clip.skeleton.names[j]
        np.testing.assert_allclose(v.rotations[:, h], np.broadcast_to(np.eye(3), (frames, 3, 3)), atol=1e-12)
        bone, off = clip.skeleton.offsets[c], v.skeleton.offsets[h]
        along = off @ bone / (bone @ bone)
        aside = np.linalg.norm(off - along * bone) / np.linalg.norm(bone)
        assert 0.2 - 1e-9 <= along <= 0.8 + 1e-9 and 0.1 - 1e-9 <= aside <= 0.3 + 1e-9
        np.testing.assert_allclose(v.local_offsets[:, h], np.broadcast_to(off, (frames, 3)))


@settings(max_examples=25, deadline=None)
@given(tree=trees, moving=st.booleans())
def test_a_floor_root_stands_at_the_floor_and_the_old_root_translates(tree, moving):
    """A new root that never turns at the lowest height of the clip; the old root its translating
    child, offset by its own world step from it; the new root still (floor_root) or on the old
    root's ground track averaged (ground_root: never outside its range, never faster)."""
    joints, frames, seed = tree
    clip = random_tree_clip(joints, frames, seed)
    v = make_variant(clip, "ground_root" if moving else "floor_root")
    old = clip.fk()[:, 0]
    floor = min(clip.fk()[..., 1].min(), clip.end_site_positions()[..., 1].min())
    assert v.skeleton.names[0] == "FloorRoot" and v.skeleton.parents[v.skeleton.names.index(clip.skeleton.names[0])] == 0
    hips = v.skeleton.names.index(clip.skeleton.names[0])
    assert v.has_position_channels[[0, hips]].all() and "Xposition" in v.channels[0]
    np.testing.assert_allclose(v.rotations[:, 0], np.broadcast_to(np.eye(3), (frames, 3, 3)))
    root = v.root_translation
    np.testing.assert_allclose(root[:, 1], floor)
    np.testing.assert_allclose(v.local_offsets[:, hips], old - root, atol=1e-12 * clip.skeleton.height)
    ground = old[:, [0, 2]]
    if not moving:
        np.testing.assert_allclose(root[:, [0, 2]], np.broadcast_to(ground[0], (frames, 2)))
        return
    tol = 1e-9 * clip.skeleton.height
    assert (root[:, [0, 2]] >= ground.min(axis=0) - tol).all() and (root[:, [0, 2]] <= ground.max(axis=0) + tol).all()
    steps = np.abs(np.diff(root[:, [0, 2]], axis=0))
    assert (steps <= np.abs(np.diff(ground, axis=0)).max(axis=0) + tol).all()


@pytest.mark.parametrize("family", ["helper", "floor_root", "ground_root"])
def test_variants_written_as_bvh_read_back_the_same(tmp_path, family):
    """The new joints' channels are what BVH needs: written and read back, the same motion (the
    translating old root keeps its position channels)."""
    clip = random_tree_clip(12, 20, 3)
    v = make_variant(clip, family, np.random.default_rng(0))
    write_bvh(tmp_path / "v.bvh", v.skeleton, v.rotations, v.root_translation, v.local_offsets,
              v.has_position_channels, v.fps, v.orders, v.end_parents, v.end_offsets, v.end_names, precision=9)
    back = read_bvh(tmp_path / "v.bvh")
    idx = [back.skeleton.names.index(n) for n in v.skeleton.names]  # written depth first
    np.testing.assert_array_equal(back.has_position_channels[idx], v.has_position_channels)
    np.testing.assert_allclose(back.fk()[:, idx], v.fk(), atol=1e-6 * v.skeleton.height)


@pytest.mark.parametrize("family", RIG_FAMILIES)
def test_a_family_applied_twice_keeps_the_motion(family):
    """Variants compose: a family applied to its own variant (limbs split in four, a root at the
    floor under another) names the joints it adds anew and keeps the source's motion; twist segments
    split twice stopped with 'duplicate joint name' (h227, red-team of combined families)."""
    clip = random_tree_clip(12, 20, 3)
    rng = np.random.default_rng(0)
    twice = make_variant(make_variant(clip, family, rng), family, rng)
    _same_motion(clip, twice)


@pytest.mark.parametrize("moving", [False, True])
def test_twist_segments_over_a_joint_that_translates_keep_the_motion(moving):
    """A bone to a child that translates (hips over a floor root, a walk's start stored as the hips'
    offset) split in two: the middle joint was kept at half the rig's offset while the child's
    translation was halved, so the child ended where neither put it (0.23 % of the height on a
    Kinect clip, h227). The middle joint now translates by half the child's offset, the child by
    the other half, and the motion is the source's."""
    clip = random_tree_clip(12, 20, 3)
    floored = make_variant(clip, "ground_root" if moving else "floor_root")
    assert (0, 1) in limb_bones(floored)  # the new root's bone to the old, translating root
    _same_motion(clip, make_variant(floored, "twist_segments"))
