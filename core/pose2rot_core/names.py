"""Joint names: canonical keys and matching track names to bone names (pure Python, no bpy).

The one home for both: Blender's name matching (panel and solve) and the automatic bone maps
(``automap``) use the same :func:`canonical_key`.

Matching rules, tried in this order; each track is used once and every tier only looks at what the
earlier tiers left over:

1. exact name;
2. same name ignoring case;
3. same *canonical key*: the name lower-cased, with a namespace before the last ``:`` or ``|``
   dropped (``mixamorig:Hips`` -> ``hips``), a known rig prefix dropped (``mixamorig``,
   ``DEF-``, ``ORG-``, ``MCH-``, ``Bip01``, ``CC_Base_``, ``b_``), the side read from a
   ``Left``/``Right`` word, a one-letter ``L``/``R`` token at either end (``.L``, ``_l``,
   ``-R``, ``L_``, ``r.``) or a one-letter side before a capitalised word (``RShoulder``), and
   separators (space ``_`` ``.`` ``-``) removed. So ``upper_arm.L``, ``UpperArm_L``, ``L_UpperArm``,
   ``LUpperArm`` and ``mixamorig:LeftUpperArm`` share one key; Blender's
   number suffix (``Hips.001``) is tried with the key first (a rig's numbered segments,
   ``DEF-spine.003`` for ``spine.003``), then ignored (a duplicate from a second import).

A key that two bones or two tracks share is ambiguous and matches nothing at tier 3.
Tracks left over after bones are matched may aim a leaf bone's tail: ``<bone>_end``,
``<bone>.end``, ``<bone>_tail``, ``<bone>End`` or ``<bone>_tip`` (the bone part matched by the same
tiers); of numbered tips (``<bone>_end``, ``<bone>_end2``, ...: a joint with several End Sites) the
last, where Blender's BVH importer puts the tail.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Container, Sequence

_NAMESPACE = re.compile(r"^.*[:|]")
DUPLICATE = re.compile(r"\.\d{3}$")
_PREFIXES = ("mixamorig", "def-", "def_", "org-", "org_", "mch-", "mch_", "bip01", "bip001",
             "cc_base_", "b_")
_SEP = re.compile(r"[\s_.\-]+")
_SIDE_WORDS = {"left": "l", "right": "r"}
_END_SUFFIX = re.compile(r"(?:[\s_.\-]*(?:end|tail|tip|endsite|end_site))(\d*)$", re.IGNORECASE)


def strip_namespace(name: str) -> str:
    """The name without a namespace (``mixamorig7:Hips`` -> ``Hips``, ``Armature|Hips`` -> ``Hips``)."""
    return _NAMESPACE.sub("", name.strip())


#: a one-letter side before a capitalised word, at the start or after a separator (OpenPose's ``RShoulder``,
#: ``LHip``; Daz's ``lShldr``; ``Bip01_LHand``)
_CAMEL_SIDE = re.compile(r"(^|[\s_.\-])([LlRr])(?=[A-Z][a-z])")


def canonical_key(name: str) -> str:
    """Canonical form of a joint name: ``side|base`` with side in {"l", "r", ""}."""
    s = _CAMEL_SIDE.sub(r"\1\2_", strip_namespace(DUPLICATE.sub("", name.strip()))).lower()
    for p in _PREFIXES:
        if s.startswith(p) and len(s) > len(p):
            s = s[len(p):]
            break
    side = ""
    tokens = [t for t in _SEP.split(s) if t]
    if len(tokens) > 1 and tokens[-1] in ("l", "r"):
        side, tokens = tokens[-1], tokens[:-1]
    elif len(tokens) > 1 and tokens[0] in ("l", "r"):
        side, tokens = tokens[0], tokens[1:]
    base = "".join(tokens)
    if not side:
        for word, letter in _SIDE_WORDS.items():
            if base.startswith(word) and len(base) > len(word):
                side, base = letter, base[len(word):]
                break
            if base.endswith(word) and len(base) > len(word):
                side, base = letter, base[: -len(word)]
                break
    return f"{side}|{base}"


def numbered_copies(names: Sequence[str], points: Container[str]) -> dict[str, str]:
    """{point: name} for each of ``points`` that none of ``names`` carries while exactly one of them
    carries it with Blender's duplicate suffix (``left_hip.001``: the same points imported again into
    one file, Blender's names being unique); two such copies of one point leave it out (which take
    is meant is the user's to say), and so does a name that ``points`` ask for itself (a chain's
    numbered segment, ``spine.001``)."""
    present = set(names)
    found: dict[str, list[str]] = {}
    for n in names:
        point = DUPLICATE.sub("", n)
        if point != n and point in points and point not in present and n not in points:
            found.setdefault(point, []).append(n)
    return {point: copies[0] for point, copies in found.items() if len(copies) == 1}


def numbered_key(name: str) -> str:
    """canonical_key with Blender's number suffix kept (``DEF-spine.003`` -> ``|spine.003``): the
    segments of one chain (``spine``, ``spine.001``, ...) are different joints, not duplicates."""
    number = DUPLICATE.search(name.strip())
    return canonical_key(name) + (number.group(0) if number else "")


_WORDS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
_MIRROR = {"l": "r", "r": "l", "left": "right", "right": "left"}
#: an exporter's tag that makes names unique (Truebones' ``Bip01_L_Thigh__UfG``, ``BN_Tail_L_01__Qcw_end``):
#: a double underscore and letters or digits at the end of the name or before an End Site's ``_end``
_TAG = re.compile(r"__([A-Za-z0-9]+)(?=(?:_end\d*)?$)")


def _untagged(names: Sequence[str]) -> list[str]:
    """The names without an exporter's tag (_TAG) where every name carries one that is no side word: a
    tag the exporter adds to every joint tells no joint from its mirror (``Bip01_L_Thigh__UfG`` and
    ``Bip01_R_Thigh__qPK``); the names as given where any lacks one."""
    plain = [strip_namespace(n) for n in names]
    tags = [_TAG.search(n) for n in plain]
    if not names or any(t is None or t.group(1).lower() in _MIRROR for t in tags):
        return plain
    return [n[:t.start()] + n[t.end():] for n, t in zip(plain, tags)]


def _glued(word: str) -> str | None:
    """The mirror of a word of one case that starts with a side (``lfemur`` -> ``rfemur``, ``LHIP`` ->
    ``rhip``, ``lefthand`` -> ``righthand``; lower-cased), else None."""
    if word.lower() in _MIRROR or not (word.islower() or word.isupper()):
        return None
    w = word.lower()
    for side in ("left", "right", "l", "r"):
        if w.startswith(side) and len(w) > len(side) + 1:
            return _MIRROR[side] + w[len(side):]
    return None


def _mirrors(w: tuple[str, ...], glued: tuple[str | None, ...]) -> list[tuple[tuple[str, ...], bool]]:
    """(words of a possible mirror, whether its side is glued to a word) of a name's words ``w`` (lower
    case; ``glued``: each word's _glued mirror) that reads as a left one."""
    out = [(w[:k] + (_MIRROR[x],) + w[k + 1:], False) for k, x in enumerate(w) if x in ("l", "left")]
    return out + [(w[:k] + (g,) + w[k + 1:], True) for k, g in enumerate(glued)
                  if g is not None and w[k].startswith("l")]


