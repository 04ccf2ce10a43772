"""Regenerate the retargeting examples (all generated here: no third-party data).

    python examples/retarget/make_examples.py

- ``rig_mixamo.bvh``: a humanoid rig with Mixamo bone names in its T-pose (one frame);
- ``humanml3d_walk.npy``: [80,22,3] SMPL-22 joints (HumanML3D order, metres, Y up, 20 fps) of another
  performer walking;
- ``freemocap_walk/output_data/mediapipe_body_3d_xyz.npy``: [90,33,3] MediaPipe body landmarks
  (millimetres, Z up, 30 fps, as FreeMoCap writes them) of a third performer; no hand files.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "tests"))                 # the generated humanoids of the tests

from _humanoid import humanoid, walk  # noqa: E402

from pose2rot_core.bvh import write_bvh  # noqa: E402
from pose2rot_core.fk import forward_kinematics  # noqa: E402
from pose2rot_core.axes import axis_change  # noqa: E402
from pose2rot_core.layouts import get_layout  # noqa: E402

#: MediaPipe landmarks that are not joint centres: (joint they move with, offset in that joint's frame, m)
LANDMARKS = {
    "nose": ("head", (0.0, 0.05, 0.1)), "left_eye_inner": ("head", (0.015, 0.08, 0.085)),
    "left_eye": ("head", (0.032, 0.08, 0.08)), "left_eye_outer": ("head", (0.048, 0.08, 0.07)),
    "right_eye_inner": ("head", (-0.015, 0.08, 0.085)), "right_eye": ("head", (-0.032, 0.08, 0.08)),
    "right_eye_outer": ("head", (-0.048, 0.08, 0.07)), "left_ear": ("head", (0.075, 0.06, 0.0)),
    "right_ear": ("head", (-0.075, 0.06, 0.0)), "mouth_left": ("head", (0.025, 0.0, 0.09)),
    "mouth_right": ("head", (-0.025, 0.0, 0.09)), "left_thumb": ("left_wrist", (0.04, -0.02, 0.04)),
    "right_thumb": ("right_wrist", (-0.04, -0.02, 0.04)), "left_heel": ("left_ankle", (0.0, -0.06, -0.05)),
    "right_heel": ("right_ankle", (0.0, -0.06, -0.05)), "left_foot_index": ("left_foot", (0.0, -0.02, 0.05)),
    "right_foot_index": ("right_foot", (0.0, -0.02, 0.05))}


def performer(seed: int, frames: int, fps: float, scale: float):
    """(rig, canonical -> joint, global rotations [T,J,3,3], positions [T,J,3]) of a walking humanoid."""
    rng = np.random.default_rng(seed)
    rig, canon = humanoid(rng, spine=3, naming="generic", scale=scale)
    R, root = walk(rig, canon, frames, rng, fps=fps, amplitude=0.25)
    G, P = forward_kinematics(rig, R, root)
    return rig, canon, G, P


def main() -> None:
    rig, canon = humanoid(np.random.default_rng(1), spine=3, naming="mixamo", scale=100.0)
    write_bvh(HERE / "rig_mixamo.bvh", rig, np.eye(3)[None, None].repeat(rig.num_joints, 1),
              rig.rest_positions[:1], fps=30.0)

    smpl, canon_s, _, P = performer(2, 80, 20.0, 0.95)
    layout = get_layout("humanml3d22")
    X = np.stack([P[:, smpl.names.index(canon_s[p])] for p in layout.points], axis=1)
    np.save(HERE / "humanml3d_walk.npy", X.astype(np.float32))

    body, canon_b, G, P = performer(3, 90, 30.0, 1.05)
    mediapipe = get_layout("mediapipe33")
    columns = []
    for p in mediapipe.points:
        if p in LANDMARKS:
            joint, offset = LANDMARKS[p]
            j = body.names.index(canon_b[joint])
            columns.append(P[:, j] + G[:, j] @ np.asarray(offset))
        else:
            columns.append(P[:, body.names.index(canon_b[mediapipe.canonical[p]])])
    Y = np.stack(columns, axis=1) @ axis_change("y", "z").T * 1000.0           # Z up, millimetres
    out = HERE / "freemocap_walk" / "output_data"
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "mediapipe_body_3d_xyz.npy", Y.astype(np.float32))


if __name__ == "__main__":
    main()
