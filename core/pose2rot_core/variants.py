"""Rig and motion variants of a clip, to check that a solver generalises beyond the clips it was
tuned on. Each variant is a new BvhClip whose motion is the same as the source's:

- ``twist``: every limb bone gets twist joints beside its child, as production rigs have them
  (``<bone>_TwistA`` on the bone's joint, ``<bone>_TwistB`` half-way along it), turning with the
  fraction of the child's twist about the bone that matches where they sit (0 and 1/2);
- ``twist_segments``: every limb bone is split in two at its middle, the middle joint taking half
  of the child's twist (the child's orientation is unchanged);
- ``share``: a helper sibling beside every limb bone's child, at its offset up to a 1e-4 part of
  the bone length, that never turns (share bones);
- ``zero_chain``: two zero-length joints that never turn between every limb bone's joint and child;
- ``helper``: a helper bone on every limb bone's joint that never turns, off the bone's axis
  (corrective, jiggle and prop-socket bones): 20-80 % along the bone and 10-30 % of its length
  aside, in a random direction square to it;
- ``floor_root`` / ``ground_root``: a new root joint at the floor (BVH's Y up: the lowest
  height any joint or bone tip reaches in the clip) under the old root, which becomes its child
  and translates (the hips of Rigify, Unreal and many Mixamo rigs); the new root never turns and
  stays where the old root's first frame stands over the floor, or follows the old root's ground
  track averaged over a second (a root carried along the ground);
- ``z_up``: the whole clip turned a quarter turn about X (Y-up to Z-up, rest pose included);
- ``units``: every length times 100 (metres to centimetres);
- ``fast``: the motion played 2, 3 or 4 times faster (frames skipped, same frame rate).

``keyed_every`` turns tracks into what empties keyed every few frames give (Blender's curves in
between).

"Limb bones" are the bones from a joint to its only child with length (at least 2 % of the
height), when that child has children or bone tips of its own. Twist angles are measured from the
rest pose.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .bvh import BvhClip
from .rotations import axis_angle_to_matrix, basic_rotation, twist_angle
from .skeleton import Skeleton
from .tracks import Tracks

FAMILIES = ("twist", "twist_segments", "share", "zero_chain", "helper", "floor_root", "ground_root", "z_up",
            "units", "fast")
#: bones shorter than this fraction of the height are not limb bones
LIMB_FRACTION = 0.02


@dataclass
class _Rig:
    """A clip being edited, joints in any order: per-joint lists and [T,...] arrays."""

    names: list[str]
    parents: list[int]
    offsets: list[np.ndarray]
    rotations: list[np.ndarray]  # [T,3,3] each
    local_offsets: list[np.ndarray]  # [T,3] each
    translating: list[bool]  # position channels


def make_variant(clip: BvhClip, family: str, rng: np.random.Generator | None = None) -> BvhClip:
    """The ``family`` variant of ``clip`` (see FAMILIES); ``rng`` draws the speed-up of ``fast``
    and the share and helper bones' offsets."""
    rng = np.random.default_rng(0) if rng is None else rng
    if family == "z_up":
        return _turned(clip, basic_rotation(0, np.pi / 2))
    if family == "units":
        return _scaled(clip, 100.0)
    if family == "fast":
        return played_faster(clip, int(rng.integers(2, 5)))
    edits = {"twist": _add_twist_joints, "twist_segments": _split_in_two, "share": _add_share_bones,
             "zero_chain": _add_zero_chain, "helper": _add_helper_bone}
    if family not in edits and family not in ("floor_root", "ground_root"):
        raise ValueError(f"unknown variant family '{family}' (choose from {', '.join(FAMILIES)})")
    rig = _rig_of(clip)
    if family in ("floor_root", "ground_root"):
        _add_floor_root(rig, clip, moving=family == "ground_root")
        return _to_clip(clip, rig, family)
    for j, c in limb_bones(clip):
        edits[family](rig, j, c, rng)
    return _to_clip(clip, rig, family)


def _rig_of(clip: BvhClip) -> _Rig:
    """The _Rig of ``clip``'s skeleton and motion, joints to be added to it (_add, then _to_clip)."""
    return _Rig(list(clip.skeleton.names), [int(p) for p in clip.skeleton.parents], list(clip.skeleton.offsets),
                list(np.moveaxis(clip.rotations, 1, 0)), list(np.moveaxis(clip.local_offsets, 1, 0)),
                [bool(b) for b in clip.has_position_channels])


def played_faster(clip: BvhClip, k: int) -> BvhClip:
    """``clip`` played ``k`` times faster: every k-th frame, at the same frame rate (the motion of
    each frame step k times larger, as a capture at 1/k of the frame rate would see it)."""
    return replace(clip, rotations=clip.rotations[::k], root_translation=clip.root_translation[::k],
                   local_offsets=clip.local_offsets[::k], name=f"{clip.name} x{k}")


