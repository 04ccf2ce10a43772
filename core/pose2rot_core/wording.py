"""How each interface names the core's options, and the core's notes put in that interface's words.

The solvers write their advice with the option's keyword, e.g. ``use stretch='off' for rigid
bones`` or ``stretch 'exact' translates them``. On the command line that reads ``--stretch off``,
in Blender's panel ``Bone lengths: Rigid``. This module is the one table of those names (the
Blender panel takes its labels from it) and the one place that rewrites notes for an interface.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

INTERFACES = ("cli", "blender")
#: the core's notes that warn (a result far from its tracks, flips) start with this
WARNING_PREFIX = "warning: "

#: option keyword (a SolveOptions field, or a command-line option of the tracks) -> (command-line flag,
#: Blender label: the panel's, or the add-on preferences' for the learned model; None where the
#: interface has no such option; the option in neutral words, for messages of no interface)
OPTION_NAMES: dict[str, tuple[str | None, str | None, str]] = {
    "stretch": ("--stretch", "Bone lengths", "stretch"),
    "smooth": ("--smooth", "Smoothing", "smooth"),
    "smooth_width": (None, "Width (s)", "smoothing width"),    # the command line gives it as --smooth SECONDS
    "twist": ("--twist", None, "twist policy"),
    "solver": ("--solver", "Solver", "solver"),
    "scale": ("--scale", None, "scale"),
    "fps": ("--fps", None, "frame rate"),
    "use_ends": ("--no-ends", None, "use ends"),
    "use_reference": (None, "Reference", "use reference"),
    "reference_frame": ("--reference-frame", "Reference", "reference frame"),
    "max_position_error": ("--max-position-error", "Max position error (%)", "maximum position error"),
    "checkpoint": ("--checkpoint", "Checkpoint", "checkpoint"),
    "config": ("--config", "Config", "model config"),
    "t5": ("--t5", "T5 encoder", "T5 encoder"),
    "device": ("--device", "Device", "device"),
    "precision": ("--precision", None, "precision"),
    "window": ("--window", None, "window"),
    "cache_dir": (None, "Embedding cache", "embedding cache"),
    "layout": ("--layout", "Layout", "layout"),                # what a point set's points are (Import Tracks')
}

#: (option, value) -> (command-line value, Blender panel value)
OPTION_VALUES: dict[tuple[str, str], tuple[str, str]] = {
    ("stretch", "auto"): ("auto", "Keep the rig's"),
    ("stretch", "exact"): ("exact", "Match the tracks"),
    ("stretch", "off"): ("off", "Rigid"),
    ("smooth", "auto"): ("auto", "Auto"),
    ("smooth", "off"): ("off", "Off"),
    ("smooth", "WIDTH"): ("WIDTH", "Fixed"),              # a kernel width in seconds, the panel's Width (s)
    ("solver", "geometric"): ("geometric", "Geometric"),
    ("solver", "learned"): ("learned", "Learned"),
    ("solver", "hybrid"): ("hybrid", "Hybrid"),
    ("reference_frame", "N"): ("N", "Current pose"),   # a frame at which the tracks show the reference pose
}

#: the steps the core's messages advise, as the command line takes them -> the Blender panel's button for the
#: same step. A message names a step as its command alone, with no argument after it ("propose a map for this
#: rig with pose2rot map --skeleton"): a whole command line it quotes ("pose2rot map --skeleton RIG.bvh ...")
#: is left as it is.
STEPS: dict[str, str] = {
    "pose2rot map --skeleton": "Automatic Map",
    "pose2rot map --source": "Automatic Map",
}

# stretch='off', stretch="off", stretch 'exact' (the forms the core's notes use)
_KEYWORD = re.compile(r"\b(" + "|".join(OPTION_NAMES) + r")\s*=?\s*(['\"])([\w.]+)\2")
# t5='/models/t5-base' (a path or model id: written with '=' in the core's notes, any text but quotes)
_PATH_KEYWORD = re.compile(r"\b(checkpoint|config|t5)=(['\"])([^'\"]+)\2")
# a step alone: no argument after it (a word, a flag, or one after a space; a note in brackets may follow)
_STEP = re.compile("(" + "|".join(re.escape(step) for step in STEPS) + r")(?![\w-]| [^(])")
_SMOOTHED = re.compile(r"^smoothed \d+ of \d+ tracks")
# a command-line flag of OPTION_NAMES, and its value where one follows: a word in lower case or a number
# (humanml3d22, 0.5), or a placeholder in capitals (NAME, F)
_FLAG = re.compile(r"(?<![\w-])(" + "|".join(re.escape(flag) for flag, *_ in OPTION_NAMES.values() if flag)
                   + r")(?![\w-])(?: (?:([a-z0-9][\w.]*)|[A-Z][A-Z0-9_]*\b))?")


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` and ``noun``, or its ``plural`` (default: an 's' added) unless there is one: '1 frame',
    '2 frames'; '1 joint moves', '2 joints move'."""
    return f"{n} {noun}" if n == 1 else f"{n} {plural or noun + 's'}"


