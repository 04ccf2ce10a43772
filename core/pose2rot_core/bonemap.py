"""Bone maps (MAP.json): which point drives which joint of a rig.

The file::

    {"bones": {"<rig joint>": "<point>" | {"mean": ["<point>", ...]} | {"lerp": ["<a>", "<b>", t]}},
     "points": {"<name>": <source>, ...}}

``bones`` maps rig joints (or rig End Sites, named ``<joint>_end``) to a *source*: a point of the
tracks, or a *virtual point*: the mean of several sources, or ``a + t (b - a)``. The optional
``points`` section names virtual points that sources may use like points (they may build on each
other, never on themselves). Other keys are kept and ignored. A joint mapped straight to a point
lands on it; virtual points are soft targets (see :mod:`pose2rot_core.retarget`).
"""
from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from .errors import Pose2RotError, missing_file, unicode_text, write_whole
from .layouts import Source
from .names import numbered_key

#: how far a "lerp" may reach past its two points (t = 0 at a, 1 at b): once their distance either way
LERP_REACH = (-1.0, 2.0)


@dataclass
class BoneMap:
    """bones: rig joint -> source; points: named virtual points; extra: other keys of the file."""

    bones: dict
    points: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)

    def is_direct(self, joint: str) -> bool:
        """True when ``joint`` is mapped straight to a real point (not a virtual one)."""
        src = self.bones.get(joint)
        return isinstance(src, str) and src not in self.points

    def to_json(self) -> dict:
        out = {"bones": self.bones}
        if self.points:
            out["points"] = self.points
        return out | {k: v for k, v in self.extra.items() if k not in out}


# ----------------------------------------------------------------------------- parsing
def parse_map(data: object, where: str = "map") -> BoneMap:
    """A BoneMap from decoded JSON, checking its shape (names are checked by :func:`check_map`)."""
    if not isinstance(data, dict) or not isinstance(data.get("bones"), dict):
        raise Pose2RotError(f"{where}: expected an object with a \"bones\" object, e.g. "
                            "{\"bones\": {\"Hips\": \"pelvis\"}}")
    if not data["bones"]:
        raise Pose2RotError(f"{where}: \"bones\" is empty; map at least the rig's root or one of its children")
    points = data.get("points", {})
    if not isinstance(points, dict):
        raise Pose2RotError(f"{where}: \"points\" must be an object of named virtual points")
    for section, entries in (("bones", data["bones"]), ("points", points)):
        for name, src in entries.items():
            _check_source(src, f"{where}: {section} '{name}'")
    extra = {k: v for k, v in data.items() if k not in ("bones", "points")}
    for key in extra:  # other entries are kept as given; one spelt nearly as a section was meant as it
        meant = difflib.get_close_matches(str(key).strip().lower(), ["bones", "points"], n=1, cutoff=0.8)
        if meant:
            raise Pose2RotError(f"{where}: \"{key}\" is not a section of a map; did you mean \"{meant[0]}\"?")
    return BoneMap(bones=dict(data["bones"]), points=dict(points), extra=extra)


def _check_source(src: object, where: str) -> None:
    if isinstance(src, str):
        if not src.strip():
            raise Pose2RotError(f"{where}: empty point name")
        return
    if not isinstance(src, dict) or len(src) != 1 or next(iter(src)) not in ("mean", "lerp"):
        raise Pose2RotError(f"{where}: a source is a point name, {{\"mean\": [...]}} or {{\"lerp\": [a, b, t]}}, "
                            f"got {json.dumps(src)[:80]}")
    kind, args = next(iter(src.items()))
    if not isinstance(args, list) or not args:
        raise Pose2RotError(f"{where}: \"{kind}\" needs a list of "
                            f"{'points' if kind == 'mean' else '[a, b, t]'}, got {json.dumps(args)[:80]}")
    if kind == "lerp":
        if len(args) != 3 or isinstance(args[2], bool) or not isinstance(args[2], (int, float)) \
                or not np.isfinite(args[2]):
            raise Pose2RotError(f"{where}: \"lerp\" is [a, b, t] with a number t (0 = a, 1 = b), "
                                f"got {json.dumps(args)[:80]}")
        if not LERP_REACH[0] <= args[2] <= LERP_REACH[1]:
            raise Pose2RotError(f"{where}: \"lerp\" t is {args[2]:g}, a point {abs(args[2] - (args[2] > 1)):g} times "
                                f"as far past {'b' if args[2] > 1 else 'a'} as a and b are apart; t runs from 0 (a) "
                                f"to 1 (b), from {LERP_REACH[0]:g} to {LERP_REACH[1]:g} to reach past them")
        args = args[:2]
    for a in args:
        _check_source(a, where)