def random_tree_clip(joints: int, frames: int, seed: int, fps: float = 60.0) -> BvhClip:
    """A clip of a random tree, for rigs no clip has: each joint's parent among the four before it,
    bones 0.2-1.2 units long in random directions, every joint turning smoothly (a constant turn of
    about 0.5 rad plus sines of 0.1-1 Hz), the root drifting, an End Site (about 0.3 long) on every
    leaf; one ``seed`` draws the parents and, drawn again, the rest."""
    rng = np.random.default_rng(seed)
    parents = np.array([-1] + [int(rng.integers(max(0, j - 4), j)) for j in range(1, joints)])
    rng = np.random.default_rng(seed)
    rest = np.zeros((joints, 3))
    for j in range(1, joints):
        d = rng.normal(size=3)
        rest[j] = rest[parents[j]] + d / np.linalg.norm(d) * rng.uniform(0.2, 1.2)
    t = np.arange(frames)[:, None, None] / fps
    r = rng.normal(size=(1, joints, 3)) * 0.5 + rng.normal(size=(1, joints, 3)) * 0.6 * np.sin(
        2 * np.pi * rng.uniform(0.1, 1.0, (1, joints, 3)) * t + rng.uniform(0, 2 * np.pi, (1, joints, 3)))
    root = np.cumsum(rng.normal(size=(frames, 3)) * 0.01, axis=0)
    skel = Skeleton(tuple(f"j{j}" for j in range(joints)), parents, rest)
    leaves = np.array([j for j in range(joints) if not skel.children[j]], np.int64)
    local_offsets = np.broadcast_to(skel.offsets, (frames, joints, 3)).copy()
    local_offsets[:, 0] = root
    return BvhClip(skeleton=skel, rotations=axis_angle_to_matrix(r, np.linalg.norm(r, axis=-1)),
                   root_translation=root, local_offsets=local_offsets,
                   has_position_channels=np.arange(joints) == 0, orders=["ZXY"] * joints,
                   channels=[["Xposition", "Yposition", "Zposition", "Zrotation", "Xrotation", "Yrotation"]]
                   + [["Zrotation", "Xrotation", "Yrotation"]] * (joints - 1),
                   fps=fps, frame_time=1.0 / fps, end_parents=leaves,
                   end_offsets=rng.normal(size=(len(leaves), 3)) * 0.3,
                   end_names=[f"j{j}_end" for j in leaves], name=f"random tree {joints} seed {seed}")


def limb_bones(clip: BvhClip) -> list[tuple[int, int]]:
    """(joint, child) of every limb bone (see the module note)."""
    skel = clip.skeleton
    length = np.linalg.norm(skel.offsets, axis=-1)
    has_tip = np.zeros(skel.num_joints, bool)
    has_tip[clip.end_parents] = True
    out = []
    for j, kids in enumerate(skel.children):
        long = [c for c in kids if length[c] >= LIMB_FRACTION * skel.height]
        if len(long) == 1 and len(kids) == 1 and (skel.children[long[0]] or has_tip[long[0]]):
            out.append((j, long[0]))
    return out


def _add(rig: _Rig, name: str, parent: int, offset: np.ndarray, rotation: np.ndarray) -> int:
    """Add a joint that never translates (``rotation`` [T,3,3]) and return its index; ``name`` is
    numbered ('_Mid2') where a joint has it already (a family applied to its own variant)."""
    T = rotation.shape[0]
    taken, stem, k = set(rig.names), name, 1
    while name in taken:
        k += 1
        name = f"{stem}{k}"
    rig.names.append(name)
    rig.parents.append(parent)
    rig.offsets.append(np.asarray(offset, np.float64))
    rig.rotations.append(rotation)
    rig.local_offsets.append(np.broadcast_to(offset, (T, 3)).copy())
    rig.translating.append(False)
    return len(rig.names) - 1


def _add_twist_joints(rig: _Rig, j: int, c: int, rng: np.random.Generator) -> None:
    axis = rig.offsets[c] / np.linalg.norm(rig.offsets[c])
    tau = np.unwrap(twist_angle(rig.rotations[c], axis))
    eye = np.broadcast_to(np.eye(3), tau.shape + (3, 3)).copy()
    a = _add(rig, f"{rig.names[j]}_TwistA", j, np.zeros(3), eye)
    _add(rig, f"{rig.names[j]}_TwistB", a, 0.5 * rig.offsets[c], axis_angle_to_matrix(axis, 0.5 * tau))