def percent(value: float) -> str:
    """A percentage ``value`` (0-100) with one decimal, or with as many more (up to 6) as it takes not to
    read as none or all when it is neither: '2.3', '0.04' (5 of 11,524 samples), '0.0' for none."""
    for digits in range(1, 7):
        text = f"{value:.{digits}f}"
        if (float(text) > 0 or value <= 0) and (float(text) < 100 or value >= 100):
            break
    return text


def neutral(option: str) -> str:
    """``option`` in neutral words (what a message of no particular interface calls it)."""
    return OPTION_NAMES[option][2]


def label(option: str, interface: str) -> str:
    """The name of ``option`` in ``interface`` ("cli": the flag, "blender": the panel label)."""
    _check(interface)
    name = OPTION_NAMES[option][INTERFACES.index(interface)]
    if name is None:
        raise KeyError(f"option '{option}' has no {interface} counterpart")
    return name


def names(interface: str) -> dict[str, str]:
    """option -> its name in ``interface``, for every option that interface has."""
    _check(interface)
    i = INTERFACES.index(interface)
    return {option: pair[i] for option, pair in OPTION_NAMES.items() if pair[i] is not None}


def value_label(option: str, value: str, interface: str) -> str:
    """How ``value`` of ``option`` reads in ``interface`` (the value itself when not in the table)."""
    _check(interface)
    return OPTION_VALUES.get((option, value), (value, value))[INTERFACES.index(interface)]


def setting(option: str, value: str, interface: str) -> str:
    """``--stretch off`` on the command line, ``Bone lengths: Rigid`` in Blender; a smoothing width in
    seconds is ``--smooth 0.017`` there and ``Smoothing: Fixed with Width (s) 0.017`` here (the panel
    sets the width in a field of its own)."""
    name, shown = label(option, interface), value_label(option, value, interface)
    if interface == "cli":
        return f"{name} {shown}"
    if option == "smooth" and _is_number(value):
        return f"{name}: {value_label(option, 'WIDTH', interface)} with {label('smooth_width', interface)} {value}"
    return f"{name}: {shown}"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def in_words(note: str, interface: str) -> str:
    """``note`` with every ``option='value'`` written as ``interface`` shows that setting (a path or
    model id of the learned model's settings: ``t5='DIR'``, with '='), and the steps it advises as
    ``interface`` takes them (:func:`steps_in_words`)."""
    _check(interface)

    def replace(m: re.Match) -> str:
        option, value = m.group(1), m.group(3)
        if OPTION_NAMES[option][INTERFACES.index(interface)] is None:
            return m.group(0)
        return setting(option, value, interface)

    return steps_in_words(_KEYWORD.sub(replace, _PATH_KEYWORD.sub(replace, note)), interface)


def steps_in_words(message: str, interface: str) -> str:
    """``message`` with every step it advises (see STEPS) as ``interface`` takes it: the command line's
    as written, in Blender the panel's button."""
    _check(interface)
    return message if interface == "cli" else _STEP.sub(lambda m: STEPS[m.group(1)], message)


def flags_in_words(message: str, labels: Mapping[str, str]) -> str:
    """``message`` (a core error, in the command line's words) with every command-line flag of an option
    that ``labels`` names (option -> how another interface shows it, e.g. "'Layout' in Import Tracks") told
    as that label: "--layout humanml3d22" as "humanml3d22 as 'Layout' in Import Tracks", "--layout NAME" or
    a bare "--config" as the label alone. A flag of an option ``labels`` lacks (one that interface does
    not have) is left as it is."""
    cli = {flag: option for option, (flag, *_) in OPTION_NAMES.items() if flag}

    def replace(m: re.Match) -> str:
        shown = labels.get(cli[m.group(1)])
        if shown is None:
            return m.group(0)
        return f"{m.group(2)} as {shown}" if m.group(2) else shown

    return _FLAG.sub(replace, message)


def notes_for(notes: Iterable[str], interface: str) -> list[str]:
    """The core's notes in ``interface``'s words (see :func:`in_words`), each once (a bone map's
    gaps are filled, and said, both where the points are placed on the rig and in the solve)."""
    return [in_words(note, interface) for note in dict.fromkeys(notes)]


def cli_line(note: str) -> str:
    """A core note as the command line prints it: a warning as it is ('warning: ...'), any other
    note after 'note: '."""
    return note if note.startswith(WARNING_PREFIX) else f"note: {note}"


def split_warnings(notes: Iterable[str]) -> tuple[list[str], list[str]]:
    """(the notes that are not warnings, the warnings without WARNING_PREFIX) of the core's ``notes``."""
    notes = list(notes)
    return ([n for n in notes if not n.startswith(WARNING_PREFIX)],
            [n.removeprefix(WARNING_PREFIX) for n in notes if n.startswith(WARNING_PREFIX)])


def tracks_were_smoothed(notes: Iterable[str]) -> bool:
    """Whether the core's notes say that the tracks were smoothed before solving."""
    return any(_SMOOTHED.match(n) for n in notes)


def _check(interface: str) -> None:
    if interface not in INTERFACES:
        raise ValueError(f"unknown interface '{interface}' (choose from {', '.join(INTERFACES)})")