def mirror_pairs(names: Sequence[str]) -> list[tuple[int, int]]:
    """(left, right) indices of the names that differ only by one side word (``LeftKnee`` and
    ``RightKnee``, ``rShldr`` and ``lShldr``, ``Leg_L_09`` and ``Leg_R_09``, ``knee.L`` and
    ``knee.R``), read word by word (separators and camel case split them), case aside; a name whose
    words another name shares is in no pair. A side glued to a word of one case (the ASF names
    ``lfemur`` and ``rfemur``) counts where two or more pairs read so: a naming of the whole skeleton,
    not one coincidence (``lip`` and ``rip``). An exporter's tag on every name is left out (_untagged)."""
    found_words = [_WORDS.findall(n) for n in _untagged(names)]
    words = [tuple(x.lower() for x in w) for w in found_words]
    glued = [tuple(_glued(x) for x in w) for w in found_words]
    index = {w: i for i, w in enumerate(words) if words.count(w) == 1}
    pairs, by_glue = [], []
    for w, i in index.items():
        found = [(index[m], g) for m, g in _mirrors(w, glued[i]) if m in index]
        if len(found) == 1:
            (pairs, by_glue)[found[0][1]].append((i, found[0][0]))
    return sorted(pairs + (by_glue if len(by_glue) >= 2 else []))


