"""Solve options: every setting of a solve, its default and its valid values, decided here once.

The command line, the Blender operator and the batch entry point each build one
:class:`SolveOptions` and hand it to :func:`pose2rot_core.solvers.solve`. A bad value raises
:class:`OptionError`, which names the field in neutral words; each interface rewords it with its own
name for the field (``--stretch`` on the command line, *Bone lengths* in Blender: the table
``wording.OPTION_NAMES``) through :meth:`OptionError.worded`.

Adding an option: a field with its default here, its check in :meth:`SolveOptions.__post_init__`,
its names (neutral words and each interface's) in ``wording.OPTION_NAMES``, where ``solve``
uses it, then one declaration per interface (an argument in ``cli.add_solver_arguments``, a row of
``pose2rot_blender.props.SOLVE_PROPERTIES``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Mapping

from .errors import Pose2RotError, not_there
from .wording import neutral

SOLVERS = ("geometric", "learned", "hybrid")
#: the roll policy twist="auto" stands for, per solver with a geometric step (hybrid keeps the
#: network's own twist)
AUTO_TWIST = {"geometric": "lookahead", "hybrid": "reference"}
PRECISIONS = ("fp32", "bf16", "fp16")

class OptionError(Pose2RotError):
    """A bad option value: ``field`` (a SolveOptions field name) and ``problem`` (what is wrong, in
    words that follow the field's label)."""

    def __init__(self, field: str, problem: str):
        self.field, self.problem = field, problem
        super().__init__(f"{neutral(field)} {problem}")

    def worded(self, labels: Mapping[str, str]) -> Pose2RotError:
        """The same error with the field called as ``labels`` says (fields it lacks keep their
        neutral words)."""
        return Pose2RotError(f"{labels.get(self.field, neutral(self.field))} {self.problem}")


def twist_choices() -> tuple[str, ...]:
    """The values of the ``twist`` option: "auto" and the geometric solver's roll policies."""
    from .solvers.geometric import TWIST_POLICIES

    return ("auto",) + TWIST_POLICIES


def _one_of(field: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise OptionError(field, f"must be one of {', '.join(choices)}, got '{value}'")


@dataclass(frozen=True)
class SolveOptions:
    """How to solve a clip (checked on construction; see the module docstring).

    solver: "geometric", "learned" or "hybrid".
    twist: roll policy of the geometric step (geometric and hybrid; see solvers.geometric), or
      "auto": "lookahead" for the geometric solver, "reference" for hybrid (the network's own twist
      kept; :meth:`geometric_options`).
    stretch: bone lengths of the geometric step: "auto" (the core's default: joints whose distance to
      the parent changes over the clip translate; on smoothed tracks bones stay rigid except joints
      that translate for real), "exact" (every joint on its track) or "off" (rigid bones; the root
      line's offsets, which place the body, still follow their tracks). The
      learned solver takes neither twist nor stretch (:meth:`geometric_options`).
    smooth: track cleaning, "auto", "off" or a kernel width in seconds (see core.smoothing).
    use_ends: use the tracks' bone tips (End Sites) to aim leaf joints (False: the tips are dropped).
    use_reference: keep the roll of the tracks' reference pose (False: the pose is dropped and the
      roll follows the rest pose).
    checkpoint, config, t5, device, precision, window, cache_dir: the learned model (learned and
      hybrid; see solvers.learned.solve_learned).
    max_position_error: percent of the skeleton height a solved joint may stray from its track
      before the solve is refused; None only reports it.
    """

    solver: str = "geometric"
    twist: str = "auto"
    stretch: str = "auto"
    smooth: str | float = "auto"
    use_ends: bool = True
    use_reference: bool = True
    checkpoint: str | None = None
    config: str | None = None
    t5: str | None = None
    device: str = "auto"
    precision: str = "fp32"
    window: int | None = None
    cache_dir: str | None = None
    max_position_error: float | None = None

    def __post_init__(self) -> None:
        from .smoothing import parse_smooth
        from .solvers.geometric import STRETCH_MODES

        _one_of("solver", self.solver, SOLVERS)
        _one_of("twist", self.twist, twist_choices())
        _one_of("stretch", self.stretch, STRETCH_MODES)
        _one_of("precision", self.precision, PRECISIONS)
        try:
            object.__setattr__(self, "smooth", parse_smooth(self.smooth))
        except Pose2RotError as e:                    # parse_smooth words its errors "smooth ..."
            raise OptionError("smooth", str(e).removeprefix("smooth ")) from None
        self._check_model_files()
        if self.window is not None and (not isinstance(self.window, int) or self.window < 1):
            raise OptionError("window", f"must be a whole number of frames >= 1, got {self.window}")
        limit = self.max_position_error
        if limit is not None and not (isinstance(limit, (int, float)) and math.isfinite(limit) and limit > 0):
            raise OptionError("max_position_error", f"must be a percentage of the height above 0, got {limit}")

    def _check_model_files(self) -> None:
        if self.solver == "geometric":
            return
        if not self.checkpoint:
            raise OptionError("checkpoint", f"is not set: the {self.solver} solver needs one (a pose2rot .pt or "
                                            ".safetensors file); the geometric solver needs none")
        for field in ("checkpoint", "config"):
            path = getattr(self, field)
            if path and Path(path).is_dir():
                raise OptionError(field, f"'{path}' is a folder: give the file in it")
            if path and not Path(path).is_file():
                raise OptionError(field, f"'{path}' {not_there(Path(path))}")

    @classmethod
    def of(cls, options: "SolveOptions | None" = None, **changes: Any) -> "SolveOptions":
        """``options`` (default: the defaults) with ``changes`` applied, checked again."""
        return replace(options or cls(), **changes)

    def for_points(self) -> "SolveOptions":
        """These options for point sets (a layout's own skeleton, or a rig driven through a bone map,
        see pose2rot_core.retarget): the geometric solver only, and "auto" stretch keeps the bones
        rigid (the skeleton's lengths; "exact" still puts every joint on its point)."""
        if self.solver != "geometric":
            raise OptionError("solver", f"must be geometric for points on a layout or a bone map, got '{self.solver}'")
        return replace(self, stretch="off") if self.stretch == "auto" else self

    def geometric_options(self) -> dict[str, Any]:
        """Keyword options of the geometric step (empty for the learned solver, which has none)."""
        if self.solver == "learned":
            return {}
        twist = AUTO_TWIST[self.solver] if self.twist == "auto" else self.twist
        return {"twist": twist, "stretch": self.stretch}

    def learned_options(self) -> dict[str, Any]:
        """Keyword options of ``solvers.learned.solve_learned`` (the network's settings)."""
        out = {"checkpoint": self.checkpoint, "config": self.config or None, "t5": self.t5 or None,
               "device": self.device, "precision": self.precision, "cache_dir": self.cache_dir or None}
        if self.window is not None:
            out["window"] = self.window
        return out

    def changed(self) -> dict[str, Any]:
        """The fields that differ from their defaults, by name."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) != f.default}
