"""Generated humanoid rigs and motions for retargeting tests (no third-party data).

``humanoid(rng, spine=3, scale=1.0, naming="mixamo")`` builds a T-pose rig (Y up, facing +Z, left at
+X) with random proportions, ``spine`` joints between pelvis and neck, collars, arms, hands with two
fingers, legs with toes, named in one rig family's convention; ``walk(rig, canon, T, rng)`` gives it
a smooth motion (local rotations [T,J,3,3] and root positions [T,3]).
"""
from __future__ import annotations

import numpy as np

from pose2rot_core.bvh import BvhClip
from pose2rot_core.fk import forward_kinematics
from pose2rot_core.layouts import get_layout
from pose2rot_core.pointsets import PointSet
from pose2rot_core.rotations import axis_angle_to_matrix
from pose2rot_core.skeleton import Skeleton

NAMINGS = {
    "mixamo": {"pelvis": "Hips", "neck": "Neck", "head": "Head", "collar": "{Side}Shoulder", "shoulder": "{Side}Arm",
               "elbow": "{Side}ForeArm", "wrist": "{Side}Hand", "index1": "{Side}HandIndex1",
               "pinky1": "{Side}HandPinky1", "hip": "{Side}UpLeg", "knee": "{Side}Leg", "ankle": "{Side}Foot",
               "foot": "{Side}ToeBase", "spine": "Spine{i}", "prefix": "mixamorig:"},
    "unreal": {"pelvis": "pelvis", "neck": "neck_01", "head": "head", "collar": "clavicle_{s}",
               "shoulder": "upperarm_{s}", "elbow": "lowerarm_{s}", "wrist": "hand_{s}", "index1": "index_01_{s}",
               "pinky1": "pinky_01_{s}", "hip": "thigh_{s}", "knee": "calf_{s}", "ankle": "foot_{s}",
               "foot": "ball_{s}", "spine": "spine_0{k}", "prefix": ""},
    "generic": {"pelvis": "Pelvis", "neck": "Neck", "head": "Head", "collar": "Clavicle.{S}",
                "shoulder": "UpperArm.{S}", "elbow": "LowerArm.{S}", "wrist": "Hand.{S}", "index1": "Index.{S}",
                "pinky1": "Pinky.{S}", "hip": "Thigh.{S}", "knee": "Shin.{S}", "ankle": "Foot.{S}",
                "foot": "Toe.{S}", "spine": "Chest{k}", "prefix": ""},
    "sided_prefix": {"pelvis": "Hips", "neck": "Neck", "head": "Head", "collar": "{S}_Shoulder",
                     "shoulder": "{S}_UpperArm", "elbow": "{S}_ForeArm", "wrist": "{S}_Hand", "index1": "{S}_Index1",
                     "pinky1": "{S}_Pinky1", "hip": "{S}_Thigh", "knee": "{S}_Calf", "ankle": "{S}_Foot",
                     "foot": "{S}_Toe", "spine": "Spine{k}", "prefix": ""},
    "smpl": {"pelvis": "Pelvis", "neck": "Neck", "head": "Head", "collar": "{S}_Collar", "shoulder": "{S}_Shoulder",
             "elbow": "{S}_Elbow", "wrist": "{S}_Wrist", "index1": "{S}_Hand", "pinky1": "{S}_Pinky1", "hip": "{S}_Hip",
             "knee": "{S}_Knee", "ankle": "{S}_Ankle", "foot": "{S}_Foot", "spine": "Spine{k}", "prefix": ""},
    "metarig": {"pelvis": "spine", "neck": "spine.004", "head": "spine.006", "collar": "shoulder.{S}",
                "shoulder": "upper_arm.{S}", "elbow": "forearm.{S}", "wrist": "hand.{S}", "index1": "f_index.01.{S}",
                "pinky1": "f_pinky.01.{S}", "hip": "thigh.{S}", "knee": "shin.{S}", "ankle": "foot.{S}",
                "foot": "toe.{S}", "spine": "spine.00{k}", "prefix": ""},
}


