"""The ``eval --plot`` figure: per-joint and per-frame rotation errors on one y-scale, and stick figures
of the clip and the solution at the worst frames (needs matplotlib).

One row per score (clip × protocol): mean error per joint (bars), mean error over the joints per
frame (curve, worst frames marked), then the worst frames drawn side on: the clip in grey, the
solution in colour (joints coloured by their error), with a short tick across each bone for the
true and the solved roll. Positions match, so where the ticks part the solver turned a bone about
itself differently from the clip.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import MissingDependencyError, write_whole
from .evaluate import ClipScore, Filmstrip

PROTOCOL_TEXT = ("Round trip: the clip's joint positions (and End Sites) are solved back into rotations and "
                 "compared with the clip's own local rotations (angle per joint and frame).\n"
                 "rest protocol: the solver gets no reference pose, so the roll of each bone about itself comes "
                 "from the rest pose.   ref protocol: it gets the clip's true rotations at frame 0 as the "
                 "reference pose.")
LABEL_SIZE = 9
TITLE_SIZE = 11
TRUTH_COLOUR = "#9a9a9a"
CMAP = "plasma"


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise MissingDependencyError("--plot needs matplotlib: pip install matplotlib") from None
    return plt


def error_figure(scores: list[ClipScore], up_axis: str = "y"):
    """The figure (see the module docstring); returns a matplotlib Figure."""
    plt = _pyplot()
    strips = max((len(s.filmstrip.frames) for s in scores if s.filmstrip is not None), default=0)
    joints = max(len(s.joint_names) for s in scores)
    width = max(14.0, 0.16 * joints + 4.0 + 2.6 * strips)
    fig = plt.figure(figsize=(width, 3.6 * len(scores) + 1.2))
    ratios = [max(3.0, 0.16 * joints), 3.0] + [1.6] * strips
    grid = fig.add_gridspec(len(scores), len(ratios), width_ratios=ratios, hspace=0.9, wspace=0.35,
                            top=1 - 1.1 / fig.get_figheight(), bottom=0.9 / fig.get_figheight(), left=0.05, right=0.98)
    top = max(max(float(s.joint_angles.max(initial=0.0)), float(s.frame_angles.max(initial=0.0))) for s in scores)
    ylim = (0.0, 1.08 * top if top > 0 else 1.0)
    angle_axes = []
    for row, s in enumerate(scores):
        bars, curve = fig.add_subplot(grid[row, 0]), fig.add_subplot(grid[row, 1])
        _joint_bars(bars, s, ylim)
        _frame_curve(curve, s, ylim)
        angle_axes += [bars, curve]
        if s.filmstrip is not None:
            for k in range(len(s.filmstrip.frames)):
                _stick_figure(fig.add_subplot(grid[row, 2 + k]), s.filmstrip, k, up_axis, top)
    fig.suptitle(PROTOCOL_TEXT, fontsize=LABEL_SIZE, x=0.05, ha="left", y=1 - 0.1 / fig.get_figheight(),
                 va="top")
    return fig


def plot_errors(scores: list[ClipScore], path: str) -> None:
    """Write :func:`error_figure` to ``path`` in the format its suffix names (PNG, PDF, SVG), whole or
    not at all (errors.write_whole: a failed write leaves an existing file as it was)."""
    plt = _pyplot()
    fig = error_figure(scores)
    try:
        write_whole(path, "plot (--plot)", lambda f: fig.savefig(f, dpi=100, format=Path(path).suffix[1:].lower()),
                    binary=True)
    finally:
        plt.close(fig)


def _joint_bars(ax, s: ClipScore, ylim: tuple[float, float]) -> None:
    ax.bar(range(len(s.joint_names)), s.joint_angles, color="#4477aa")
    ax.set_xticks(range(len(s.joint_names)))
    ax.set_xticklabels(s.joint_names, rotation=90, fontsize=LABEL_SIZE - 1)
    ax.set_xlim(-0.7, len(s.joint_names) - 0.3)
    ax.set_ylim(*ylim)
    ax.set_ylabel("mean error per joint (°)", fontsize=LABEL_SIZE)
    ax.tick_params(axis="y", labelsize=LABEL_SIZE)
    ax.set_title(f"{s.file_name} — {s.protocol} protocol, {s.solver} solver: {s.mean_angle:.2f}° mean, "
                 f"{s.flips} flips", fontsize=TITLE_SIZE, loc="left")


def _frame_curve(ax, s: ClipScore, ylim: tuple[float, float]) -> None:
    ax.plot(np.arange(len(s.frame_angles)), s.frame_angles, color="#4477aa", lw=1.2)
    if s.filmstrip is not None:
        ax.plot(s.filmstrip.frames, s.frame_angles[s.filmstrip.frames], "v", color="#cc3311", ms=7,
                label="drawn on the right")
        ax.legend(fontsize=LABEL_SIZE - 1, loc="upper right", frameon=False)
    ax.set_ylim(*ylim)
    ax.set_xlabel("frame", fontsize=LABEL_SIZE)
    ax.set_ylabel("mean error over joints (°)", fontsize=LABEL_SIZE)
    ax.tick_params(labelsize=LABEL_SIZE)
    ax.set_title("error per frame", fontsize=TITLE_SIZE, loc="left")


def _stick_figure(ax, strip: Filmstrip, k: int, up_axis: str, top: float) -> None:
    """Frame ``k`` of the strip, side on: the plane of the up axis and the wider horizontal axis."""
    plt = _pyplot()
    up = "xyz".index(up_axis)
    truth, solved = strip.truth_positions[k], strip.solved_positions[k]
    flat = [a for a in range(3) if a != up]
    across = max(flat, key=lambda a: float(np.ptp(strip.truth_positions[..., a], axis=1).mean()))
    size = float(np.ptp(truth[:, [across, up]], axis=0).max()) or 1.0
    tick = 0.1 * size
    colours = plt.get_cmap(CMAP)(np.clip(strip.joint_angles[k] / (top or 1.0), 0.0, 1.0))
    for j, p in enumerate(strip.parents):
        if p < 0:
            continue
        ax.plot(truth[[p, j], across], truth[[p, j], up], color=TRUTH_COLOUR, lw=4, solid_capstyle="round")
        ax.plot(solved[[p, j], across], solved[[p, j], up], color=colours[j], lw=1.5)
    side = _roll_marker(strip.rest_offsets, strip.parents)
    for G, P, colour, width in ((strip.truth_rotations[k], truth, TRUTH_COLOUR, 3.0),
                                (strip.solved_rotations[k], solved, None, 1.2)):
        ends = P + tick * np.einsum("jab,jb->ja", G, side)
        for j in range(len(P)):
            ax.plot([P[j, across], ends[j, across]], [P[j, up], ends[j, up]], color=colour or colours[j], lw=width)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(f"frame {int(strip.frames[k])}: {strip.joint_angles[k].mean():.1f}°", fontsize=LABEL_SIZE)
    if k == 0:
        ax.set_xlabel("grey: clip; colour: solution\n(yellow: largest error)\nticks: roll about each bone",
                      fontsize=LABEL_SIZE - 1)


def _roll_marker(rest_offsets: np.ndarray, parents: np.ndarray) -> np.ndarray:
    """[J,3] unit vectors (joint frame) across each joint's bone: the bone to its first child, or for a
    leaf the bone from its parent; zero-length bones get the x axis."""
    J = rest_offsets.shape[0]
    along = rest_offsets.copy()                 # leaves: the bone they end
    has_child = np.zeros(J, bool)
    for c in range(1, J):
        if not has_child[parents[c]]:
            along[parents[c]] = rest_offsets[c]
            has_child[parents[c]] = True
    length = np.linalg.norm(along, axis=1, keepdims=True)
    mostly_x = np.abs(along[:, [0]]) > 0.9 * length
    side = np.cross(along, np.where(mostly_x, [[0.0, 0.0, 1.0]], [[1.0, 0.0, 0.0]]))
    norm = np.linalg.norm(side, axis=1, keepdims=True)
    return np.where(norm > 1e-9 * max(float(length.max()), 1e-12), side / np.maximum(norm, 1e-300),
                    [[1.0, 0.0, 0.0]])
