"""The armature's action from before pose2rot: kept when a solve writes a new one, and given back.

The first solve of an armature stores its action (a reference, which follows a rename; kept with a
fake user until it is given back, then as it was), its slot (or that it had none), the bones'
rotation modes and their pose channels (a pose set by hand, or channels the action does not key) in
the armature object's library-overridable properties (RECORD, so an override of a linked armature
keeps it through a save and reload); solving again keeps that first record, and the action of the
solve it replaces (fake user), unless the saved action was deleted since (the new solve saves the
action it replaces instead). :func:`restore` puts them back; the solved action is kept too.
Files of earlier versions kept the record in custom properties: it is moved over when first used.
"""
from __future__ import annotations

import json

import bpy
import numpy as np
from bpy.props import BoolProperty, PointerProperty, StringProperty

from pose2rot_core.errors import Pose2RotError

from . import keys

#: custom properties of the record in files of earlier versions (see _moved_over)
PREVIOUS_ACTION_KEY = "pose2rot_previous_action"
PREVIOUS_SLOT_KEY = "pose2rot_previous_slot"
PREVIOUS_MODES_KEY = "pose2rot_previous_rotation_modes"
PREVIOUS_POSE_KEY = "pose2rot_previous_pose"
PREVIOUS_FAKE_USER_KEY = "pose2rot_previous_fake_user"
#: pose-bone channels kept with the previous action, and their sizes
POSE_CHANNELS = {"location": 3, "rotation_quaternion": 4, "rotation_euler": 3, "rotation_axis_angle": 4, "scale": 3}
#: custom property marking the actions pose2rot wrote
MADE_BY_KEY = "pose2rot"
#: the options of properties that a library override of a linked armature keeps its own of
OVERRIDABLE = {'LIBRARY_OVERRIDABLE'}


#: the record, as library-overridable properties of the armature object (``pose2rot_prev_<name>``):
#: whether one is saved, or was given back since its last solve; the action (None: none, or deleted)
#: and its name when saved ('' for none: says which one was deleted); its slot's identifier ('' for
#: none, and on Blender before 4.4, which has no slots) and whether it had no slot (4.4+: the action
#: assigned, nothing playing; False in records of earlier versions of pose2rot, which did not say);
#: its own fake user; the bones' rotation modes and pose channels (JSON)
RECORD = {"saved": (BoolProperty, False), "restored": (BoolProperty, False), "action": (PointerProperty, None),
          "action_name": (StringProperty, ""), "slot": (StringProperty, ""), "no_slot": (BoolProperty, False),
          "fake_user": (BoolProperty, False), "rotation_modes": (StringProperty, "{}"),
          "pose": (StringProperty, "{}")}
_PREFIX = "pose2rot_prev_"


def _record(obj: bpy.types.Object) -> dict:
    """``obj``'s record (RECORD's names), with one kept in custom properties by an earlier version
    moved over first (see _moved_over)."""
    _moved_over(obj)
    return {name: getattr(obj, _PREFIX + name) for name in RECORD}


def _keep(obj: bpy.types.Object, **values) -> None:
    """Set fields of ``obj``'s record (RECORD's names)."""
    for name, value in values.items():
        setattr(obj, _PREFIX + name, value)


def _cleared() -> dict:
    return {name: default for name, (_, default) in RECORD.items()}


def _deleted(record: dict) -> bool:
    """Whether the action ``record`` saved was deleted since."""
    return bool(record["action_name"]) and record["action"] is None


def remember(obj: bpy.types.Object) -> str | None:
    """Keep the current action (fake user) and rotation modes so they can be restored; on a re-solve,
    the report's line saying the earlier solve's action stays in the file, else None."""
    record = _record(obj)
    ad = obj.animation_data
    current = ad.action if ad else None
    if record["saved"] and not _deleted(record) and (current is None or current.get(MADE_BY_KEY)):
        if current is None:
            return None   # re-solve (none since): keep what the user had before pose2rot
        current.use_fake_user = True  # the earlier solve (hand edits too) stays in the file
        return (f"the earlier solve's action '{current.name}' stays in the file (fake user: each solve's does, with "
                "any edits; delete those you do not need in the Outliner's Blender File view); Restore Previous "
                "Action gives back the one from before pose2rot")
    slot = getattr(ad, "action_slot", None) if current is not None else None
    holder = _holder(current, obj)                    # another armature's record: it knows the user's fake user
    _keep(obj, saved=True, restored=False, action=current, action_name=current.name if current is not None else "",
          fake_user=getattr(holder, _PREFIX + "fake_user") if holder is not None else
          current is not None and current.use_fake_user, slot=slot.identifier if slot is not None else "",
          no_slot=keys.LAYERED_ACTIONS and current is not None and slot is None,
          rotation_modes=json.dumps({pb.name: pb.rotation_mode for pb in obj.pose.bones}),
          pose=json.dumps(_pose_channels(obj.pose.bones)))
    if current is not None:
        current.use_fake_user = True
    return None


def _holder(action: bpy.types.Action | None, obj: bpy.types.Object) -> bpy.types.Object | None:
    """Another object whose record (saved, not given back) holds ``action`` (the action two
    armatures share): pose2rot gave it its fake user, and keeps it while that record holds it."""
    if action is None:
        return None
    return next((o for o in bpy.data.objects if o != obj and getattr(o, _PREFIX + "saved", False)
                 and getattr(o, _PREFIX + "action", None) == action), None)


