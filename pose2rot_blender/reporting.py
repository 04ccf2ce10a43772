"""How the operators report bad input: one ERROR line in Blender's words, the operator cancelled."""
from __future__ import annotations

import functools
from typing import Callable

from pose2rot_core.errors import Pose2RotError
from pose2rot_core.options import OptionError
from pose2rot_core.wording import flags_in_words, steps_in_words

from .props import option_labels


def reports_errors(execute: Callable) -> Callable:
    """An operator's ``execute`` that reports a Pose2RotError as one ERROR line and cancels (the
    operator's undo step then leaves the scene as it was); an OptionError names the setting as
    Blender shows it (props.option_labels), as does a command-line flag in any other error of the core
    (wording.flags_in_words: 'Layout' in Import Tracks, not ``--layout``), and a step the core advises is
    the panel's button for it (wording.steps_in_words: Automatic Map, not ``pose2rot map --skeleton``)."""

    @functools.wraps(execute)
    def run(self, context):
        try:
            return execute(self, context)
        except OptionError as e:
            self.report({'ERROR'}, str(e.worded(option_labels())))
        except Pose2RotError as e:
            self.report({'ERROR'}, flags_in_words(steps_in_words(str(e), "blender"), option_labels()))
        return {'CANCELLED'}

    return run