@dataclass
class NameMatch:
    """Result of :func:`match_names`.

    bone_to_track: bone name -> track name (joints).
    end_to_track: leaf bone name -> track name of its tail.
    unmatched_bones / unmatched_tracks: what found no partner (in input order).
    ambiguous: canonical keys that several bones or tracks share; ambiguous_tracks: the tracks
    with such a key (two characters' sets of points in one collection), which drive no bone.
    """

    bone_to_track: dict[str, str] = field(default_factory=dict)
    end_to_track: dict[str, str] = field(default_factory=dict)
    unmatched_bones: list[str] = field(default_factory=list)
    unmatched_tracks: list[str] = field(default_factory=list)
    ambiguous: list[str] = field(default_factory=list)
    ambiguous_tracks: list[str] = field(default_factory=list)


def _tiered(bones: Sequence[str], tracks: Sequence[str], ambiguous: set[str]) -> dict[str, str]:
    """bone -> track by exact, case-insensitive, numbered canonical, then canonical name (each track
    once); only the last tier's shared keys are ``ambiguous``."""
    out: dict[str, str] = {}
    taken: set[str] = set()
    for keyf in (lambda n: n, str.lower, numbered_key, canonical_key):
        left = [b for b in bones if b not in out]
        if not left:
            break
        by_key: dict[str, list[str]] = {}
        for t in tracks:
            if t not in taken:
                by_key.setdefault(keyf(t), []).append(t)
        bone_keys: dict[str, list[str]] = {}
        for b in left:
            bone_keys.setdefault(keyf(b), []).append(b)
        for key, bs in bone_keys.items():
            ts = by_key.get(key, [])
            if not ts:
                continue
            if len(bs) > 1 or len(ts) > 1:
                if keyf is canonical_key:
                    ambiguous.add(key)
                continue
            out[bs[0]] = ts[0]
            taken.add(ts[0])
    return out


def _tip_part(track: str) -> tuple[str, int]:
    """(the bone part, the number) of a track named as a bone tip (``Wrist_end`` is 1,
    ``Wrist_end3.001`` 3); ("", 0) for any other."""
    plain = DUPLICATE.sub("", track)
    found = _END_SUFFIX.search(plain)
    if not found or not found.start():
        return "", 0
    return plain[:found.start()], int(found.group(1) or 1)


def _tail_tracks(tracks: Sequence[str]) -> dict[str, str]:
    """{bone part: track} of the tracks named as a tip (``<bone>_end``, ...); of a bone's numbered
    tips (``<bone>_end``, ``<bone>_end2``, ...: a joint's End Sites in file order, as Import Tracks
    names them) the last, on which Blender's BVH importer puts the bone's tail."""
    tips: dict[str, tuple[int, str]] = {}
    for t in tracks:
        base, number = _tip_part(t)
        if base and (base not in tips or number > tips[base][0]):
            tips[base] = (number, t)
    return {base: t for base, (_, t) in tips.items()}


def other_tips(tip: str, tracks: Sequence[str]) -> list[str]:
    """The tracks named as further tips of the bone that the tip track ``tip`` aims (``Wrist_end``
    and ``Wrist_end2`` beside ``Wrist_end3``)."""
    base = _tip_part(tip)[0]
    return [t for t in tracks if t != tip and base and _tip_part(t)[0] == base]


def further_tips(match: NameMatch, known: Container[str]) -> dict[str, list[str]]:
    """{leaf bone: the unmatched tracks named as its further tips (other_tips of the one that aims
    its tail) that are among ``known``}, for bones that have any."""
    out = {bone: [t for t in other_tips(tail, match.unmatched_tracks) if t in known]
           for bone, tail in match.end_to_track.items()}
    return {bone: tips for bone, tips in out.items() if tips}