def _moved_over(obj: bpy.types.Object) -> None:
    """Move a record an earlier version kept in custom properties of ``obj`` into its record (the
    action a reference, or its name in older files; one that no longer exists: deleted)."""
    if PREVIOUS_ACTION_KEY not in obj:
        return
    saved = obj[PREVIOUS_ACTION_KEY]
    action = bpy.data.actions.get(saved) if isinstance(saved, str) else saved
    _keep(obj, saved=True, restored=False, action=action,
          action_name=saved if isinstance(saved, str) else action.name if action is not None else "(deleted)",
          slot=obj.get(PREVIOUS_SLOT_KEY, ""),
          fake_user=bool(obj.get(PREVIOUS_FAKE_USER_KEY, action is not None and action.use_fake_user)),
          rotation_modes=obj.get(PREVIOUS_MODES_KEY, "{}"), pose=obj.get(PREVIOUS_POSE_KEY, "{}"))
    for key in (PREVIOUS_ACTION_KEY, PREVIOUS_SLOT_KEY, PREVIOUS_MODES_KEY, PREVIOUS_POSE_KEY, PREVIOUS_FAKE_USER_KEY):
        if key in obj:
            del obj[key]


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


def _saved_action(obj: bpy.types.Object, record: dict) -> bpy.types.Action | None:
    """The action ``record`` kept (None: the armature had none), or an error: none was saved, it was
    given back already, or it was deleted since."""
    if record["restored"]:
        raise Pose2RotError(f"'{obj.name}' already has its previous action back (Restore Previous Action since "
                            "its last solve): the next Solve Rotations saves the action it has then")
    if not record["saved"]:
        raise Pose2RotError(f"'{obj.name}' has no previous action saved by pose2rot: it was not solved (in this "
                            "file); Restore Previous Action gives back the action an armature had before its "
                            "first solve")
    if _deleted(record):
        raise Pose2RotError(f"the previous action '{record['action_name']}' of '{obj.name}' no longer exists (it was "
                            "deleted), so there is nothing to restore: the next Solve Rotations saves the action "
                            "the armature has then in its place")
    return record["action"]


def refuse_tweak_mode(obj: bpy.types.Object) -> None:
    """A Pose2RotError when ``obj`` is in NLA tweak mode, where Blender lets nothing replace its action."""
    if obj.animation_data is not None and obj.animation_data.use_tweak_mode:
        raise Pose2RotError(f"armature '{obj.name}' is in NLA tweak mode (editing a strip's action), where its "
                            "action cannot be replaced: leave tweak mode first (Tab in the NLA editor)")


def restore(obj: bpy.types.Object) -> tuple[str, bpy.types.Action | None]:
    """Put back the action (and rotation modes) the armature had before its first pose2rot solve.
    Returns (the restored action's name, '' when it had none; the action it replaces, None for
    none). The replaced action keeps a fake user where it is pose2rot's or would be left with no
    user (one the user made or assigned since the solve: Blender would drop it on save)."""
    refuse_tweak_mode(obj)
    record = _record(obj)
    action = _saved_action(obj, record)
    ad = obj.animation_data or obj.animation_data_create()
    name = action.name if action is not None else ""
    replaced = ad.action if ad.action is not None and ad.action != action else None
    if replaced is not None and (replaced.get(MADE_BY_KEY) or replaced.users <= 1):
        replaced.use_fake_user = True
    ad.action = action
    if action is not None and _holder(action, obj) is None:  # its own fake user again, now that it has its user back
        action.use_fake_user = record["fake_user"]
    if action is not None and keys.LAYERED_ACTIONS:
        _put_slot_back(ad, action, record)
    modes = json.loads(record["rotation_modes"] or "{}")
    for pb in obj.pose.bones:
        if pb.name in modes:
            pb.rotation_mode = modes[pb.name]
    _set_pose_channels(obj.pose.bones, json.loads(record["pose"] or "{}"))
    _keep(obj, **dict(_cleared(), restored=True))
    return name, replaced


def _put_slot_back(ad: bpy.types.AnimData, action: bpy.types.Action, record: dict) -> None:
    """Give ``ad`` (just assigned ``action``, 4.4+) the slot ``record`` saved: none where it had none
    (Blender picks a slot on assignment, which would play keys the armature did not play), the one of
    the saved identifier where it still exists, else Blender's pick (a record of 4.2 or of an earlier
    version of pose2rot, whose '' does not tell "none" from "no slots")."""
    if record["no_slot"]:
        ad.action_slot = None
        return
    slot = next((s for s in action.slots if s.identifier == record["slot"]), None)
    if slot is not None:
        ad.action_slot = slot


def register_properties() -> None:
    for name, (kind, default) in RECORD.items():
        kw = dict(type=bpy.types.Action) if kind is PointerProperty else dict(default=default)
        setattr(bpy.types.Object, _PREFIX + name, kind(options={'HIDDEN'}, override=OVERRIDABLE, **kw))


def unregister_properties() -> None:
    for name in RECORD:
        delattr(bpy.types.Object, _PREFIX + name)
