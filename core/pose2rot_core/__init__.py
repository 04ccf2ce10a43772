"""pose2rot core: joint-position tracks -> per-bone rotations on any skeleton (headless, no bpy).

Shapes: positions ``[T,J,3]``, local rotations ``[T,J,3,3]`` (column vectors), quaternions
``[...,4]`` w-first, 6D = first two rows. See :mod:`pose2rot_core.rotations`.
"""
from .errors import MissingDependencyError, Pose2RotError
from .skeleton import Skeleton

__version__ = "0.1.0"

__all__ = ["Skeleton", "Pose2RotError", "MissingDependencyError", "__version__"]