def match_names(bone_names: Sequence[str], track_names: Sequence[str],
                leaf_bones: Sequence[str] = ()) -> NameMatch:
    """Match tracks to bones (see the module docstring for the rules).

    bone_names: every bone of the armature; track_names: every tracked point;
    leaf_bones: bones without children, whose tails may be aimed by ``<bone>_end`` tracks.
    """
    amb: set[str] = set()
    joints = _tiered(bone_names, track_names, amb)
    matched = set(joints.values())
    used = set(matched)
    rest = [t for t in track_names if t not in used]
    stripped = _tail_tracks(rest)
    ends_by_base = _tiered(list(leaf_bones), list(stripped), set())
    ends = {b: stripped[base] for b, base in ends_by_base.items()}
    used |= set(ends.values())
    return NameMatch(
        bone_to_track=joints, end_to_track=ends,
        unmatched_bones=[b for b in bone_names if b not in joints],
        unmatched_tracks=[t for t in track_names if t not in used],
        ambiguous=sorted(amb),
        ambiguous_tracks=[t for t in track_names if amb and t not in matched and canonical_key(t) in amb])


def ambiguity_warnings(match: NameMatch, bone_names: Sequence[str]) -> list[str]:
    """Warnings naming the tracks left out because their names match alike (NameMatch.ambiguous_tracks),
    by cause: two or more bones of one name (a deform and a control chain: 'DEF-thigh.L' and
    'ORG-thigh.L' for 'thigh.L'), or two or more tracks for one bone (two sets of empties)."""
    by_key: dict[str, list[str]] = {}
    for bone in bone_names:
        by_key.setdefault(canonical_key(bone), []).append(bone)
    twins = [t for t in match.ambiguous_tracks if len(by_key.get(canonical_key(t), [])) > 1]
    shared = [t for t in match.ambiguous_tracks if t not in twins]
    out = []
    if twins:
        example = min(twins, key=lambda t: len(by_key[canonical_key(t)]))  # the plainest case
        bones = by_key[canonical_key(example)]
        out.append(f"{len(twins)} {'empty matches' if len(twins) == 1 else 'empties match'} two or more bones alike "
                   f"and drive{'s' if len(twins) == 1 else ''} none: '{example}' matches "
                   + " and ".join(f"'{b}'" for b in bones[:3]) + (" and more" if len(bones) > 3 else "")
                   + ": name each empty exactly as the bone it drives")
    if shared:
        out.append(f"{len(shared)} empties match one bone alike and drive none: " + ", ".join(shared[:6])
                   + ("…" if len(shared) > 6 else "") + " (two sets of empties in one collection? name each empty "
                   "exactly as its bone, or keep one set per collection)")
    return out


#: a track that drives no bone is taken for a misspelling of a bone without one where the two names are
#: this alike (difflib's ratio of their canonical bases, the side the same; numbered segments apart)
MISSPELT_RATIO = 0.8


def misspelt_warnings(match: NameMatch) -> list[str]:
    """A warning naming the tracks that drive no bone whose names are like those of bones that have
    none ('wirst' for 'wrist', 'LeftHnad' for 'mixamorig:LeftHand'; the side the same, numbered segments
    such as 'Spine1' and 'Spine2' not taken for each other): such a bone is placed between its
    neighbours, or keeps its reference rotation, instead of following its track."""
    bones = {b: canonical_key(b).split("|") for b in match.unmatched_bones}
    pairs = []
    for track in match.unmatched_tracks:
        side, base = canonical_key(track).split("|")
        alike = [b for b, (b_side, b_base) in bones.items() if b_side == side and _misspelt(base, b_base)]
        if len(alike) == 1:
            pairs.append(f"'{track}' (bone '{alike[0]}')")
    if not pairs:
        return []
    return [f"{len(pairs)} {'empty drives' if len(pairs) == 1 else 'empties drive'} no bone where a bone of a like "
            f"name has no empty: " + ", ".join(pairs[:6]) + ("…" if len(pairs) > 6 else "")
            + ": misspelt? Name each empty exactly as the bone it drives"]


def _misspelt(a: str, b: str) -> bool:
    """Whether canonical bases ``a`` and ``b`` differ as a misspelling does (see misspelt_warnings): alike
    to MISSPELT_RATIO, or the same letters in another order ('hnad')."""
    if a == b or re.sub(r"\d", "", a) == re.sub(r"\d", "", b):
        return False
    return sorted(a) == sorted(b) or difflib.SequenceMatcher(None, a, b).ratio() >= MISSPELT_RATIO