def _split_in_two(rig: _Rig, j: int, c: int, rng: np.random.Generator) -> None:
    """Split the bone from ``j`` to ``c`` at its middle (see the module note); a child that
    translates hands half its offset in each frame to the middle joint, which translates too."""
    axis = rig.offsets[c] / np.linalg.norm(rig.offsets[c])
    half = axis_angle_to_matrix(axis, 0.5 * np.unwrap(twist_angle(rig.rotations[c], axis)))
    m = _add(rig, f"{rig.names[j]}_Mid", j, 0.5 * rig.offsets[c], half)
    rig.parents[c] = m
    rig.offsets[c] = 0.5 * rig.offsets[c]
    if rig.translating[c]:  # the child's half, in the middle joint's turned frame: H^T (x / 2)
        rig.local_offsets[m] = 0.5 * rig.local_offsets[c]
        rig.translating[m] = True
        rig.local_offsets[c] = np.einsum("tba,tb->ta", half, rig.local_offsets[m])
    else:
        rig.local_offsets[c] = 0.5 * rig.local_offsets[c]
    rig.rotations[c] = np.swapaxes(half, -1, -2) @ rig.rotations[c]


def _add_share_bones(rig: _Rig, j: int, c: int, rng: np.random.Generator) -> None:
    off = rig.offsets[c]
    nudge = rng.normal(size=3)
    nudge -= nudge @ off / (off @ off) * off
    nudge *= 1e-4 * np.linalg.norm(off) / max(np.linalg.norm(nudge), 1e-300)
    T = rig.rotations[c].shape[0]
    _add(rig, f"{rig.names[c]}_Share", j, off + nudge, np.broadcast_to(np.eye(3), (T, 3, 3)).copy())


def _add_zero_chain(rig: _Rig, j: int, c: int, rng: np.random.Generator) -> None:
    T = rig.rotations[c].shape[0]
    eye = np.broadcast_to(np.eye(3), (T, 3, 3))
    z1 = _add(rig, f"{rig.names[c]}_Zero1", j, np.zeros(3), eye.copy())
    z2 = _add(rig, f"{rig.names[c]}_Zero2", z1, np.zeros(3), eye.copy())
    rig.parents[c] = z2


def _add_helper_bone(rig: _Rig, j: int, c: int, rng: np.random.Generator) -> None:
    off = rig.offsets[c]
    aside = rng.normal(size=3)
    aside -= aside @ off / (off @ off) * off
    aside *= rng.uniform(0.1, 0.3) * np.linalg.norm(off) / max(np.linalg.norm(aside), 1e-300)
    T = rig.rotations[c].shape[0]
    _add(rig, f"{rig.names[c]}_Helper", j, rng.uniform(0.2, 0.8) * off + aside,
         np.broadcast_to(np.eye(3), (T, 3, 3)).copy())


