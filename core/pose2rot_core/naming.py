"""Joint-name keys shared by the name matching of the extension and the automatic maps.

:func:`canonical_key` reduces a joint name to ``side|base``: lower case, a namespace before the
last ``:`` or ``|`` dropped (``mixamorig:Hips`` -> ``hips``), a known rig prefix dropped
(``mixamorig``, ``DEF-``, ``ORG-``, ``MCH-``, ``Bip01``, ``CC_Base_``, ``b_``), the side read from a
``Left``/``Right`` word or a one-letter ``L``/``R`` token at either end (``.L``, ``_l``, ``-R``,
``L_``, ``r.``), separators (space ``_`` ``.`` ``-``) removed, and Blender's duplicate suffix
(``Hips.001``) ignored. So ``upper_arm.L``, ``UpperArm_L``, ``L_UpperArm`` and
``mixamorig:LeftUpperArm`` share one key.
"""
from __future__ import annotations

import re

_NAMESPACE = re.compile(r"^.*[:|]")
DUPLICATE = re.compile(r"\.\d{3}$")
_PREFIXES = ("mixamorig", "def-", "def_", "org-", "org_", "mch-", "mch_", "bip01", "bip001",
             "cc_base_", "b_")
_SEP = re.compile(r"[\s_.\-]+")
_SIDE_WORDS = {"left": "l", "right": "r"}


def strip_namespace(name: str) -> str:
    """The name without a namespace (``mixamorig7:Hips`` -> ``Hips``, ``Armature|Hips`` -> ``Hips``)."""
    return _NAMESPACE.sub("", name.strip())


def canonical_key(name: str) -> str:
    """Canonical form of a joint name: ``side|base`` with side in {"l", "r", ""}."""
    s = strip_namespace(DUPLICATE.sub("", name.strip())).lower()
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