def load_map(path: str | Path) -> BoneMap:
    """Read MAP.json (UTF-8, or UTF-16 with its byte-order mark: an editor's "Unicode")."""
    path = Path(path)
    if not path.is_file():
        raise (missing_file(path, "map") if not path.is_dir()
               else Pose2RotError(f"map path '{path}' is a directory; give the .json file"))
    try:
        data = json.loads(unicode_text(path.read_bytes()), object_pairs_hook=_no_key_twice(path.name))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise Pose2RotError(f"{path.name}: not valid JSON ({e})") from None
    except RecursionError:                                  # Python's reader recurses once per nested list
        raise Pose2RotError(f"{path.name}: its lists or objects are nested too deeply to read; a map is "
                            '{"bones": {...}} with sources a few levels deep') from None
    return parse_map(data, path.name)


def _no_key_twice(where: str):
    """A json object hook that refuses an object naming a key twice (JSON would keep the last one
    silently: a bone mapped twice)."""

    def build(pairs: list[tuple[str, object]]) -> dict:
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise Pose2RotError(f"{where}: '{key}' is given twice in one object; keep one of them")
            seen.add(key)
        return dict(pairs)

    return build


def save_map(path: str | Path, bone_map: BoneMap) -> None:
    """Write MAP.json (bones in the order given, indented)."""
    text = json.dumps(bone_map.to_json(), indent=2) + "\n"
    write_whole(path, "map", lambda f: f.write(text))


# ----------------------------------------------------------------------------- checking
def source_names(src: Source) -> list[str]:
    """Every name a source refers to (points or named virtual points), in order."""
    if isinstance(src, str):
        return [src]
    kind, args = next(iter(src.items()))
    return [n for a in (args[:2] if kind == "lerp" else args) for n in source_names(a)]


def renamed_source(src: Source, names: Mapping[str, str]) -> Source:
    """``src`` with every name it refers to (see source_names) replaced through ``names`` (the
    others kept), nested sources included."""
    if isinstance(src, str):
        return names.get(src, src)
    kind, args = next(iter(src.items()))
    if kind == "lerp":
        return {kind: [renamed_source(args[0], names), renamed_source(args[1], names), args[2]]}
    return {kind: [renamed_source(a, names) for a in args]}


def check_map(bone_map: BoneMap, joints: Sequence[str], point_names: Sequence[str], rig: str = "the rig",
              tracks: str = "the tracks") -> None:
    """Raise (one line) for a bone the rig lacks, a point the tracks lack, or a virtual point built on
    itself. ``joints``: rig joint and End Site names; ``point_names``: the tracks' points. The steps it
    advises are the command line's (wording.STEPS: each interface words them as it takes them)."""
    joint_set, point_set = set(joints), set(point_names)
    renamed = _renamed_bones([b for b in bone_map.bones if b not in joint_set], joints)
    for bone in bone_map.bones:
        if bone in renamed:
            many = (f" ({len(renamed)} of the map's {len(bone_map.bones)} bones name its joints under another "
                    "prefix or case)" if len(renamed) > 1 else "")
            raise Pose2RotError(f"map: bone '{bone}' is not a joint of {rig}, which has '{renamed[bone]}'{many}: "
                                "rename them in the map as the rig names them, or propose a map for this rig "
                                "with pose2rot map --skeleton")
        if bone not in joint_set:
            raise Pose2RotError(f"map: bone '{bone}' is not a joint of {rig}" + _close(bone, joints))
    for name in bone_map.points:
        if name in point_set:
            raise Pose2RotError(f"map: virtual point '{name}' has the name of a point of {tracks}; rename it")
    for name in bone_map.points:
        _check_cycle(bone_map.points, name, [])
    for where, src in list(bone_map.bones.items()) + list(bone_map.points.items()):
        for n in source_names(src):
            if n not in point_set and n not in bone_map.points:
                made = bone_map.extra.get("layout")
                raise Pose2RotError(f"map: '{where}' uses point '{n}', which is not among the points of {tracks}"
                                    + _close(n, list(point_names) + list(bone_map.points))
                                    + (f" (the map was proposed for {made}: propose one for these points with "
                                       "pose2rot map --source)" if made else ""))