def _name(naming: str, key: str, side: str = "", i: int = 0) -> str:
    table = NAMINGS[naming]
    Side, s = side.capitalize(), side[:1]
    text = table[key].format(Side=Side, s=s, S=s.upper(), i="" if i == 0 else i, k=i + 1)
    return table["prefix"] + text


def humanoid(rng: np.random.Generator, spine: int = 3, scale: float = 1.0, naming: str = "mixamo"
             ) -> tuple[Skeleton, dict[str, str]]:
    """(rig, canonical name -> rig joint name) with random proportions around a 1.75-unit human."""
    u = lambda lo, hi: scale * rng.uniform(lo, hi)  # noqa: E731
    names, parents, offsets, canon = [], [], [], {}

    def add(key: str, canonical: str, parent: str | None, offset, side: str = "", i: int = 0) -> str:
        name = _name(naming, key, side, i)
        names.append(name)
        parents.append(-1 if parent is None else names.index(parent))
        offsets.append(np.asarray(offset, float))
        canon[canonical] = name
        return name

    hips = add("pelvis", "pelvis", None, [0, u(0.9, 1.0), 0])
    top = hips
    for i in range(spine):
        canonical = {0: "spine1", spine - 1: "spine3"}.get(i, "spine2" if i == (spine - 1) // 2 else f"spine_{i}")
        top = add("spine", canonical, top, [0, u(0.1, 0.14) * 3 / spine, u(-0.01, 0.01)], i=i)
    neck = add("neck", "neck", top, [0, u(0.12, 0.16), 0])
    add("head", "head", neck, [0, u(0.08, 0.1), u(0.0, 0.02)])
    for side, x in (("left", 1.0), ("right", -1.0)):
        collar = add("collar", f"{side}_collar", top, [x * u(0.03, 0.05), u(0.1, 0.13), 0], side)
        arm = add("shoulder", f"{side}_shoulder", collar, [x * u(0.1, 0.14), 0, 0], side)
        fore = add("elbow", f"{side}_elbow", arm, [x * u(0.26, 0.3), 0, 0], side)
        hand = add("wrist", f"{side}_wrist", fore, [x * u(0.22, 0.26), 0, 0], side)
        add("index1", f"{side}_index1", hand, [x * u(0.08, 0.1), 0, u(0.02, 0.03)], side)
        add("pinky1", f"{side}_pinky1", hand, [x * u(0.07, 0.09), 0, -u(0.02, 0.03)], side)
        thigh = add("hip", f"{side}_hip", hips, [x * u(0.08, 0.1), -u(0.04, 0.07), 0], side)
        shin = add("knee", f"{side}_knee", thigh, [0, -u(0.4, 0.45), 0], side)
        foot = add("ankle", f"{side}_ankle", shin, [0, -u(0.4, 0.45), -u(0.0, 0.03)], side)
        add("foot", f"{side}_foot", foot, [0, -u(0.06, 0.08), u(0.12, 0.15)], side)
    offsets = np.array(offsets)
    rest = offsets.copy()
    for j in range(1, len(names)):
        rest[j] = rest[parents[j]] + offsets[j]
    return Skeleton(tuple(names), np.array(parents), rest), canon


def walk(rig: Skeleton, canon: dict[str, str], T: int, rng: np.random.Generator, fps: float = 30.0,
         amplitude: float = 0.6) -> tuple[np.ndarray, np.ndarray]:
    """(local rotations [T,J,3,3], root positions [T,3]): each joint swings about a random axis with a
    random frequency (0.3-1.5 Hz), the arms lowered from the T-pose, the root walking along +Z."""
    J = rig.num_joints
    t = np.arange(T)[:, None] / fps
    axis = rng.normal(size=(J, 3))
    axis /= np.linalg.norm(axis, axis=-1, keepdims=True)
    angle = amplitude * np.sin(2 * np.pi * rng.uniform(0.3, 1.5, J) * t + rng.uniform(0, 2 * np.pi, J))
    R = axis_angle_to_matrix(np.broadcast_to(axis, (T, J, 3)), angle)
    R[:, 0] = axis_angle_to_matrix(np.array([0.0, 1.0, 0.0]), 0.3 * np.sin(t[:, 0]))
    for side, sign in (("left", 1.0), ("right", -1.0)):
        j = rig.names.index(canon[f"{side}_shoulder"])
        R[:, j] = axis_angle_to_matrix(np.array([0.0, 0.0, 1.0]), -1.2 * sign) @ R[:, j]
    root = np.stack([0.1 * np.sin(t[:, 0]), rig.rest_positions[0, 1] + 0.02 * np.sin(4 * t[:, 0]),
                     0.8 * t[:, 0]], axis=1)
    return R, root


def as_clip(rig: Skeleton, R: np.ndarray, root: np.ndarray, fps: float = 30.0) -> BvhClip:
    """A BvhClip (no End Sites) of ``rig`` moving as (R, root)."""
    T, J = R.shape[:2]
    offsets = np.broadcast_to(rig.offsets, (T, J, 3)).copy()
    offsets[:, 0] = root
    return BvhClip(skeleton=rig, rotations=R, root_translation=root, local_offsets=offsets,
                   has_position_channels=np.eye(J, dtype=bool)[0], orders=["ZXY"] * J, channels=[[]] * J,
                   fps=fps, frame_time=1.0 / fps, end_parents=np.zeros(0, np.int64), end_offsets=np.zeros((0, 3)),
                   end_names=[], name="generated")


def positions(rig: Skeleton, R: np.ndarray, root: np.ndarray, offsets: np.ndarray | None = None) -> np.ndarray:
    """[T,J,3] joint positions of ``rig`` posed by local rotations ``R`` [T,J,3,3] at ``root``
    [T,3] (``offsets`` [T,J,3]: per-frame local offsets, default the rig's)."""
    return forward_kinematics(rig, R, root, offsets)[1]


def with_hips_moved(rig: Skeleton, canon: dict[str, str], lift: float, hip_joints: bool = False
                    ) -> tuple[Skeleton, dict[str, str]]:
    """(rig, canon) with each leg raised by ``lift`` relative to the pelvis (a pelvis joint below its
    hip line for lift > 0, as a CMU skeleton's), and with ``hip_joints`` an unmapped joint between the
    pelvis and each hip, half way (a CMU-style buttock or ASF hip joint)."""
    J = rig.num_joints
    legs = [rig.names.index(canon[f"{s}_hip"]) for s in ("left", "right")]
    below = np.zeros(J, bool)
    for j in range(J):
        below[j] = j in legs or (rig.parents[j] >= 0 and below[rig.parents[j]])
    rest = rig.rest_positions + lift * below[:, None] * np.array([0.0, 1.0, 0.0])
    names, parents, where, index = [], [], [], {}
    for j in range(J):
        parent = -1 if rig.parents[j] < 0 else index[int(rig.parents[j])]
        if hip_joints and j in legs:
            names.append(rig.names[j] + "Joint")
            parents.append(parent)
            where.append(0.5 * (rest[j] + rest[rig.parents[j]]))
            parent = len(names) - 1
        index[j] = len(names)
        names.append(rig.names[j])
        parents.append(parent)
        where.append(rest[j])
    return Skeleton(tuple(names), np.array(parents), np.array(where)), dict(canon)


def with_joints_at_root(rig: Skeleton) -> Skeleton:
    """``rig`` with an unmapped joint at the root's own place (a zero-length bone) above each of the
    root's children, as an ASF-style rig's LHipJoint, RHipJoint and LowerBack (the Xia rig's)."""
    return _with_joints_above(rig, lambda p, j: (rig.names[j] + "Joint", rig.rest_positions[0]) if p == 0 else None)


def with_bones_split(rig: Skeleton) -> Skeleton:
    """``rig`` with every bone to an only child split at its middle (a joint ``<joint>_Mid`` on the
    bone's axis, as twist segments are), the spine, neck and collars included."""
    def middle(p: int, j: int):
        if p >= 0 and len(rig.children[p]) == 1:
            return rig.names[p] + "_Mid", 0.5 * (rig.rest_positions[p] + rig.rest_positions[j])
        return None

    return _with_joints_above(rig, middle)


def _with_joints_above(rig: Skeleton, inserted) -> Skeleton:
    """``rig`` with a joint put between each joint j and its parent p where ``inserted(p, j)`` gives
    one (its name and rest position; None: none there)."""
    names, parents, where, index = [], [], [], {}
    for j in range(rig.num_joints):
        p = int(rig.parents[j])
        parent = -1 if p < 0 else index[p]
        extra = inserted(p, j)
        if extra is not None:
            names.append(extra[0])
            parents.append(parent)
            where.append(extra[1])
            parent = len(names) - 1
        index[j] = len(names)
        names.append(rig.names[j])
        parents.append(parent)
        where.append(rig.rest_positions[j])
    return Skeleton(tuple(names), np.array(parents), np.array(where))


def with_torso_scaled(body: Skeleton, canon: dict[str, str], k: float) -> Skeleton:
    """``body`` with the offsets of its spine joints, neck and collars times ``k``."""
    torso = [body.names.index(canon[c]) for c in ("spine1", "spine2", "spine3", "neck", "left_collar",
                                                    "right_collar") if c in canon]
    offsets = body.offsets * np.where(np.isin(np.arange(body.num_joints), torso), k, 1.0)[:, None]
    rest = offsets.copy()
    for j in range(1, body.num_joints):
        rest[j] += rest[body.parents[j]]
    return Skeleton(body.names, body.parents, rest)


def without_spine(rig: Skeleton) -> Skeleton:
    """``rig`` without its spine joints (names with "Spine"): what hung from them (neck, collars)
    hangs from the pelvis where it was."""
    keep = [j for j, name in enumerate(rig.names) if "Spine" not in name]
    index = {j: i for i, j in enumerate(keep)}
    parents = []
    for j in keep:
        p = int(rig.parents[j])
        while p >= 0 and p not in index:
            p = int(rig.parents[p])
        parents.append(index.get(p, -1))
    return Skeleton(tuple(rig.names[j] for j in keep), np.array(parents), rig.rest_positions[keep])


def walker_points(seed: int, layout_name: str, noise: float = 0.0, torso: float = 1.0) -> PointSet:
    """The points of layout ``layout_name`` at the joint centres of generated performer ``seed``
    (random proportions around a 1.75-unit human, three spine joints, the torso ``torso`` times as
    long: with_torso_scaled) walking for 90 frames at 30 fps, with Gaussian jitter of ``noise``
    (fraction of the height per axis); the layout's points the body has no joint for (landmarks
    such as the nose or heels) are left out."""
    rng = np.random.default_rng(seed)
    body, canon = humanoid(rng, spine=3, naming="generic", scale=1.05)
    body = with_torso_scaled(body, canon, torso)
    R, root = walk(body, canon, 90, rng, amplitude=0.25)
    P = positions(body, R, root)
    layout = get_layout(layout_name)
    chosen = [p for p in layout.points if layout.canonical.get(p) in canon]
    X = np.stack([P[:, body.names.index(canon[layout.canonical[p]])] for p in chosen], axis=1)
    X = X + rng.normal(scale=noise * body.height, size=X.shape)
    return PointSet(tuple(chosen), X, 30.0, "y", source=layout_name)