def _add_floor_root(rig: _Rig, clip: BvhClip, moving: bool) -> None:
    """A root at the floor (Y up) under joint 0, which becomes its translating child (see the
    module note): the new root never turns, so joint 0's offset is its world step from the root."""
    G, P = clip.forward()
    ends = clip.end_site_positions((G, P))
    floor = min(P[..., 1].min(), ends[..., 1].min(initial=np.inf))
    ground = P[:, 0].copy()
    ground[:, 1] = floor
    if moving:
        k = max(1, int(round(clip.fps)))
        padded = np.concatenate([np.repeat(ground[:1], k // 2, 0), ground, np.repeat(ground[-1:], k - 1 - k // 2, 0)])
        ground = np.cumsum(np.concatenate([np.zeros((1, 3)), padded]), axis=0)
        ground = (ground[k:] - ground[:-k]) / k
    else:
        ground[:] = ground[0]
    rest = clip.skeleton.rest_positions
    rest_ends = rest[clip.end_parents] + clip.end_offsets
    rest_floor = np.array([rest[0, 0], min(rest[:, 1].min(), rest_ends[:, 1].min(initial=np.inf)), rest[0, 2]])
    T = clip.num_frames
    r = _add(rig, "FloorRoot", -1, rest_floor, np.broadcast_to(np.eye(3), (T, 3, 3)).copy())
    rig.local_offsets[r] = ground
    rig.translating[r] = True
    rig.parents[0] = r
    rig.offsets[0] = rest[0] - rest_floor
    rig.local_offsets[0] = P[:, 0] - ground
    rig.translating[0] = True


def _to_clip(clip: BvhClip, rig: _Rig, family: str) -> BvhClip:
    """A BvhClip of the edited rig (joints re-ordered parents first; End Sites carried over)."""
    J = len(rig.names)
    rest = np.array(rig.offsets)
    order_rest = rest.copy()
    for j in _parents_first(rig.parents):
        if rig.parents[j] >= 0:
            order_rest[j] = order_rest[rig.parents[j]] + rest[j]
    skel = Skeleton.from_any_order(rig.names, rig.parents, order_rest)
    rotations = skel.from_caller(np.stack(rig.rotations, 1), axis=1)
    local_offsets = skel.from_caller(np.stack(rig.local_offsets, 1), axis=1)
    inv = np.empty(J, np.int64)
    inv[skel.caller_order] = np.arange(J)
    n_old = clip.skeleton.num_joints
    has_pos = np.array(rig.translating)
    orders = list(clip.orders) + ["ZXY"] * (J - n_old)
    channels = list(clip.channels) + [["Zrotation", "Xrotation", "Yrotation"]] * (J - n_old)
    channels = [c if not has_pos[j] or "Xposition" in c else ["Xposition", "Yposition", "Zposition"] + c
                for j, c in enumerate(channels)]
    return replace(clip, skeleton=skel, rotations=rotations, root_translation=local_offsets[:, 0].copy(),
                   local_offsets=local_offsets, has_position_channels=has_pos[skel.caller_order],
                   orders=[orders[o] for o in skel.caller_order], channels=[channels[o] for o in skel.caller_order],
                   end_parents=inv[clip.end_parents], name=f"{clip.name} {family}")


def _parents_first(parents: list[int]) -> list[int]:
    """Joint indices ordered so that every parent comes before its children."""
    children: dict[int, list[int]] = {}
    for j, p in enumerate(parents):
        children.setdefault(p, []).append(j)
    order, stack = [], list(children.get(-1, []))
    while stack:
        j = stack.pop()
        order.append(j)
        stack.extend(children.get(j, []))
    return order


def _turned(clip: BvhClip, Q: np.ndarray) -> BvhClip:
    """The clip turned by Q about the origin: positions Q p, offsets Q o, rotations Q R Q^T."""
    skel = clip.skeleton
    turned_skel = Skeleton(skel.names, skel.parents, skel.rest_positions @ Q.T)
    lo = clip.local_offsets @ Q.T
    return replace(clip, skeleton=turned_skel, rotations=Q @ clip.rotations @ Q.T, local_offsets=lo,
                   root_translation=lo[:, 0].copy(), end_offsets=clip.end_offsets @ Q.T, name=f"{clip.name} z_up")


def _scaled(clip: BvhClip, k: float) -> BvhClip:
    """Every length of the clip times ``k``."""
    skel = clip.skeleton
    return replace(clip, skeleton=Skeleton(skel.names, skel.parents, k * skel.rest_positions),
                   root_translation=k * clip.root_translation, local_offsets=k * clip.local_offsets,
                   end_offsets=k * clip.end_offsets, name=f"{clip.name} units")


def keyed_every(tracks: Tracks, step: int) -> Tracks:
    """``tracks`` as empties keyed every ``step`` frames (and on the last) give them: the samples on
    the keys as they are, the others on curves through the keys, each coordinate of each point on
    its own (cubic Hermite with Blender's auto-clamped handles: the slope between the neighbouring
    keys, flat at the ends and where a key is a peak or dip of its coordinate), and ``keyed``
    marking which is which. Bone tips are interpolated alike."""
    T = tracks.num_frames
    keys = np.unique(np.append(np.arange(0, T, step), T - 1))
    ends = None if tracks.end_positions is None else _through_keys(tracks.end_positions, keys)
    keyed = np.zeros((T, tracks.skeleton.num_joints), bool)
    keyed[keys] = True
    return replace(tracks, positions=_through_keys(tracks.positions, keys), end_positions=ends, keyed=keyed)


def _through_keys(x: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """[T,...] cubic curves through ``x`` [T,...] at frames ``keys`` (ascending, first and last
    included), with auto-clamped slopes (see keyed_every)."""
    at = x[keys]
    slope = np.zeros_like(at)
    if len(keys) > 2:
        span = (keys[2:] - keys[:-2]).reshape((-1,) + (1,) * (x.ndim - 1))
        slope[1:-1] = (at[2:] - at[:-2]) / span
        turning = (at[1:-1] - at[:-2]) * (at[2:] - at[1:-1]) <= 0.0
        slope[1:-1][turning] = 0.0
    seg = np.clip(np.searchsorted(keys, np.arange(len(x)), side="right") - 1, 0, len(keys) - 2)
    h = (keys[seg + 1] - keys[seg]).astype(np.float64)
    s = ((np.arange(len(x)) - keys[seg]) / h).reshape((-1,) + (1,) * (x.ndim - 1))
    h = h.reshape(s.shape)
    return ((2 * s ** 3 - 3 * s ** 2 + 1) * at[seg] + (s ** 3 - 2 * s ** 2 + s) * h * slope[seg]
            + (3 * s ** 2 - 2 * s ** 3) * at[seg + 1] + (s ** 3 - s ** 2) * h * slope[seg + 1])
