"""Automatic bone maps: propose MAP.json for a rig from joint names and geometry.

Every rig joint gets a *canonical* anatomical name (the SMPL joint names, plus ``head_top``,
``{side}_toe_tip``, ``{side}_eye``, ``{side}_ear``, ``nose``, ``{side}_heel`` and finger joints
``{side}_{thumb,index,middle,ring,pinky}{1..4}``, 4 = tip) from

1. the preset of its rig family, recognised by how many of its names the preset knows: Mixamo,
   Rigify (``DEF-`` bones, and the metarig's bones without it), Unreal mannequin, Character Creator
   (``CC_Base_``), SMPL / SMPL-X, CMU-style BVH (the Daz-style ``hip/abdomen/lShldr``, the ASF-style
   ``Hips/LHipJoint`` and the ASF's own ``lfemur/ltibia/lhumerus``, each joint named by the bone that
   starts there), where the rig's tree bears the preset out (_family: a rig of ``L_Shoulder``,
   ``L_UpperArm``, ``L_Foot``, ``L_Toe`` bones is no SMPL rig, whose ``L_Shoulder`` is the upper arm's
   joint and ``L_Foot`` the toe base);
2. generic synonyms for names no preset knows (``UpperArm_L``, ``thigh.R``, ``Shin``, Xsens MVN's
   ``RightHip``, OpenPose's ``MidHip``, ``LHip``, ``RBigToe``, ...);
3. the tree: the joints between the pelvis and the neck are the spine (``spine1`` lowest,
   ``spine3`` the chest the neck and collars hang from), a tip under the head is ``head_top``.

Points get canonical names from their layout (or, for another skeleton, the same way as a rig). A
rig joint is mapped to the point with its canonical name, else to the layout's virtual point for it
(a pelvis between the hips, a neck between the shoulders), else to the point whose name matches
its own (names.match_names, as Blender's solve without a map pairs them) unless their canonical
names differ, else to a stand-in (a
toe base from a toe-tip point), which is listed as doubtful. So are joints whose side or height
disagrees with the rig's reference pose.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from .bonemap import BoneMap, source_names
from .layouts import FINGERS
from .names import canonical_key, match_names, strip_namespace
from .rotations import normalize
from .skeleton import marked_or_above

_SIDES = (("left", "Left", "L", "l"), ("right", "Right", "R", "r"))


def _expand(entries: Sequence[tuple[str, str]], last: int = 4) -> dict[str, str]:
    """{lower-case rig name: canonical} from templates with {side} {Side} {S} {s} {finger} {Finger} {k}
    ({k}: finger joints 1..``last``, as many as the family's fingers have)."""
    out: dict[str, str] = {}
    for rig, canon in entries:
        sides = _SIDES if "{" in rig and any(t in rig for t in ("{side}", "{Side}", "{S}", "{s}")) else ((None,) * 4,)
        fingers = FINGERS if "{finger}" in rig.lower() else (None,)
        ks = range(1, last + 1) if "{k}" in rig else (None,)
        for side, Side, S, s in sides:
            for finger in fingers:
                for k in ks:
                    fields = dict(side=side, Side=Side, S=S, s=s, finger=finger,
                                  Finger=finger.capitalize() if finger else None, k=k)
                    out[rig.format(**fields).lower()] = canon.format(**fields)
    return out


FAMILIES: dict[str, dict[str, str]] = {
    "mixamo": _expand([
        ("Hips", "pelvis"), ("Neck", "neck"), ("Head", "head"), ("HeadTop_End", "head_top"),
        ("{Side}Shoulder", "{side}_collar"), ("{Side}Arm", "{side}_shoulder"), ("{Side}ForeArm", "{side}_elbow"),
        ("{Side}Hand", "{side}_wrist"), ("{Side}Hand{Finger}{k}", "{side}_{finger}{k}"),
        ("{Side}UpLeg", "{side}_hip"), ("{Side}Leg", "{side}_knee"), ("{Side}Foot", "{side}_ankle"),
        ("{Side}ToeBase", "{side}_foot"), ("{Side}Toe_End", "{side}_toe_tip"), ("{Side}Eye", "{side}_eye")]),
    "rigify": _expand([(prefix + rig, canon) for prefix in ("DEF-", "") for rig, canon in (  # deform bones, metarig
        ("spine", "pelvis"), ("spine.004", "neck"), ("spine.006", "head"),
        ("shoulder.{S}", "{side}_collar"), ("upper_arm.{S}", "{side}_shoulder"),
        ("forearm.{S}", "{side}_elbow"), ("hand.{S}", "{side}_wrist"),
        ("thumb.0{k}.{S}", "{side}_thumb{k}"), ("f_{finger}.0{k}.{S}", "{side}_{finger}{k}"),
        ("thigh.{S}", "{side}_hip"), ("shin.{S}", "{side}_knee"), ("foot.{S}", "{side}_ankle"),
        ("toe.{S}", "{side}_foot"), ("eye.{S}", "{side}_eye"))], 3),
    "unreal": _expand([
        ("pelvis", "pelvis"), ("neck_01", "neck"), ("head", "head"), ("clavicle_{s}", "{side}_collar"),
        ("upperarm_{s}", "{side}_shoulder"), ("lowerarm_{s}", "{side}_elbow"), ("hand_{s}", "{side}_wrist"),
        ("{finger}_0{k}_{s}", "{side}_{finger}{k}"), ("thigh_{s}", "{side}_hip"), ("calf_{s}", "{side}_knee"),
        ("foot_{s}", "{side}_ankle"), ("ball_{s}", "{side}_foot")], 3),
    "character_creator": _expand([
        ("CC_Base_Hip", "pelvis"), ("CC_Base_NeckTwist01", "neck"), ("CC_Base_Head", "head"),
        ("CC_Base_{S}_Clavicle", "{side}_collar"), ("CC_Base_{S}_Upperarm", "{side}_shoulder"),
        ("CC_Base_{S}_Forearm", "{side}_elbow"), ("CC_Base_{S}_Hand", "{side}_wrist"),
        ("CC_Base_{S}_{Finger}{k}", "{side}_{finger}{k}"), ("CC_Base_{S}_Mid{k}", "{side}_middle{k}"),
        ("CC_Base_{S}_Thigh", "{side}_hip"), ("CC_Base_{S}_Calf", "{side}_knee"), ("CC_Base_{S}_Foot", "{side}_ankle"),
        ("CC_Base_{S}_ToeBase", "{side}_foot"), ("CC_Base_{S}_Eye", "{side}_eye")], 3),
    "smpl": _expand([
        ("pelvis", "pelvis"), ("spine1", "spine1"), ("spine2", "spine2"), ("spine3", "spine3"), ("neck", "neck"),
        ("head", "head"), ("{side}_hip", "{side}_hip"), ("{side}_knee", "{side}_knee"),
        ("{side}_ankle", "{side}_ankle"), ("{side}_foot", "{side}_foot"), ("{side}_collar", "{side}_collar"),
        ("{side}_shoulder", "{side}_shoulder"), ("{side}_elbow", "{side}_elbow"), ("{side}_wrist", "{side}_wrist"),
        ("{side}_hand", "{side}_hand"), ("{side}_{finger}{k}", "{side}_{finger}{k}"),
        ("{side}_eye_smplhf", "{side}_eye"), ("{S}_Hip", "{side}_hip"), ("{S}_Knee", "{side}_knee"),
        ("{S}_Ankle", "{side}_ankle"), ("{S}_Foot", "{side}_foot"), ("{S}_Collar", "{side}_collar"),
        ("{S}_Shoulder", "{side}_shoulder"), ("{S}_Elbow", "{side}_elbow"), ("{S}_Wrist", "{side}_wrist"),
        ("{S}_Hand", "{side}_hand")], 3),
    "cmu": _expand([
        ("hip", "pelvis"), ("neck", "neck"), ("head", "head"), ("{s}Collar", "{side}_collar"),
        ("{s}Shldr", "{side}_shoulder"), ("{s}ForeArm", "{side}_elbow"), ("{s}Hand", "{side}_wrist"),
        ("{s}{Finger}{k}", "{side}_{finger}{k}"), ("{s}Mid{k}", "{side}_middle{k}"), ("{s}Thigh", "{side}_hip"),
        ("{s}Shin", "{side}_knee"), ("{s}Foot", "{side}_ankle"), ("{s}Foot_end", "{side}_toe_tip"),
        ("{side}Eye", "{side}_eye"), ("Hips", "pelvis"), ("Neck", "neck"), ("Head", "head"), ("Head_end", "head_top"),
        ("{Side}UpLeg", "{side}_hip"), ("{Side}Leg", "{side}_knee"), ("{Side}Foot", "{side}_ankle"),
        ("{Side}ToeBase", "{side}_foot"), ("{Side}ToeBase_end", "{side}_toe_tip"),
        ("{Side}Shoulder", "{side}_collar"), ("{Side}Arm", "{side}_shoulder"), ("{Side}ForeArm", "{side}_elbow"),
        ("{Side}Hand", "{side}_wrist"), ("{Side}HandIndex1", "{side}_index1"), ("{S}Thumb", "{side}_thumb1"),
        ("lowerneck", "neck"), ("{s}clavicle", "{side}_collar"), ("{s}humerus", "{side}_shoulder"),
        ("{s}radius", "{side}_elbow"), ("{s}wrist", "{side}_wrist"), ("{s}fingers", "{side}_index1"),
        ("{s}femur", "{side}_hip"), ("{s}tibia", "{side}_knee"), ("{s}toes", "{side}_foot"),
        ("{s}toes_end", "{side}_toe_tip")], 2),
}
#: a rig belongs to the family whose preset knows the most of its names, at least this share of them,
#: unless its tree refutes the preset (_family)
FAMILY_SHARE = 0.3
#: the trunk's canonical names from the pelvis up and each limb's from the body out (_contradictions)
_CHAINS = (("pelvis", "spine1", "spine2", "spine3", "neck", "head", "head_top"),
           *((f"{s}_hip", f"{s}_knee", f"{s}_ankle", f"{s}_foot", f"{s}_toe_tip") for s in ("left", "right")),
           *((f"{s}_collar", f"{s}_shoulder", f"{s}_elbow", f"{s}_wrist", f"{s}_hand") for s in ("left", "right")))
_ALONG = {c: (k, rank) for k, chain in enumerate(_CHAINS) for rank, c in enumerate(chain)}
#: families whose names rigs of no family use too (Blender's own 'thigh.L', 'shin.L', 'upper_arm.L', ... are the
#: metarig's limbs), with the prefixes only the family's rigs give: a rig of none of them that the preset reads as
#: the generic synonyms do is called generic (canonical_names)
COMMON_NAMES = {"rigify": ("DEF-", "ORG-", "MCH-")}
#: name prefixes dropped before looking a name up in the presets (SMPL FBX exports)
_PRESET_PREFIXES = ("m_avg_", "f_avg_")
#: canonical_key bases of names no preset knows (sided ones get the side)
GENERIC = {"hips": "pelvis", "pelvis": "pelvis", "neck": "neck", "head": "head", "headtop": "head_top",
           "clavicle": "collar", "collar": "collar", "upperarm": "shoulder", "arm": "shoulder", "shldr": "shoulder",
           "forearm": "elbow", "lowerarm": "elbow", "elbow": "elbow", "hand": "wrist", "wrist": "wrist",
           "upleg": "hip", "upperleg": "hip", "thigh": "hip", "leg": "knee", "lowerleg": "knee", "shin": "knee",
           "uparm": "shoulder", "loarm": "elbow", "loleg": "knee",                      # MakeHuman's default rig
           "calf": "knee", "knee": "knee", "foot": "ankle", "ankle": "ankle", "toebase": "foot", "toes": "foot",
           "toe": "foot", "ball": "foot", "toeend": "toe_tip", "bigtoe": "toe_tip", "eye": "eye", "ear": "ear",
           "heel": "heel", "hip": "hip", "midhip": "pelvis", "nose": "nose"}
#: canonical names GENERIC gives names without a side (a sided name with their base gets none)
_UNSIDED = ("pelvis", "neck", "head", "head_top", "nose")
#: canonical_key bases of finger joints no preset knows (``index1``, ``indexfinger2``, ``middle03``, ``thumb0``)
_FINGER_NAME = re.compile(r"^(?:hand|f)?(thumb|index|middle|mid|ring|pinky|pinkie|little)(?:finger)?0?([0-4])$")
_FINGER_WORDS = {"mid": "middle", "pinkie": "pinky", "little": "pinky"}
#: joints the rig holds further apart than this share of its size may not share a point (or a place of
#: the points: one_joint_a_place)
SHARED_APART = 0.01
#: stand-ins: a rig joint with this canonical name may take the point of the other (doubtful)
STAND_INS = {"{side}_foot": "{side}_toe_tip", "{side}_toe_tip": "{side}_foot", "{side}_middle1": "{side}_hand"}


@dataclass
class Proposal:
    """A proposed map and what to check: doubtful bone -> reason, rig joints without a point that are
    solved between mapped ones (``between``) or keep the reference pose (``kept``), points left unused;
    ``legs``: each side's mapped (hip, knee, ankle) joint indices (see standing_frame)."""

    bone_map: BoneMap
    family: str
    doubtful: dict = field(default_factory=dict)
    between: list = field(default_factory=list)
    kept: list = field(default_factory=list)
    unused: list = field(default_factory=list)
    legs: list = field(default_factory=list)

    def to_json(self) -> dict:
        out = self.bone_map.to_json()
        out.update(family=self.family, doubtful=self.doubtful, solved_between=self.between,
                   reference_pose=self.kept, unused_points=self.unused)
        return out


# ----------------------------------------------------------------------------- naming
def canonical_names(names: Sequence[str], parents: Sequence[int]) -> tuple[dict[str, str], str]:
    """({joint name: canonical name}, family) for a tree given in parent-before-child order; names
    of End Sites are ``<joint>_end`` with their joint as parent. A name beginning with ``_`` (a helper
    bone: MakeHuman's ``__Clavicle_L`` on the neck's place, ``__UpLeg_L`` below the pelvis) takes a
    canonical name only where no other name has it. A rig of a family in COMMON_NAMES, without the
    family's prefixes, that its preset reads as the generic synonyms do is called "generic"."""
    lookup = [_preset_name(n) for n in names]
    family = _family(names, parents, lookup)
    canon = _read(names, parents, lookup, FAMILIES.get(family, {}))
    marked = any(n.startswith(COMMON_NAMES.get(family, ())) for n in names)
    if family in COMMON_NAMES and not marked and canon == _read(names, parents, lookup, {}):
        family = "generic"
    return canon, family


def _read(names: Sequence[str], parents: Sequence[int], lookup: Sequence[str], table: dict[str, str]
          ) -> dict[str, str]:
    """{joint name: canonical name} of the tree of ``names`` and ``parents`` (``lookup``: the names as
    the presets spell them) through a preset ``table`` ({}: the generic synonyms alone) and the tree."""
    canon: dict[str, str] = {}
    for name, key in sorted(zip(names, lookup), key=lambda nk: nk[0].startswith("_")):  # helpers yield
        c = table.get(key) or _generic(name)
        if c and c not in canon.values():
            canon[name] = c
    _collar_or_shoulder(canon, names)
    _generic_fingers(canon, names)
    _pelvis_over_the_hips(canon, names, parents)
    _spine_chain(canon, names, parents)
    _head_top(canon, names, parents)
    return canon


def _pelvis_over_the_hips(canon: dict[str, str], names: Sequence[str], parents: Sequence[int]) -> None:
    """No pelvis where the joint read as one does not hold the hips that hang in the tree: a
    ``spine`` bone above a root that carries the legs (a hand-made rig with Rigify's limb names) is no
    metarig's hips bone. Loose points (no parent) tell nothing."""
    where = {c: names.index(n) for n, c in canon.items()}
    hips = [where[h] for h in ("left_hip", "right_hip") if h in where and parents[where[h]] >= 0]
    if "pelvis" in where and hips and not all(_is_above(where["pelvis"], h, parents) for h in hips):
        del canon[names[where["pelvis"]]]


def _is_above(a: int, b: int, parents: Sequence[int]) -> bool:
    """Whether joint ``a`` is an ancestor of joint ``b`` in the tree of ``parents`` (-1: none)."""
    b = parents[b]
    while b >= 0 and b != a:
        b = parents[b]
    return b == a


def _family(names: Sequence[str], parents: Sequence[int], lookup: Sequence[str]) -> str:
    """The rig family of joints ``names`` (a tree of ``parents``; ``lookup``: each name as the presets spell
    them): the family whose preset knows the most of the names (a CMU BVH's ``Head_end`` too), as many
    as FAMILY_SHARE of the joints at least (End Sites, ``<joint>_end``, aside: one the preset does not
    know is named after its joint, not unknown to the family), and is not refuted, else "generic".
    Where a preset reads some of the names otherwise than the generic synonyms do (SMPL names joints:
    its ``L_Shoulder`` is the upper arm's joint, ``L_Foot`` the toe base, ``L_Hand`` the knuckles; a
    rig naming bones means the collarbone, the ankle and the wrist), the names alone cannot tell which
    is meant, and the rest of the rig decides: the preset is taken only where the generic reading of
    such a name contradicts the tree (_contradictions: SMPL's ``L_Foot`` below an ``L_Ankle``) and its
    own reading of them does not (a foot bone named ``L_Foot`` with an ``L_Toe`` below it, an
    ``L_Shoulder`` with an ``L_UpperArm`` below it), or where the preset knows every joint's name and
    its reading contradicts nothing: a joint set of the preset's own names, or part of it (SMPL's
    without its ankles and hands, its ``L_Foot`` below the knee), is the preset's; a rig of other
    names (``L_UpperArm``) is not."""
    joints = sum(not _end_site(j, names, parents) for j in range(len(names)))
    scores = {fam: sum(n in table for n in lookup) for fam, table in FAMILIES.items()}
    if sum(n.lower().startswith("mixamorig") for n in names) * 2 > len(names):  # Mixamo's own namespace:
        scores["mixamo"] = len(names)  # a CMU-style BVH shares its names, not its End Sites or this
    generic = _reading(names, lookup, {})
    for family in sorted(scores, key=lambda f: -scores[f]):           # ties: in the order of FAMILIES
        if scores[family] < FAMILY_SHARE * joints:
            break
        own = _reading(names, lookup, FAMILIES[family])
        contested = {n for n, c in own.items() if generic.get(n, c) != c}
        if not contested or not contested & _contradictions(own, names, parents) and (
                contested & _contradictions(generic, names, parents) or _all_known(names, parents, lookup, family)):
            return family
    return "generic"


def _all_known(names: Sequence[str], parents: Sequence[int], lookup: Sequence[str], family: str) -> bool:
    """Whether the preset of ``family`` knows every one of the joints ``names`` (``lookup``: as the presets
    spell them), End Sites (``<joint>_end`` below their joint, in the tree of ``parents``) aside."""
    return all(key in FAMILIES[family] for j, key in enumerate(lookup) if not _end_site(j, names, parents))


def _end_site(j: int, names: Sequence[str], parents: Sequence[int]) -> bool:
    """Whether joint ``j`` of ``names`` (a tree of ``parents``) is an End Site: ``<joint>_end`` below its joint."""
    return parents[j] >= 0 and names[j] == f"{names[parents[j]]}_end"


def _reading(names: Sequence[str], lookup: Sequence[str], table: dict[str, str]) -> dict[str, str]:
    """{joint name: canonical name} of the joints ``names`` (``lookup``: as the presets spell them) that a
    preset ``table`` knows, or the generic synonyms, with names that two joints share kept."""
    out = {}
    for name, key in zip(names, lookup):
        c = table.get(key) or _generic(name)
        if c:
            out[name] = c
    _collar_or_shoulder(out, names, once=False)
    return out


def _contradictions(reading: dict[str, str], names: Sequence[str], parents: Sequence[int]) -> set[str]:
    """The joints at which a ``reading`` ({joint name: canonical name}) of the joints ``names`` (a tree
    of ``parents``, -1: none) contradicts the tree: a canonical name that two joints have, or a joint
    no further out along its chain (_CHAINS) than the nearest joint above it on that chain."""
    seen: dict[str, int] = {}
    for c in reading.values():
        seen[c] = seen.get(c, 0) + 1
    out = {n for n, c in reading.items() if seen[c] > 1}
    for j, name in enumerate(names):
        chain, rank = _ALONG.get(reading.get(name), (None, 0))
        p = parents[j] if chain is not None else -1
        while p >= 0 and _ALONG.get(reading.get(names[p]), (None, 0))[0] != chain:
            p = parents[p]
        if p >= 0 and _ALONG[reading[names[p]]][1] >= rank:
            out.add(name)
    return out


def _preset_name(name: str) -> str:
    s = strip_namespace(name).lower()
    for p in _PRESET_PREFIXES:
        if s.startswith(p):
            return s[len(p):]
    return s


def _generic(name: str) -> str | None:
    side, base = canonical_key(name).split("|")
    c = GENERIC.get(base)
    if c is None:
        return None
    sided = c not in _UNSIDED
    if sided != bool(side):
        return None
    return f"{'left' if side == 'l' else 'right'}_{c}" if sided else c


def _generic_fingers(canon: dict[str, str], names: Sequence[str]) -> None:
    """Sided finger joints no preset knows (``Index1.L``, ``IndexFinger2_R``, ``middle_03_l``, ``L_Thumb0``):
    ``{side}_{finger}{k}``, each finger's joints numbered from 1 at its base (a finger numbered from 0
    is shifted), 4 the tip."""
    found: dict[tuple[str, str], list[tuple[int, str]]] = {}
    for name in names:
        side, base = canonical_key(name).split("|")
        hit = _FINGER_NAME.match(base)
        if hit and side and name not in canon:
            finger = _FINGER_WORDS.get(hit.group(1), hit.group(1))
            found.setdefault(("left" if side == "l" else "right", finger), []).append((int(hit.group(2)), name))
    taken = set(canon.values())
    for (side, finger), joints in found.items():
        shift = 1 - min(k for k, _ in joints) if min(k for k, _ in joints) == 0 else 0
        for k, name in sorted(joints, key=lambda kn: kn[1].startswith("_")):       # helpers yield
            c = f"{side}_{finger}{k + shift}"
            if 1 <= k + shift <= 4 and c not in taken:
                canon[name] = c
                taken.add(c)


def _collar_or_shoulder(canon: dict[str, str], names: Sequence[str], once: bool = True) -> None:
    """A generic 'shoulder' bone is the collar when the same side also has an upper-arm bone; ``once``:
    only the first of several (a generated Rigify rig's ``ORG-shoulder.L``, ``DEF-shoulder.L`` and its
    control ``shoulder.L``) takes the name, as every other name is taken once (else all do: a reading
    that keeps the names two joints share, _reading)."""
    for name in names:
        side, base = canonical_key(name).split("|")
        if base == "shoulder" and side and name not in canon:
            s = "left" if side == "l" else "right"
            c = f"{s}_collar" if f"{s}_shoulder" in canon.values() else f"{s}_shoulder"
            if not once or c not in canon.values():
                canon[name] = c


def _spine_chain(canon: dict[str, str], names: Sequence[str], parents: Sequence[int]) -> None:
    """spine1..spine3 on the joints between the pelvis and the neck (or the collars' common parent)."""
    where = {c: names.index(n) for n, c in canon.items()}
    if "pelvis" not in where or {"spine1", "spine2", "spine3"} & set(where):
        return
    if "neck" in where:
        top, include_top = where["neck"], False
    elif "left_collar" in where and "right_collar" in where:
        top, include_top = _common_parent(where["left_collar"], where["right_collar"], parents), True
    else:
        return
    chain = []
    j = top if include_top else parents[top]
    while j >= 0 and j != where["pelvis"]:
        chain.append(j)
        j = parents[j]
    if j != where["pelvis"] or not chain:
        return
    chain.reverse()
    picks = {"spine3": chain[-1]}
    if len(chain) >= 2:
        picks["spine1"] = chain[0]
    if len(chain) >= 3:
        picks["spine2"] = chain[(len(chain) - 1) // 2]
    for c, j in picks.items():
        if names[j] not in canon:
            canon[names[j]] = c


def _common_parent(a: int, b: int, parents: Sequence[int]) -> int:
    above = set()
    while a >= 0:
        a = parents[a]
        above.add(a)
    while b >= 0 and b not in above:
        b = parents[b]
    return b


def _head_top(canon: dict[str, str], names: Sequence[str], parents: Sequence[int]) -> None:
    """The only leaf or tip under the head is its top when nothing else claims it."""
    if "head" not in canon.values() or "head_top" in canon.values():
        return
    head = names.index(next(n for n, c in canon.items() if c == "head"))
    kids = [j for j, p in enumerate(parents) if p == head and names[j] not in canon]
    if len(kids) == 1 and kids[0] not in parents:
        canon[names[kids[0]]] = "head_top"


# ----------------------------------------------------------------------------- proposing
def _tips_at_their_joint(rig_names: Sequence[str], rig_parents: Sequence[int], num_joints: int,
                         reference: np.ndarray) -> set[str]:
    """Names of the End Sites (``rig_names`` after the first ``num_joints``) that sit on their joint in
    the ``reference`` pose [N,3]: a head-top or toe-tip point mapped onto one gave its joint a target at
    its own position, a bone of no direction (the Bandai and Xia rigs' zero-length ``Head_end`` and
    toe ends: the head and toes turned by up to 180 degrees in a frame)."""
    size = float(np.ptp(reference, axis=0).max()) if len(reference) else 0.0
    return {rig_names[k] for k in range(num_joints, len(rig_names))
            if np.linalg.norm(reference[k] - reference[rig_parents[k]]) <= 1e-9 * size}


def propose_map(rig_names: Sequence[str], rig_parents: Sequence[int], num_joints: int, reference: np.ndarray,
                up: np.ndarray, points: Sequence[str], point_canonical: dict[str, str], virtual: dict | None = None,
                landmarks: frozenset = frozenset(), places: dict[str, int] | None = None) -> Proposal:
    """Propose a map for a rig (``rig_names``: its ``num_joints`` joints then its End Sites,
    ``rig_parents`` indices, ``reference`` [N,3] its reference pose, ``up`` its up vector) onto points
    with canonical names ``point_canonical`` and the layout's virtual points ``virtual`` (canonical ->
    source); ``landmarks``: surface points, used only where no joint-centre point has the name. A
    joint left unmapped whose name matches a point's as name matching reads them (_named_alike: tracks
    exported from this rig, under its prefix or without it; a creature no anatomical name fits) takes
    that point, so the proposal maps every joint name matching would, unless their anatomical names
    tell them apart (a layout's ``spine`` is its mid-spine, spine2; a Mixamo rig's ``Spine`` its lowest,
    spine1). ``places`` ({point: place}, points at one place alike; None: every point has its own):
    of rig joints whose points are at one place, only the first (parents first) keeps its point where
    the rig holds them apart (see one_joint_a_place)."""
    canon, family = canonical_names(rig_names, rig_parents)
    by_canon: dict[str, str] = {}
    for p in sorted(points, key=lambda p: p in landmarks):       # joint-centre points before landmarks
        c = point_canonical.get(p)
        if c and c not in by_canon:
            by_canon[c] = p
    bones: dict = {}
    doubtful: dict[str, str] = {}
    at_joint = _tips_at_their_joint(rig_names, rig_parents, num_joints, reference)
    canon = {n: c for n, c in canon.items() if n not in at_joint}
    for name in rig_names:
        c = canon.get(name)
        if c in by_canon:
            bones[name] = by_canon[c]
        elif c and virtual and c in virtual and set(source_names(virtual[c])) <= set(points):
            bones[name] = virtual[c]
    used = _used_points(bones)
    for name, point in _named_alike(rig_names, rig_parents, num_joints, points).items():
        told_apart = None not in (canon.get(name), point_canonical.get(point)) and canon[name] != point_canonical[point]
        if name not in bones and point not in used and name not in at_joint and not told_apart:
            bones[name], used = point, used | {point}
    for name in rig_names:
        c = canon.get(name)
        if name in bones or not c:
            continue
        side = c.split("_")[0]
        for pattern, other in STAND_INS.items():
            if pattern.format(side=side) == c and other.format(side=side) in by_canon:
                p = by_canon[other.format(side=side)]
                if p not in used:
                    bones[name], used = p, used | {p}
                    doubtful[name] = f"stands in: rig {c} from point {p} ({other.format(side=side)})"
    bones = one_joint_a_place(rig_names, bones, places or {}, reference)
    legs = _mapped_legs(bones, canon, rig_names)
    for bone, why in _geometry_doubts(bones, canon, rig_names, reference, up, legs).items():
        doubtful[bone] = f"{doubtful[bone]}; {why}" if bone in doubtful else why
    mapped = np.array([n in bones for n in rig_names])
    lead = marked_or_above(rig_parents, mapped)
    names, used_points = list(rig_names), _used_points(bones)
    return Proposal(
        bone_map=BoneMap(bones={n: bones[n] for n in names if n in bones}), family=family, doubtful=doubtful,
        between=[n for n, m, l in zip(names, mapped, lead) if l and not m],
        kept=[n for n, l in zip(names[:num_joints], lead) if not l],
        unused=[p for p in points if p not in used_points], legs=legs)


def one_joint_a_place(rig_names: Sequence[str], bones: dict, places: dict[str, int], reference: np.ndarray
                      ) -> dict:
    """``bones`` (rig joint -> point or recipe) where a joint whose point is at the place (``places``:
    {point: place}) of an earlier joint's of ``rig_names`` (parents first) is left out where the
    ``reference`` pose [N,3] holds the two apart (SHARED_APART of its size): another skeleton's points
    at one place (zero-length bones: the Xia rig's ``Spine1``, ``Neck`` and both collars, ``LThumb`` on
    ``LeftHand``) gave joints the rig holds apart one target, and the chest folded and flipped in
    every frame; such a joint is placed between its mapped neighbours instead."""
    apart = SHARED_APART * (float(np.ptp(reference, axis=0).max()) if len(reference) else 0.0)
    first: dict[int, int] = {}
    out = {}
    for j, name in enumerate(rig_names):
        src = bones.get(name)
        place = places.get(src) if isinstance(src, str) else None
        if src is None or place in first and np.linalg.norm(reference[j] - reference[first[place]]) > apart:
            continue
        if place is not None:
            first.setdefault(place, j)
        out[name] = src
    return out


def stand_in_joints(rig_names: Sequence[str], rig_parents: Sequence[int], bones: dict,
                    point_canonical: dict[str, str]) -> np.ndarray:
    """[J] the rig joints (``rig_names`` [J], a tree with ``rig_parents``) that ``bones`` (a map's
    joint -> point or recipe) drives from one point standing in for another place of the performer
    (STAND_INS: a toe base from a toe-tip landmark), by the joints' canonical names and the points'
    (``point_canonical``, {point: canonical name}) - as propose_map lists them as doubtful, for maps
    written by hand too."""
    canon = canonical_names(rig_names, rig_parents)[0]
    out = np.zeros(len(rig_names), bool)
    for j, name in enumerate(rig_names):
        c, point = canon.get(name), bones.get(name)
        if not c or not isinstance(point, str) or point not in point_canonical:
            continue
        side = c.split("_")[0]
        out[j] = any(pattern.format(side=side) == c and other.format(side=side) == point_canonical[point]
                     for pattern, other in STAND_INS.items())
    return out


def _named_alike(rig_names: Sequence[str], rig_parents: Sequence[int], num_joints: int,
                 points: Sequence[str]) -> dict[str, str]:
    """{rig joint or End Site: point} as name matching pairs them (names.match_names, as Blender's
    solve without a map does: exact, case aside, canonical key; a leaf's End Site from a point named
    as its tip, ``<bone>_end``): tracks exported from this rig, or from it under another prefix
    (``DEF-``, ``mixamorig:``, ``CC_Base_``)."""
    ends = {rig_parents[k]: rig_names[k] for k in range(num_joints, len(rig_names))}
    match = match_names(list(rig_names), list(points), [rig_names[j] for j in ends])
    tips = {ends[rig_names.index(bone)]: point for bone, point in match.end_to_track.items()}
    return match.bone_to_track | {end: point for end, point in tips.items() if end not in match.bone_to_track}


def _used_points(bones: dict) -> set[str]:
    return {n for src in bones.values() for n in source_names(src)}


def _geometry_doubts(bones: dict, canon: dict[str, str], names: Sequence[str], reference: np.ndarray,
                     up: np.ndarray, legs: list[tuple[int, int, int]]) -> dict[str, str]:
    """Mapped sided joints lying on the other side of the body (the body's left is found from where
    the toes point, else from the left-right pairs themselves), and ``legs`` (_mapped_legs) whose knee
    is not between hip and ankle in height, in the rig's reference pose."""
    where = {c: names.index(n) for n, c in canon.items()}
    mapped = {c: j for c, j in where.items() if names[j] in bones}
    left = _left_axis(where, reference, up)
    out: dict[str, str] = {}
    if left is not None:
        middle = np.mean([reference[j] for c, j in where.items() if c.startswith(("left_", "right_"))], axis=0)
        for c, j in mapped.items():
            side = c.split("_")[0]
            if side in ("left", "right") and np.dot(reference[j] - middle, left) * (1 if side == "left" else -1) < 0:
                out[names[j]] = f"mapped as {c} but lies on the other side of the rig"
    for leg in legs:
        if not legs_stand(reference, [leg], up):
            out[names[leg[1]]] = NOT_STANDING
    return out


def map_legs(bones: dict, names: Sequence[str], parents: Sequence[int]) -> list[tuple[int, int, int]]:
    """(hip, knee, ankle) joint indices of each side whose three joints ``bones`` (rig joint -> point)
    maps, the rig's joints ``names`` read as the automatic map reads them (``parents`` [J])."""
    return _mapped_legs(bones, canonical_names(names, parents)[0], names)


def _mapped_legs(bones: dict, canon: dict[str, str], names: Sequence[str]) -> list[tuple[int, int, int]]:
    """(hip, knee, ankle) indices into ``names`` of each side whose three joints ``bones`` maps."""
    where = {c: names.index(n) for n, c in canon.items() if n in bones}
    return [tuple(where[f"{side}_{p}"] for p in ("hip", "knee", "ankle")) for side in ("left", "right")
            if all(f"{side}_{p}" in where for p in ("hip", "knee", "ankle"))]


def legs_stand(points: np.ndarray, legs: list[tuple[int, int, int]], up: np.ndarray) -> np.ndarray:
    """[...] whether, in poses ``points`` [...,N,3], every one of ``legs`` (hip, knee, ankle indices)
    has its knee below its hip and above its ankle along the unit ``up`` [3]."""
    return _standing_margin(points, legs, up) > 0.0


def _standing_margin(points: np.ndarray, legs: list[tuple[int, int, int]], up: np.ndarray) -> np.ndarray:
    """[...] the least, over ``legs`` and their two bones, of how far a bone's upper joint lies above its
    lower one along ``up`` as a share of the bone's length (1: the bone straight down), in poses
    ``points`` [...,N,3]; 1 where no leg is given."""
    margin = np.ones(points.shape[:-2])
    for leg in legs:
        for upper, lower in zip(leg[:-1], leg[1:]):
            bone = points[..., upper, :] - points[..., lower, :]
            margin = np.minimum(margin, (bone @ up) / np.maximum(np.linalg.norm(bone, axis=-1), 1e-300))
    return margin


def standing_frame(positions: np.ndarray, legs: list[tuple[int, int, int]], up: np.ndarray) -> int | None:
    """The rig's own frame (joint positions [T,N,3]) whose ``legs`` stand straightest (every leg bone
    nearest straight down, _standing_margin): a reference pose to offer where the rest pose does not
    stand (a Character Creator export's rest pose has the legs pointing up; its frames stand); None
    where no frame stands or no leg is mapped."""
    if not legs or not len(positions):
        return None
    margin = _standing_margin(positions, legs, up)
    best = int(np.argmax(margin))
    return best if margin[best] > 0.0 else None


#: the doubt on a leg whose hip, knee and ankle do not stand one above the other (the interfaces add
#: how to give a reference pose)
NOT_STANDING = ("hip, knee and ankle are not one above the other in the reference pose: the legs' rows may be "
                "wrong; give the rig a standing reference pose or check those rows")


def foot_pairs(where: dict[str, int]) -> list[tuple[int, int]]:
    """(ankle, toe) indices of each side's foot among joints by canonical name ``where`` (the toe:
    the foot joint, else the toe tip); a side without both is left out."""
    toes = [(where[f"{s}_ankle"], where.get(f"{s}_foot", where.get(f"{s}_toe_tip"))) for s in ("left", "right")
            if f"{s}_ankle" in where]
    return [(a, t) for a, t in toes if t is not None]


def sided_pairs(where: dict[str, int], parts: Sequence[str]) -> list[tuple[int, int]]:
    """(left, right) indices of the ``parts`` (hip, shoulder, ...) that joints by canonical name
    ``where`` have on both sides."""
    return [(where[f"left_{p}"], where[f"right_{p}"]) for p in parts if f"left_{p}" in where and f"right_{p}" in where]


def _left_axis(where: dict[str, int], reference: np.ndarray, up: np.ndarray) -> np.ndarray | None:
    """The body's left (unit, across ``up``): up x forward with forward where the toes point from the
    ankles; without feet, the mean left-minus-right offset of the sided pairs (which cannot tell a
    mirrored rig); None when neither is there."""
    toes = foot_pairs(where)
    if toes:
        forward = np.mean([reference[t] - reference[a] for a, t in toes], axis=0)
        forward -= np.dot(forward, up) * up
        if np.linalg.norm(forward) > 0:
            return normalize(np.cross(up, forward))
    pairs = sided_pairs(where, ("hip", "shoulder", "collar", "knee", "elbow"))
    if not pairs:
        return None
    across = np.mean([reference[a] - reference[b] for a, b in pairs], axis=0)
    across -= np.dot(across, up) * up
    return normalize(across) if np.linalg.norm(across) > 0 else None
