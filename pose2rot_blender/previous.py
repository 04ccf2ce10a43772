"""The armature's action from before pose2rot: kept when a solve writes a new one, and given back.

The first solve of an armature stores the name of its action (kept with a fake user), its slot and
the bones' rotation modes in custom properties of the armature object; solving again keeps that
first record. :func:`restore` puts them back; the solved action is kept too.
"""
from __future__ import annotations

import json

import bpy

from pose2rot_core.errors import Pose2RotError

from . import keys

PREVIOUS_ACTION_KEY = "pose2rot_previous_action"
PREVIOUS_SLOT_KEY = "pose2rot_previous_slot"
PREVIOUS_MODES_KEY = "pose2rot_previous_rotation_modes"
#: custom property marking the actions pose2rot wrote
MADE_BY_KEY = "pose2rot"


def remember(obj: bpy.types.Object) -> None:
    """Keep the current action (fake user) and rotation modes so they can be restored."""
    ad = obj.animation_data
    current = ad.action if ad else None
    if current is not None and current.get(MADE_BY_KEY) and PREVIOUS_ACTION_KEY in obj:
        return                                        # re-solve: keep what the user had before pose2rot
    if current is not None:
        current.use_fake_user = True
        obj[PREVIOUS_ACTION_KEY] = current.name
        slot = getattr(ad, "action_slot", None)
        obj[PREVIOUS_SLOT_KEY] = slot.identifier if slot is not None else ""
    else:
        obj[PREVIOUS_ACTION_KEY] = ""
        obj[PREVIOUS_SLOT_KEY] = ""
    obj[PREVIOUS_MODES_KEY] = json.dumps({pb.name: pb.rotation_mode for pb in obj.pose.bones})


def restore(obj: bpy.types.Object) -> str:
    """Put back the action (and rotation modes) the armature had before its first pose2rot solve.
    Returns the restored action's name ('' when it had none)."""
    if PREVIOUS_ACTION_KEY not in obj:
        raise Pose2RotError(f"'{obj.name}' has no previous action saved by pose2rot")
    ad = obj.animation_data or obj.animation_data_create()
    name = obj[PREVIOUS_ACTION_KEY]
    action = bpy.data.actions.get(name) if name else None
    if name and action is None:
        raise Pose2RotError(f"the previous action '{name}' of '{obj.name}' no longer exists")
    if ad.action is not None and ad.action.get(MADE_BY_KEY):
        ad.action.use_fake_user = True                # keep the solved action around
    ad.action = action
    if action is not None and keys.has_layered_actions():
        ident = obj.get(PREVIOUS_SLOT_KEY, "")
        slot = next((s for s in action.slots if s.identifier == ident), None)
        if slot is not None:
            ad.action_slot = slot
    modes = json.loads(obj.get(PREVIOUS_MODES_KEY, "{}"))
    for pb in obj.pose.bones:
        if pb.name in modes:
            pb.rotation_mode = modes[pb.name]
    for key in (PREVIOUS_ACTION_KEY, PREVIOUS_SLOT_KEY, PREVIOUS_MODES_KEY):
        del obj[key]
    return name