def unplaced_root(names: Sequence[str], placers: Sequence[int], bone_map: BoneMap) -> str | None:
    """Why a solve with ``bone_map`` stops before it starts where it gives the rig's root (``names[0]``;
    ``placers``: the joints below it that place the body, Skeleton.body_placers: its children and its
    root line) no point and none of its children one, nor the root line (nothing places the body),
    else None."""
    root, kids = names[0], [names[k] for k in placers]
    if root in bone_map.bones or any(k in bone_map.bones for k in kids):
        return None
    return (f"the map gives the rig's root '{root}' no point and none of its children one, so a solve with it "
            f"stops: map the root (e.g. \"{root}\": {{\"mean\": [\"left_hip\", \"right_hip\"]}}) or one of its "
            "children by hand")


def _renamed_bones(bones: Sequence[str], joints: Sequence[str]) -> dict[str, str]:
    """{bone: the one rig joint of ``joints`` it names under another prefix, namespace or case} for
    those of ``bones`` that have exactly one (names.numbered_key: ``Hips`` and ``CC_Base_Hips`` for
    ``mixamorig:Hips``)."""
    by_key: dict[str, list[str]] = {}
    for joint in joints:
        by_key.setdefault(numbered_key(joint), []).append(joint)
    found = {bone: by_key.get(numbered_key(bone), []) for bone in bones}
    return {bone: same[0] for bone, same in found.items() if len(same) == 1}


def _check_cycle(points: Mapping[str, Source], name: str, path: list[str]) -> None:
    if name in path:
        chain = " -> ".join(path[path.index(name):] + [name])
        raise Pose2RotError(f"map: virtual point '{name}' is built on itself ({chain})")
    for n in source_names(points[name]):
        if n in points:
            _check_cycle(points, n, path + [name])


def _close(name: str, options: Sequence[str]) -> str:
    """' (close: a, b)': up to three of ``options`` spelt like ``name``, case aside, or ''."""
    by_lower = {}
    for option in options:
        by_lower.setdefault(option.lower(), option)
    near = difflib.get_close_matches(name.lower(), list(by_lower), n=3, cutoff=0.6)
    return f" (close: {', '.join(by_lower[n] for n in near)})" if near else ""


# ----------------------------------------------------------------------------- evaluation
def evaluate_sources(sources: Mapping[str, Source], positions: np.ndarray, point_names: Sequence[str],
                     virtual: Mapping[str, Source] | None = None) -> dict[str, np.ndarray]:
    """Positions [T,3] of every entry of ``sources`` from point ``positions`` [T,P,3]; a mean or blend
    is NaN in frames where one of its points is. ``virtual``: named virtual points (checked acyclic)."""
    index = {n: i for i, n in enumerate(point_names)}
    virtual = virtual or {}
    cache: dict[str, np.ndarray] = {}

    def value(src: Source) -> np.ndarray:
        if isinstance(src, str):
            if src in virtual:
                if src not in cache:
                    cache[src] = value(virtual[src])
                return cache[src]
            return positions[:, index[src]]
        kind, args = next(iter(src.items()))
        if kind == "lerp":
            a, b = value(args[0]), value(args[1])
            return a + float(args[2]) * (b - a)
        return np.mean([value(a) for a in args], axis=0)

    return {name: value(src) for name, src in sources.items()}
