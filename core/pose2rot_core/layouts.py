"""Built-in point layouts: what the points of a markerless, text-to-motion or pose-estimation file are.

A :class:`Layout` names the points of a file in their order, says which anatomical place each point
is (its *canonical* name, shared with the rig presets of :mod:`pose2rot_core.automap`), which points
are surface landmarks rather than joint centres, the data's usual axes and frame rate, and —
for solving the layout on its own — a joint tree: every joint is a point or a virtual point (a mean
or a blend of points) with a parent and a rest direction. The rest pose is a T-pose in the model
frame: Y up, the character facing +Z, its left side at +X, arms straight out to the sides.

Layouts (point counts): ``mediapipe33`` (33), ``freemocap`` (33 body + 21 per hand),
``humanml3d22`` (22), ``smpl24`` (24), ``coco17`` (17), ``halpe26`` (26), ``h36m17`` (17),
``body25`` (25, OpenPose's names).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence, Union

from .errors import Pose2RotError

#: a point source: a point name, {"mean": [names]} or {"lerp": [a, b, t]} (see pose2rot_core.bonemap)
Source = Union[str, dict]


@dataclass(frozen=True)
class LayoutJoint:
    """One joint of a layout's own skeleton: ``source`` gives its position, ``direction`` [3] the
    direction of the bone from ``parent`` to it in the T-pose (model frame; ignored for the root)."""

    name: str
    parent: str | None
    source: Source
    direction: tuple[float, float, float] = (0.0, 1.0, 0.0)


@dataclass(frozen=True)
class Layout:
    """A named point layout.

    points: point names in file order; canonical: point -> anatomical name (see automap.CANONICAL);
    landmarks: points on the surface (face, heels, finger knuckle markers), never joint centres;
    up: the data's usual up axis ("y", "z", "-y", ... ; "auto" = found from the anatomy);
    fps: the usual frame rate; joints: the skeleton for solving on its own
    (root first, parents before children); virtual: canonical name -> virtual point recipe for
    joints the layout has no point for (a rig's pelvis from the two hips, ...).
    """

    name: str
    points: tuple[str, ...]
    canonical: dict
    landmarks: frozenset
    joints: tuple[LayoutJoint, ...]
    virtual: dict
    up: str = "auto"
    fps: float = 30.0
    description: str = ""

    @property
    def num_points(self) -> int:
        return len(self.points)

    def index(self, point: str) -> int:
        return self.points.index(point)


# ----------------------------------------------------------------------------- directions
_UP, _DOWN, _FWD = (0.0, 1.0, 0.0), (0.0, -1.0, 0.0), (0.0, 0.0, 1.0)
_SIDE = {"left": 1.0, "right": -1.0}


def _out(side: str, y: float = 0.0, z: float = 0.0) -> tuple[float, float, float]:
    """A direction pointing to the character's ``side`` (+X for left), tilted by y and z."""
    return (_SIDE[side], y, z)


def _mean(*names: str) -> dict:
    return {"mean": list(names)}


# ----------------------------------------------------------------------------- SMPL family
_SMPL22 = ("pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2", "left_ankle",
           "right_ankle", "spine3", "left_foot", "right_foot", "neck", "left_collar", "right_collar", "head",
           "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist")
_SMPL_PARENTS = (None, "pelvis", "pelvis", "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee",
                 "spine2", "left_ankle", "right_ankle", "spine3", "spine3", "spine3", "neck", "left_collar",
                 "right_collar", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist",
                 "right_wrist")


def _smpl_direction(name: str) -> tuple[float, float, float]:
    side = name.split("_")[0]
    if name.endswith("_hip"):
        return _out(side, -1.2)
    if name.endswith(("_knee", "_ankle")):
        return _DOWN
    if name.endswith("_foot"):
        return (0.0, -0.5, 1.0)
    if name.endswith("_collar"):
        return _out(side, 0.6)
    if side in _SIDE:                                  # shoulder, elbow, wrist, hand: along the arm
        return _out(side)
    return _UP                                         # pelvis, spines, neck, head


def _smpl_layout(name: str, count: int, description: str, fps: float) -> Layout:
    points = _SMPL22 + ("left_hand", "right_hand")[: count - 22]
    joints = tuple(LayoutJoint(p, _SMPL_PARENTS[i], p, _smpl_direction(p)) for i, p in enumerate(points))
    return Layout(name=name, points=points, canonical={p: p for p in points}, landmarks=frozenset(),
                  joints=joints, virtual={}, up="auto", fps=fps, description=description)


# ----------------------------------------------------------------------------- MediaPipe
_MEDIAPIPE33 = ("nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
                "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder",
                "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_pinky",
                "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb", "left_hip", "right_hip",
                "left_knee", "right_knee", "left_ankle", "right_ankle", "left_heel", "right_heel",
                "left_foot_index", "right_foot_index")
_HAND21 = ("wrist", "thumb_cmc", "thumb_mcp", "thumb_ip", "thumb_tip", "index_finger_mcp", "index_finger_pip",
           "index_finger_dip", "index_finger_tip", "middle_finger_mcp", "middle_finger_pip", "middle_finger_dip",
           "middle_finger_tip", "ring_finger_mcp", "ring_finger_pip", "ring_finger_dip", "ring_finger_tip",
           "pinky_mcp", "pinky_pip", "pinky_dip", "pinky_tip")
#: the five fingers, thumb first (their joints are numbered 1.. from the hand)
FINGERS = ("thumb", "index", "middle", "ring", "pinky")


def _hand_canonical(side: str) -> dict:
    """MediaPipe hand point -> canonical finger joint (cmc/mcp = 1, ... tip = 4); the hand model's own
    wrist has none (the body's wrist is the joint)."""
    out = {}
    for i, p in enumerate(_HAND21[1:]):
        finger = FINGERS[i // 4]
        out[f"{side}_hand_{p}"] = f"{side}_{finger}{i % 4 + 1}"
    return out


def _same(name: str) -> str:
    return name


def _limbs(side: str, hip: Source, shoulder: Source, point: Callable[[str], str] = _same) -> list[LayoutJoint]:
    """Leg and arm joints shared by the landmark layouts (hips and shoulders under pelvis and neck);
    ``point`` gives the layout's point for a joint's name (the same name unless the file names it
    otherwise)."""
    return [LayoutJoint(f"{side}_hip", "pelvis", hip, _out(side)),
            LayoutJoint(f"{side}_knee", f"{side}_hip", point(f"{side}_knee"), _DOWN),
            LayoutJoint(f"{side}_ankle", f"{side}_knee", point(f"{side}_ankle"), _DOWN),
            LayoutJoint(f"{side}_shoulder", "neck", shoulder, _out(side)),
            LayoutJoint(f"{side}_elbow", f"{side}_shoulder", point(f"{side}_elbow"), _out(side)),
            LayoutJoint(f"{side}_wrist", f"{side}_elbow", point(f"{side}_wrist"), _out(side))]


def _head_joints(points: tuple[str, ...], neck: Source, point: Callable[[str], str] = _same) -> list[LayoutJoint]:
    """A head joint half way from the neck to the middle of the ears (landmark layouts have no point
    between neck and skull), aimed by the nose, ears and eyes it has; the neck is aimed by the
    shoulders and the head. ``point``: as for _limbs."""
    ears = _mean(point("left_ear"), point("right_ear"))
    out = [LayoutJoint("head", "neck", {"lerp": [neck, ears, 0.5]}, _UP),
           LayoutJoint("nose", "head", point("nose"), (0.0, 0.5, 1.0))]
    for side in _SIDE:
        out.append(LayoutJoint(f"{side}_ear", "head", point(f"{side}_ear"), _out(side, 1.0)))
        if point(f"{side}_eye") in points:
            out.append(LayoutJoint(f"{side}_eye", "head", point(f"{side}_eye"), _out(side, 1.0, 1.0)))
    return out


def _trunk(pelvis: Source, neck: Source) -> list[LayoutJoint]:
    """Pelvis, a spine joint a quarter of the way up the trunk and the neck: the pelvis is aimed by
    the hips and the spine, the spine by the neck (the trunk bends: a pelvis aimed at the neck
    directly would be a rigid pelvis-hips-neck group, which does not fit)."""
    return [LayoutJoint("pelvis", None, pelvis), LayoutJoint("spine", "pelvis", {"lerp": [pelvis, neck, 0.25]}, _UP),
            LayoutJoint("neck", "spine", neck, _UP)]


def _mediapipe_body_joints(hand_points: bool) -> list[LayoutJoint]:
    joints = _trunk(_mean("left_hip", "right_hip"), _mean("left_shoulder", "right_shoulder"))
    for side in _SIDE:
        joints += _limbs(side, f"{side}_hip", f"{side}_shoulder")
        joints += [LayoutJoint(f"{side}_heel", f"{side}_ankle", f"{side}_heel", (0.0, -1.0, -0.6)),
                   LayoutJoint(f"{side}_foot_index", f"{side}_ankle", f"{side}_foot_index", (0.0, -0.5, 1.0))]
        if hand_points:
            joints += [LayoutJoint(f"{side}_{p}", f"{side}_wrist", f"{side}_{p}", _out(side, 0.0, z))
                       for p, z in (("index", 0.25), ("pinky", -0.25), ("thumb", 0.6))]
    return joints + _head_joints(_MEDIAPIPE33, _mean("left_shoulder", "right_shoulder"))


def _hand_joints(side: str) -> list[LayoutJoint]:
    """MediaPipe hand chains hung from the body's wrist (the hand model's own wrist is not a joint)."""
    joints = []
    for i, p in enumerate(_HAND21[1:]):
        finger, k = FINGERS[i // 4], i % 4
        parent = f"{side}_wrist" if k == 0 else f"{side}_hand_{_HAND21[i]}"
        z = {"thumb": 0.8, "index": 0.25, "middle": 0.0, "ring": -0.2, "pinky": -0.4}[finger] if k == 0 else 0.0
        joints.append(LayoutJoint(f"{side}_hand_{p}", parent, f"{side}_hand_{p}", _out(side, 0.0, z)))
    return joints


_MEDIAPIPE_CANONICAL = {p: p for p in _MEDIAPIPE33} | {
    "left_index": "left_index1", "right_index": "right_index1", "left_pinky": "left_pinky1",
    "right_pinky": "right_pinky1", "left_thumb": "left_thumb2", "right_thumb": "right_thumb2",
    "left_foot_index": "left_toe_tip", "right_foot_index": "right_toe_tip"}
_MEDIAPIPE_LANDMARKS = frozenset(p for p in _MEDIAPIPE33 if not p.endswith(
    ("_shoulder", "_elbow", "_wrist", "_hip", "_knee", "_ankle")))
#: rig joints the landmark layouts have no point for, as virtual points
_TORSO_VIRTUAL = {"pelvis": _mean("left_hip", "right_hip"), "neck": _mean("left_shoulder", "right_shoulder"),
                  "head": _mean("left_ear", "right_ear")}


def _mediapipe_layout() -> Layout:
    return Layout(name="mediapipe33", points=_MEDIAPIPE33, canonical=_MEDIAPIPE_CANONICAL,
                  landmarks=_MEDIAPIPE_LANDMARKS, joints=tuple(_mediapipe_body_joints(True)),
                  virtual=_TORSO_VIRTUAL, up="auto", fps=30.0,
                  description="MediaPipe Pose (BlazePose) 33 landmarks, world coordinates")


def _freemocap_layout() -> Layout:
    hands = tuple(f"{side}_hand_{p}" for side in ("right", "left") for p in _HAND21)
    canonical = dict(_MEDIAPIPE_CANONICAL) | _hand_canonical("right") | _hand_canonical("left")
    joints = _mediapipe_body_joints(True) + _hand_joints("left") + _hand_joints("right")
    return Layout(name="freemocap", points=_MEDIAPIPE33 + hands, canonical=canonical,
                  landmarks=_MEDIAPIPE_LANDMARKS | {f"{s}_hand_wrist" for s in _SIDE}, joints=tuple(joints),
                  virtual=_TORSO_VIRTUAL, up="auto", fps=30.0,
                  description="FreeMoCap output: MediaPipe body 33 + right hand 21 + left hand 21")


# ----------------------------------------------------------------------------- COCO, Halpe, Human3.6M
_COCO17 = ("nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
           "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee",
           "right_knee", "left_ankle", "right_ankle")
_HALPE_EXTRA = ("head", "neck", "hip", "left_big_toe", "right_big_toe", "left_small_toe", "right_small_toe",
                "left_heel", "right_heel")
_COCO_LANDMARKS = frozenset(("nose", "left_eye", "right_eye", "left_ear", "right_ear"))


def _coco_layout() -> Layout:
    neck = _mean("left_shoulder", "right_shoulder")
    joints = _trunk(_mean("left_hip", "right_hip"), neck)
    for side in _SIDE:
        joints += _limbs(side, f"{side}_hip", f"{side}_shoulder")
    return Layout(name="coco17", points=_COCO17, canonical={p: p for p in _COCO17}, landmarks=_COCO_LANDMARKS,
                  joints=tuple(joints + _head_joints(_COCO17, neck)), virtual=_TORSO_VIRTUAL, up="auto", fps=30.0,
                  description="COCO 17 keypoints (MMPose, VideoPose3D inputs)")


#: the foot landmarks of Halpe and OpenPose BODY_25, with their rest directions from the ankle on the left
_FOOT_POINTS = (("big_toe", (0.1, -0.5, 1.0)), ("small_toe", (0.5, -0.5, 1.0)), ("heel", (0.0, -1.0, -0.6)))


def _feet(side: str, point: Callable[[str], str] = _same) -> list[LayoutJoint]:
    """Big toe, small toe and heel landmarks hung from the ankle; ``point``: as for _limbs."""
    return [LayoutJoint(f"{side}_{p}", f"{side}_ankle", point(f"{side}_{p}"), (x * _SIDE[side], y, z))
            for p, (x, y, z) in _FOOT_POINTS]


def _halpe_layout() -> Layout:
    points = _COCO17 + _HALPE_EXTRA
    joints = _trunk("hip", "neck")
    for side in _SIDE:
        joints += _limbs(side, f"{side}_hip", f"{side}_shoulder")
        joints += _feet(side)
    joints += _head_joints(points, "neck") + [LayoutJoint("head_top", "head", "head", _UP)]
    canonical = {p: p for p in points} | {"head": "head_top", "hip": "pelvis", "left_big_toe": "left_toe_tip",
                                          "right_big_toe": "right_toe_tip"}
    landmarks = _COCO_LANDMARKS | {"head", "left_big_toe", "right_big_toe", "left_small_toe", "right_small_toe",
                                   "left_heel", "right_heel"}
    return Layout(name="halpe26", points=points, canonical=canonical, landmarks=frozenset(landmarks),
                  joints=tuple(joints), virtual={"head": _mean("left_ear", "right_ear")}, up="auto", fps=30.0,
                  description="Halpe 26 keypoints (COCO 17 + head, neck, hip, feet)")


_H36M17 = ("pelvis", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle", "spine",
           "thorax", "neck_nose", "head", "left_shoulder", "left_elbow", "left_wrist", "right_shoulder",
           "right_elbow", "right_wrist")


def _h36m_layout() -> Layout:
    joints = [LayoutJoint("pelvis", None, "pelvis")]
    for side in ("right", "left"):
        joints += [LayoutJoint(f"{side}_hip", "pelvis", f"{side}_hip", _out(side)),
                   LayoutJoint(f"{side}_knee", f"{side}_hip", f"{side}_knee", _DOWN),
                   LayoutJoint(f"{side}_ankle", f"{side}_knee", f"{side}_ankle", _DOWN)]
    joints += [LayoutJoint("spine", "pelvis", "spine", _UP), LayoutJoint("thorax", "spine", "thorax", _UP),
               LayoutJoint("neck_nose", "thorax", "neck_nose", (0.0, 1.0, 0.4)),
               LayoutJoint("head", "neck_nose", "head", _UP)]
    for side in ("left", "right"):
        joints += [LayoutJoint(f"{side}_shoulder", "thorax", f"{side}_shoulder", _out(side)),
                   LayoutJoint(f"{side}_elbow", f"{side}_shoulder", f"{side}_elbow", _out(side)),
                   LayoutJoint(f"{side}_wrist", f"{side}_elbow", f"{side}_wrist", _out(side))]
    canonical = {p: p for p in _H36M17} | {"spine": "spine2", "thorax": "neck", "neck_nose": "nose",
                                          "head": "head_top"}
    return Layout(name="h36m17", points=_H36M17, canonical=canonical, landmarks=frozenset({"neck_nose", "head"}),
                  joints=tuple(joints), virtual={"head": {"lerp": ["neck_nose", "head", 0.5]}}, up="auto",
                  fps=50.0, description="Human3.6M 17 joints (VideoPose3D, MotionBERT, MMPose 3D)")


# ----------------------------------------------------------------------------- OpenPose BODY_25
_BODY25 = ("Nose", "Neck", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist", "MidHip", "RHip", "RKnee",
           "RAnkle", "LHip", "LKnee", "LAnkle", "REye", "LEye", "REar", "LEar", "LBigToe", "LSmallToe", "LHeel",
           "RBigToe", "RSmallToe", "RHeel")


def _body25_point(name: str) -> str:
    """The BODY_25 point of the joint or anatomical ``name`` (``left_knee`` -> ``LKnee``, ``nose`` -> ``Nose``)."""
    side, _, part = name.partition("_")
    if side not in _SIDE:
        return name.capitalize()
    return side[0].upper() + "".join(w.capitalize() for w in part.split("_"))


#: BODY_25 point -> anatomical name; MidHip and Neck have none: OpenPose places them half way between the
#: hips and between the shoulders, where a rig has no joint (its pelvis and neck sit above those lines)
_BODY25_CANONICAL = {"Nose": "nose"} | {_body25_point(f"{s}_{part}"): f"{s}_{part}" for s in _SIDE for part in (
    "shoulder", "elbow", "wrist", "hip", "knee", "ankle", "eye", "ear", "small_toe", "heel")} | {
    "LBigToe": "left_toe_tip", "RBigToe": "right_toe_tip"}


def _body25_layout() -> Layout:
    """OpenPose BODY_25: a rig's pelvis, neck and head are mapped onto the means of the hips, shoulders
    and ears (soft targets, as for MediaPipe), not onto MidHip and Neck, which would pin the rig's
    joints on lines where they are not; the layout's own skeleton hangs from MidHip and Neck."""
    joints = _trunk("MidHip", "Neck")
    for side in _SIDE:
        joints += _limbs(side, _body25_point(f"{side}_hip"), _body25_point(f"{side}_shoulder"), _body25_point)
        joints += _feet(side, _body25_point)
    joints += _head_joints(_BODY25, "Neck", _body25_point)
    virtual = {joint: _mean(_body25_point(f"left_{side}"), _body25_point(f"right_{side}"))
               for joint, side in (("pelvis", "hip"), ("neck", "shoulder"), ("head", "ear"))}
    landmarks = frozenset(p for p in _BODY25 if not p.endswith(("Shoulder", "Elbow", "Wrist", "Hip", "Knee", "Ankle"))
                          or p == "MidHip")
    return Layout(name="body25", points=_BODY25, canonical=_BODY25_CANONICAL, landmarks=landmarks,
                  joints=tuple(joints), virtual=virtual, up="auto", fps=30.0,
                  description="OpenPose BODY_25 keypoints, 3D (lifted or triangulated), in OpenPose's order and names")


LAYOUTS: dict[str, Layout] = {layout.name: layout for layout in (
    _mediapipe_layout(), _freemocap_layout(),
    _smpl_layout("humanml3d22", 22, "HumanML3D / text-to-motion: the first 22 SMPL joints, Y up, 20 fps", 20.0),
    _smpl_layout("smpl24", 24, "SMPL 24 joints (22 body joints + both hands)", 30.0),
    _coco_layout(), _halpe_layout(), _h36m_layout(), _body25_layout())}


def named_layout(names: Sequence[str]) -> Layout | None:
    """The built-in layout whose points are exactly ``names`` (in any order), or None: a point set
    exported with a layout's own names is that layout."""
    found = [layout for layout in LAYOUTS.values() if frozenset(layout.points) == frozenset(names)]
    return found[0] if len(found) == 1 else None


def get_layout(name: str) -> Layout:
    """The built-in layout ``name`` (case-insensitive), or a Pose2RotError listing them."""
    layout = LAYOUTS.get(str(name).strip().lower())
    if layout is None:
        raise Pose2RotError(f"unknown layout '{name}' (choose from {', '.join(LAYOUTS)})")
    return layout
