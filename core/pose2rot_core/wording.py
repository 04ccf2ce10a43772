"""How each interface names the core's options, and the core's notes put in that interface's words.

The solvers write their advice with the option's keyword, e.g. ``use stretch='off' for rigid
bones`` or ``stretch 'exact' translates them``. On the command line that reads ``--stretch off``,
in Blender's panel ``Bone lengths: Rigid``. This module is the one table of those names (the
Blender panel takes its labels from it) and the one place that rewrites notes for an interface.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

INTERFACES = ("cli", "blender")

#: option keyword -> (command-line flag, Blender panel label); None where the interface has no such option
OPTION_NAMES: dict[str, tuple[str, str | None]] = {
    "stretch": ("--stretch", "Bone lengths"),
    "smooth": ("--smooth", "Smoothing"),
    "twist": ("--twist", None),
    "solver": ("--solver", "Solver"),
    "scale": ("--scale", None),
    "fps": ("--fps", None),
}

#: (option, value) -> (command-line value, Blender panel value)
OPTION_VALUES: dict[tuple[str, str], tuple[str, str]] = {
    ("stretch", "auto"): ("auto", "Keep the rig's"),
    ("stretch", "exact"): ("exact", "Match the tracks"),
    ("stretch", "off"): ("off", "Rigid"),
    ("smooth", "auto"): ("auto", "Auto"),
    ("smooth", "off"): ("off", "Off"),
    ("solver", "geometric"): ("geometric", "Geometric"),
    ("solver", "learned"): ("learned", "Learned"),
    ("solver", "hybrid"): ("hybrid", "Hybrid"),
}

# stretch='off', stretch="off", stretch 'exact' (the forms the core's notes use)
_KEYWORD = re.compile(r"\b(" + "|".join(OPTION_NAMES) + r")\s*=?\s*(['\"])([\w.]+)\2")
_FREE_JOINT = re.compile(r"^joint '(?P<joint>.+)' translates relative to '.+' "
                         r"\(up to (?P<amount>[\d.e+-]+) units from its rest bone length\)")
_STRETCHING = re.compile(r"^(?P<count>\d+) joints (?P<rest>(?:change their distance|differ from).*)$")
_SMOOTHED = re.compile(r"^smoothed \d+ of \d+ tracks")


def label(option: str, interface: str) -> str:
    """The name of ``option`` in ``interface`` ("cli": the flag, "blender": the panel label)."""
    _check(interface)
    name = OPTION_NAMES[option][INTERFACES.index(interface)]
    if name is None:
        raise KeyError(f"option '{option}' has no {interface} counterpart")
    return name


def value_label(option: str, value: str, interface: str) -> str:
    """How ``value`` of ``option`` reads in ``interface`` (the value itself when not in the table)."""
    _check(interface)
    return OPTION_VALUES.get((option, value), (value, value))[INTERFACES.index(interface)]


def setting(option: str, value: str, interface: str) -> str:
    """``--stretch off`` on the command line, ``Bone lengths: Rigid`` in Blender."""
    name, shown = label(option, interface), value_label(option, value, interface)
    return f"{name} {shown}" if interface == "cli" else f"{name}: {shown}"


def in_words(note: str, interface: str) -> str:
    """``note`` with every ``option='value'`` written as ``interface`` shows that setting."""
    _check(interface)

    def replace(m: re.Match) -> str:
        option, value = m.group(1), m.group(3)
        if OPTION_NAMES[option][INTERFACES.index(interface)] is None:
            return m.group(0)
        return setting(option, value, interface)

    return _KEYWORD.sub(replace, note)


def notes_for(notes: Iterable[str], interface: str) -> list[str]:
    """The core's notes for ``interface``: in its words, per-joint translation notes gathered into
    one line whose count agrees with the line about the other translating joints."""
    notes = list(notes)
    free = [(m.group("joint"), float(m.group("amount"))) for m in map(_FREE_JOINT.match, notes) if m]
    out: list[str] = []
    for note in notes:
        if _FREE_JOINT.match(note):
            if free:
                out.append(_free_joints_line(free))
                free = []
            continue
        m = _STRETCHING.match(note)
        if m and any(_FREE_JOINT.match(n) for n in notes):
            note = f"{m.group('count')} other joints {m.group('rest')}"
        out.append(in_words(note, interface))
    return out


def tracks_were_smoothed(notes: Iterable[str]) -> bool:
    """Whether the core's notes say that the tracks were smoothed before solving."""
    return any(_SMOOTHED.match(n) for n in notes)


def _free_joints_line(free: list[tuple[str, float]]) -> str:
    names = ", ".join(f"'{j}'" for j, _ in free[:6]) + (f" and {len(free) - 6} more" if len(free) > 6 else "")
    worst = max(a for _, a in free)
    if len(free) == 1:
        return (f"1 joint moves away from its parent ({names}, up to {worst:.4g} units from its rest bone "
                "length): its translation is solved per frame")
    return (f"{len(free)} joints move away from their parent ({names}; up to {worst:.4g} units from the rest "
            "bone length): their translation is solved per frame")


def _check(interface: str) -> None:
    if interface not in INTERFACES:
        raise ValueError(f"unknown interface '{interface}' (choose from {', '.join(INTERFACES)})")
