"""The armature's action from before pose2rot: kept when a solve writes a new one, and given back.

The first solve of an armature stores its action (a reference, which follows a rename; kept with a
fake user until it is given back, then as it was), its slot, the bones' rotation modes and their pose channels (a pose
set by hand, or channels the action does not key) in custom properties of the armature object;
solving again keeps that first record, and the action of the solve it replaces (fake user).
:func:`restore` puts them back; the solved action is kept too.
"""
from __future__ import annotations

import json

import bpy
import numpy as np

from pose2rot_core.errors import Pose2RotError

from . import keys

PREVIOUS_ACTION_KEY = "pose2rot_previous_action"
PREVIOUS_SLOT_KEY = "pose2rot_previous_slot"
PREVIOUS_MODES_KEY = "pose2rot_previous_rotation_modes"
PREVIOUS_POSE_KEY = "pose2rot_previous_pose"
PREVIOUS_FAKE_USER_KEY = "pose2rot_previous_fake_user"
#: pose-bone channels kept with the previous action, and their sizes
POSE_CHANNELS = {"location": 3, "rotation_quaternion": 4, "rotation_euler": 3, "rotation_axis_angle": 4, "scale": 3}
#: custom property marking the actions pose2rot wrote
MADE_BY_KEY = "pose2rot"


def remember(obj: bpy.types.Object) -> None:
    """Keep the current action (fake user) and rotation modes so they can be restored."""
    ad = obj.animation_data
    current = ad.action if ad else None
    if PREVIOUS_ACTION_KEY in obj and (current is None or current.get(MADE_BY_KEY)):
        if current is not None:
            current.use_fake_user = True  # the earlier solve (hand edits too) stays in the file
        return            # re-solve (the solved action, or none since): keep what the user had before pose2rot
    if current is not None:
        obj[PREVIOUS_FAKE_USER_KEY] = current.use_fake_user
        current.use_fake_user = True
        obj[PREVIOUS_ACTION_KEY] = current              # the action itself: a rename does not lose it
        slot = getattr(ad, "action_slot", None)
        obj[PREVIOUS_SLOT_KEY] = slot.identifier if slot is not None else ""
    else:
        obj[PREVIOUS_ACTION_KEY] = ""
        obj[PREVIOUS_SLOT_KEY] = ""
    obj[PREVIOUS_MODES_KEY] = json.dumps({pb.name: pb.rotation_mode for pb in obj.pose.bones})
    obj[PREVIOUS_POSE_KEY] = json.dumps(_pose_channels(obj.pose.bones))


def _pose_channels(pbones) -> dict:
    """{"names": [...], channel: flat values in that order} of the pose bones (bulk read)."""
    out = {"names": [pb.name for pb in pbones]}
    for channel, size in POSE_CHANNELS.items():
        values = np.empty(size * len(pbones), np.float32)
        pbones.foreach_get(channel, values)
        out[channel] = values.tolist()
    return out


def _set_pose_channels(pbones, saved: dict) -> None:
    """Put back what _pose_channels read, bone by name (bones added since keep their pose)."""
    row = {name: i for i, name in enumerate(saved.get("names", []))}
    for channel, size in POSE_CHANNELS.items():
        if channel not in saved:
            continue
        values = np.asarray(saved[channel], np.float32).reshape(-1, size)
        current = np.empty(size * len(pbones), np.float32)
        pbones.foreach_get(channel, current)
        current = current.reshape(-1, size)
        for i, pb in enumerate(pbones):
            if pb.name in row:
                current[i] = values[row[pb.name]]
        pbones.foreach_set(channel, current.ravel())


def _saved_action(obj: bpy.types.Object) -> bpy.types.Action | None:
    """The action remember() kept (None: the armature had none): a reference, or its name in files
    saved by earlier versions; an error where it was deleted since."""
    saved = obj[PREVIOUS_ACTION_KEY]
    if isinstance(saved, str):
        action = bpy.data.actions.get(saved) if saved else None
        if saved and action is None:
            raise Pose2RotError(f"the previous action '{saved}' of '{obj.name}' no longer exists")
        return action
    if saved is None:                                       # the reference of an action deleted since
        raise Pose2RotError(f"the previous action of '{obj.name}' no longer exists (it was deleted)")
    return saved


def restore(obj: bpy.types.Object) -> str:
    """Put back the action (and rotation modes) the armature had before its first pose2rot solve.
    Returns the restored action's name ('' when it had none)."""
    if PREVIOUS_ACTION_KEY not in obj:
        raise Pose2RotError(f"'{obj.name}' has no previous action saved by pose2rot")
    ad = obj.animation_data or obj.animation_data_create()
    action = _saved_action(obj)
    name = action.name if action is not None else ""
    if ad.action is not None and ad.action.get(MADE_BY_KEY):
        ad.action.use_fake_user = True                # keep the solved action around
    ad.action = action
    if action is not None:  # its own fake user again, now that it has its user back
        action.use_fake_user = bool(obj.get(PREVIOUS_FAKE_USER_KEY, action.use_fake_user))
    if action is not None and keys.LAYERED_ACTIONS:
        ident = obj.get(PREVIOUS_SLOT_KEY, "")
        slot = next((s for s in action.slots if s.identifier == ident), None)
        if slot is not None:
            ad.action_slot = slot
    modes = json.loads(obj.get(PREVIOUS_MODES_KEY, "{}"))
    for pb in obj.pose.bones:
        if pb.name in modes:
            pb.rotation_mode = modes[pb.name]
    _set_pose_channels(obj.pose.bones, json.loads(obj.get(PREVIOUS_POSE_KEY, "{}")))
    for key in (PREVIOUS_ACTION_KEY, PREVIOUS_SLOT_KEY, PREVIOUS_MODES_KEY, PREVIOUS_POSE_KEY, PREVIOUS_FAKE_USER_KEY):
        if key in obj:
            del obj[key]
    return name
