"""The files ``pose2rot solve`` reads beside each clip's own tracks: the rig ``--skeleton``, the
``--reference`` BVH and the bone map ``--map``. One input reads each where it is first wanted; a batch
reads each once for all its clips (and hands what it read to its worker processes), not once per clip.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    import argparse

    from .bonemap import BoneMap
    from .bvh import BvhClip


class SharedFiles:
    """The --skeleton, --reference and --map of ``solve`` (paths, None where not given), each read at its
    first use and kept: rig(), reference(), bone_map(). A read that fails is not kept (it fails again,
    with its own error, where it is asked for again). What is read is shared by every clip: no reader
    changes it."""

    def __init__(self, skeleton: str | None, reference: str | None, bone_map: str | None):
        self._paths = {"rig": skeleton, "reference": reference, "bone_map": bone_map}
        self._read: dict[str, object] = {}

    @classmethod
    def of(cls, args: argparse.Namespace) -> SharedFiles:
        """The shared files of ``solve``'s parsed ``args``, none read yet."""
        return cls(args.skeleton, args.reference, args.map)

    def rig(self) -> BvhClip:
        """The rig BVH --skeleton, read once."""
        from .bvh import read_bvh

        return self._once("rig", read_bvh)

    def reference(self) -> BvhClip:
        """The --reference BVH, read once."""
        from .bvh import read_bvh

        return self._once("reference", read_bvh)

    def bone_map(self) -> BoneMap:
        """The bone map --map, read once."""
        from .bonemap import load_map

        return self._once("bone_map", load_map)

    def read_all(self) -> SharedFiles:
        """Read every file given now (a batch, before any clip: one that cannot be read would fail every
        clip); itself."""
        for kind, read in (("rig", self.rig), ("reference", self.reference), ("bone_map", self.bone_map)):
            if self._paths[kind]:
                read()
        return self

    def _once(self, kind: str, read: Callable):
        if self._paths[kind] is None:
            raise ValueError(f"no {kind} file was given")             # a caller's slip: it checks the option
        if kind not in self._read:
            self._read[kind] = read(self._paths[kind])
        return self._read[kind]
