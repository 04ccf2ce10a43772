"""Cleaning noisy point tracks before solving: confidence gating, outlier removal, smoothing.

Everything works on positions ``[T,J,3]`` (NaN = missing) in file units, vectorised over frames
and joints; lengths that decide anything are fractions of the skeleton height.

- ``gate_low_confidence``: samples with confidence below ``MIN_CONFIDENCE`` become gaps.
- ``remove_outliers``: single-frame spikes (a sample far from the median of its neighbourhood
  while its neighbours are not) become gaps, for ``tracks_io.fill_gaps`` to fill.
- ``estimate_noise``: per-joint noise std (file units, per axis) from the robust spread of the
  fourth difference over time, which smooth motion barely reaches but white noise does.
- ``smooth_positions``: zero-phase local quadratic regression with a Gaussian kernel over time,
  weighted by confidence (symmetric kernel: no lag; quadratic: peaks are kept).

Smoothing modes (``smooth=``): ``"auto"`` (default) filters only joints whose estimated noise is
above ``AUTO_THRESHOLD`` of the height (clean mocap passes through unchanged), choosing each
joint's kernel width from ``WIDTH_GRID_SECONDS`` by Stein's unbiased risk estimate; ``"off"``;
or a number S > 0: every joint is filtered with a Gaussian kernel of standard deviation S
seconds (0 means off).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from .errors import Pose2RotError
from .rotations import matrix_to_quat, quat_continuity, quat_to_matrix
from .skeleton import Skeleton
from .tracks import Tracks

#: samples with a lower confidence are treated as missing
MIN_CONFIDENCE = 0.1
#: noise std (fraction of the skeleton height) below which ``auto`` leaves a joint untouched
AUTO_THRESHOLD = 2e-3
#: kernel widths (Gaussian std, seconds) that ``auto`` chooses from per joint
WIDTH_GRID_SECONDS = (0.008, 0.012, 0.017, 0.025, 0.035, 0.05, 0.07, 0.1)
#: outliers: distance to the neighbourhood median above this many robust stds and this fraction
#: of the height, with the two neighbours within ``OUTLIER_RETURN_RATIO`` of it (see find_outliers)
OUTLIER_Z = 8.0
OUTLIER_MIN_FRACTION = 0.02
OUTLIER_RETURN_RATIO = 0.5
OUTLIER_HALF_WINDOW = 3
#: a child whose distance to its parent deviates from the rest length by more than this fraction
#: of it (and more than ``FREE_MIN_FRACTION`` of the height) in most frames translates for real
FREE_FRACTION = 0.25
FREE_MIN_FRACTION = 0.05
#: std of the fourth difference of white noise, in units of the noise std: sqrt(1+16+36+16+1)
_D4_GAIN = np.sqrt(70.0)


@dataclass
class Cleaning:
    """What the cleaning did: ``widths`` [J] kernel std in frames (0 = untouched), ``noise`` [J]
    estimated noise std as a fraction of the height, ``free`` [J] joints left free to translate
    (None when nothing was smoothed), report lines."""

    widths: np.ndarray
    noise: np.ndarray
    free: np.ndarray | None = None
    report: list[str] = field(default_factory=list)

    @property
    def active(self) -> bool:
        """Whether any joint track was filtered."""
        return bool((self.widths > 0).any())

    @property
    def changed(self) -> bool:
        """Whether the tracks were changed (filtered and bone lengths made rigid)."""
        return self.free is not None


def parse_smooth(smooth: str | float | None) -> str | float:
    """``"auto"``, ``"off"`` or a width in seconds (float >= 0; 0 -> "off")."""
    if smooth is None:
        return "auto"
    if isinstance(smooth, str):
        text = smooth.strip().lower()
        if text in ("auto", "off"):
            return text
        try:
            smooth = float(text)
        except ValueError:
            raise Pose2RotError(f"smooth must be 'auto', 'off' or a width in seconds (e.g. 0.03), got '{smooth}'") from None
    value = float(smooth)
    if not np.isfinite(value) or value < 0:
        raise Pose2RotError(f"smooth width must be a number of seconds >= 0, got {smooth}")
    return "off" if value == 0 else value


def gate_low_confidence(positions: np.ndarray, confidence: np.ndarray | None) -> tuple[np.ndarray, int]:
    """Positions [T,J,3] with samples of confidence [T,J] below MIN_CONFIDENCE set to NaN; count."""
    if confidence is None:
        return positions, 0
    low = (confidence < MIN_CONFIDENCE) & ~np.isnan(positions).any(-1)
    if not low.any():
        return positions, 0
    out = positions.copy()
    out[low] = np.nan
    return out, int(low.sum())


def find_outliers(positions: np.ndarray, height: float) -> np.ndarray:
    """[T,J] bool: single-frame spikes of positions [T,J,3] (NaN = missing, never an outlier).

    A sample is a spike when its distance to the median of the 2*OUTLIER_HALF_WINDOW+1 frames
    around it exceeds OUTLIER_Z robust stds of that joint's distances and OUTLIER_MIN_FRACTION of
    the height, while its two neighbours are closer to each other and to their own medians than
    OUTLIER_RETURN_RATIO of that distance (the track jumps away and back; a fast real motion
    carries on, a turning point moves its neighbours too). First and last frames are never spikes.
    """
    T = positions.shape[0]
    h = OUTLIER_HALF_WINDOW
    if T < 2 * h + 1:
        return np.zeros(positions.shape[:2], bool)
    pad = np.concatenate([np.full((h,) + positions.shape[1:], np.nan), positions,
                          np.full((h,) + positions.shape[1:], np.nan)])
    windows = np.lib.stride_tricks.sliding_window_view(pad, 2 * h + 1, axis=0)  # [T,J,3,W]
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            med = np.nanmedian(windows, axis=-1)
            dist = np.linalg.norm(positions - med, axis=-1)  # [T,J]
            scale = 1.4826 * np.nanmedian(dist, axis=0)  # [J]
    limit = np.maximum(OUTLIER_Z * np.nan_to_num(scale), OUTLIER_MIN_FRACTION * height)
    d = np.nan_to_num(dist, nan=0.0)
    spike = np.zeros_like(d, bool)
    # the track leaves and comes back: the neighbours are close to each other, far from the sample
    across = np.linalg.norm(positions[2:] - positions[:-2], axis=-1)  # [T-2,J]
    neighbour = np.maximum(d[:-2], d[2:])  # their own distances to their medians
    spike[1:-1] = ((d[1:-1] > limit[None]) & (np.nan_to_num(across, nan=np.inf) < OUTLIER_RETURN_RATIO * d[1:-1])
                   & (neighbour < OUTLIER_RETURN_RATIO * d[1:-1]))
    return spike


def estimate_noise(positions: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """[J] noise std per axis (file units) of positions [T,J,3], from the median absolute fourth
    difference over time (frames where ``valid`` [T,J] is False do not count). Clips shorter than
    5 frames give 0."""
    T, J = positions.shape[:2]
    if T < 5:
        return np.zeros(J)
    d4 = positions[4:] - 4 * positions[3:-1] + 6 * positions[2:-2] - 4 * positions[1:-3] + positions[:-4]
    ok = np.ones((T - 4, J), bool) if valid is None else np.all(
        [valid[k:T - 4 + k] for k in range(5)], axis=0)
    a = np.where(ok[..., None], np.abs(d4), np.nan).reshape(T - 4, J * 3)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mad = np.nanmedian(a, axis=0).reshape(J, 3)
    return np.nan_to_num(1.4826 * mad / _D4_GAIN).mean(axis=-1)


def local_quadratic(positions: np.ndarray, weights: np.ndarray, widths: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Zero-phase smoothing of positions [T,J,3] (no NaN) by a weighted local quadratic fit.

    Around every frame t a quadratic in time is fitted to the samples s with weights
    ``weights[s,j] * exp(-(s-t)^2 / (2 widths[j]^2))`` (widths [J] in frames; 0 = untouched) and
    evaluated at t. Returns (smoothed [T,J,3], hat diagonal [T,J]: the weight of each sample on
    its own estimate, 1 where untouched). The kernel is symmetric, so there is no lag.
    """
    T, J = positions.shape[:2]
    out = positions.copy()
    hat = np.ones((T, J))
    act = widths > 0
    if not act.any() or T < 3:
        return out, hat
    P, W, h = positions[:, act], weights[:, act], widths[act]
    R = int(np.ceil(3.0 * h.max()))
    S = np.zeros((5, T, P.shape[1]))  # sum_u k w u^m, m = 0..4
    Y = np.zeros((3, T) + P.shape[1:])  # sum_u k w u^m x, m = 0..2
    for u in range(-R, R + 1):
        k = np.exp(-0.5 * (u / h) ** 2) * (abs(u) <= 3.0 * h + 0.5)  # [J']
        lo, hi = max(0, -u), min(T, T - u)  # frames t with t+u inside the clip
        if lo >= hi:
            continue
        kw = k[None] * W[lo + u:hi + u]  # [n,J']
        xs = P[lo + u:hi + u]
        for m in range(5):
            S[m, lo:hi] += kw * float(u) ** m
        for m in range(3):
            Y[m, lo:hi] += (kw * float(u) ** m)[..., None] * xs
    A = np.stack([np.stack([S[0], S[1], S[2]], -1), np.stack([S[1], S[2], S[3]], -1),
                  np.stack([S[2], S[3], S[4]], -1)], -2)  # [T,J',3,3]
    scale = np.maximum(S[0], 1e-300)[..., None, None]
    A = A / scale + 1e-9 * np.eye(3)  # normalised; the ridge only matters for degenerate windows
    inv = np.linalg.inv(A)
    first = inv[..., 0, :] / scale[..., 0]  # [T,J',3]: row giving the constant term
    est = np.einsum("tjm,mtjc->tjc", first, Y)
    self_weight = first[..., 0] * W  # kernel value at u = 0 is 1
    ok = S[0] > 1e-6
    est = np.where(ok[..., None], est, P)
    out[:, act] = est
    hat[:, act] = np.where(ok, self_weight, 1.0)
    return out, hat


def choose_widths(positions: np.ndarray, weights: np.ndarray, noise: np.ndarray, fps: float,
                  parents: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per-joint kernel width (frames) from WIDTH_GRID_SECONDS minimising Stein's unbiased risk
    estimate, given noise std ``noise`` [J] (file units, per axis; 0 = leave the joint alone).

    With ``parents`` [J] (-1 for roots) the risk is that of the bone vector to the parent (what
    the rotations depend on; its noise variance is the sum of both ends'), else of the position.
    Returns (widths [J], smoothed positions [T,J,3])."""
    T, J = positions.shape[:2]
    best_risk = np.full(J, np.inf)
    widths = np.zeros(J)
    best = positions.copy()
    act = noise > 0
    par = np.full(J, -1) if parents is None else np.asarray(parents)
    has_par = par >= 0
    ref = np.where(has_par, par, 0)

    def rel(x: np.ndarray) -> np.ndarray:  # bone vectors (positions for roots)
        return x - np.where(has_par[None, :, None], x[:, ref], 0.0)

    target = rel(positions)
    var = noise ** 2 + np.where(has_par, noise[ref] ** 2, 0.0)
    for seconds in WIDTH_GRID_SECONDS:
        w = np.where(act, seconds * fps, 0.0)
        est, hat = local_quadratic(positions, weights, np.where(act | act[ref] & has_par, seconds * fps, 0.0))
        # SURE: |y - f|^2 - n sigma^2 + 2 sigma^2 tr(H), summed over frames and the 3 axes
        risk = ((rel(est) - target) ** 2).sum(axis=(0, 2)) + var * (6.0 * hat.sum(0) - 3.0 * T)
        better = act & (risk < best_risk)
        best_risk = np.where(better, risk, best_risk)
        widths = np.where(better, w, widths)
        best[:, better] = est[:, better]
    return widths, best


def clean_positions(positions: np.ndarray, height: float, fps: float, smooth: str | float = "auto",
                    confidence: np.ndarray | None = None, filled: np.ndarray | None = None,
                    names: tuple[str, ...] | None = None) -> tuple[np.ndarray, Cleaning]:
    """Smooth gap-free positions [T,J,3] (joints entirely NaN stay NaN) as ``smooth`` says.

    confidence [T,J] weights the samples; ``filled`` [T,J] marks samples that were gaps (weight
    0, and ignored by the noise estimate). Returns (positions, Cleaning).
    """
    mode = parse_smooth(smooth)
    T, J = positions.shape[:2]
    present = ~np.isnan(positions).any(axis=(0, 2))
    weights = np.ones((T, J)) if confidence is None else np.clip(confidence, 0.0, 1.0).copy()
    if filled is not None:
        weights[filled] = 0.0
    valid = weights > 0
    noise = estimate_noise(np.nan_to_num(positions), valid) * present
    result = Cleaning(widths=np.zeros(J), noise=noise / height)
    if mode == "off":
        return positions, result
    P = np.nan_to_num(positions)
    if mode == "auto":
        noisy = present & (noise > AUTO_THRESHOLD * height)
        if not noisy.any():
            return positions, result
        widths, out = choose_widths(P, weights, np.where(noisy, noise, 0.0), fps)
    else:
        widths = np.where(present, float(mode) * fps, 0.0)
        out, _ = local_quadratic(P, weights, widths)
    out[:, ~present] = np.nan
    result.widths = widths
    n = int((widths > 0).sum())
    if n:
        label = "" if names is None else " (noisiest: '" + names[int(np.argmax(result.noise))] + "')"
        result.report.append(
            f"smoothed {n} of {J} tracks: noise {100 * np.median(result.noise[widths > 0]):.2g} % of height "
            f"(median), kernel {1000 * np.median(widths[widths > 0]) / fps:.0f} ms{label}")
    return out, result


def free_joints(skeleton: Skeleton, positions: np.ndarray) -> np.ndarray:
    """[J] bool: joints whose distance to the parent departs from the rest bone length by more
    than FREE_FRACTION of it and FREE_MIN_FRACTION of the height in most frames (real translation,
    e.g. hips under a floor-level root), not noise. The root counts as free."""
    J = skeleton.num_joints
    free = np.zeros(J, bool)
    free[0] = True
    if J < 2:
        return free
    par = skeleton.parents[1:]
    dist = np.linalg.norm(positions[:, 1:] - positions[:, par], axis=-1)
    rest = np.linalg.norm(skeleton.offsets[1:], axis=-1)
    dev = np.zeros(J - 1)
    seen = ~np.isnan(dist).all(axis=0)
    if seen.any():
        dev[seen] = np.nanmedian(np.abs(dist[:, seen] - rest[None, seen]), axis=0)
    free[1:] = dev > np.maximum(FREE_FRACTION * rest, FREE_MIN_FRACTION * skeleton.height)
    return free


def rigid_lengths(skeleton: Skeleton, positions: np.ndarray, free: np.ndarray) -> np.ndarray:
    """Positions [T,J,3] with every non-free joint moved along its bone to the rest bone length
    from its (already corrected) parent: noise must not become bone stretching. All-NaN joints stay."""
    out = positions.copy()
    rest = np.linalg.norm(skeleton.offsets, axis=-1)
    for j in range(1, skeleton.num_joints):
        p = skeleton.parents[j]
        if free[j] or np.isnan(positions[:, j]).all() or np.isnan(out[:, p]).all():
            continue  # free, or no data for the joint or its parent: nothing to hold it to
        d = positions[:, j] - positions[:, p]
        n = np.linalg.norm(d, axis=-1, keepdims=True)
        unit = np.where(n > 1e-12, d / np.maximum(n, 1e-300), 0.0)
        out[:, j] = out[:, p] + rest[j] * unit
    return out


def rigid_ends(end_positions: np.ndarray, end_parents: np.ndarray, end_rest_offsets: np.ndarray,
               joints_raw: np.ndarray, joints_rigid: np.ndarray) -> np.ndarray:
    """Bone tips [T,K,3] placed at their rest distance from the corrected parent joint, in the
    direction seen in the uncorrected (smoothed) data."""
    d = end_positions - joints_raw[:, end_parents]
    n = np.linalg.norm(d, axis=-1, keepdims=True)
    unit = np.where(n > 1e-12, d / np.maximum(n, 1e-300), 0.0)
    return joints_rigid[:, end_parents] + np.linalg.norm(end_rest_offsets, axis=-1)[None, :, None] * unit


def mark_gaps(tracks: Tracks, smooth: str | float = "auto") -> tuple[Tracks, list[str]]:
    """Tracks with low-confidence samples and outlier spikes of joints and bone tips set to NaN,
    for gap filling; report lines say how many. Outliers are looked for with a numeric ``smooth``,
    and with "auto" when some joint's noise is above AUTO_THRESHOLD (not on clean clips)."""
    mode = parse_smooth(smooth)
    report: list[str] = []
    P, low = gate_low_confidence(tracks.positions, tracks.confidence)
    if low:
        report.append(f"{low} samples with confidence below {MIN_CONFIDENCE:g} treated as gaps")
    ends = tracks.end_positions
    height = tracks.skeleton.height
    if mode == "auto":  # clean clips keep even their rare glitches: auto must not change them
        known = ~np.isnan(P).any(-1)
        mode = "off" if (estimate_noise(np.nan_to_num(P), known) <= AUTO_THRESHOLD * height).all() else mode
    if mode != "off":
        spikes = find_outliers(P, height)
        n = int(spikes.sum())
        if tracks.has_ends:
            end_spikes = find_outliers(ends, height)
            n += int(end_spikes.sum())
            if end_spikes.any():
                ends = ends.copy()
                ends[end_spikes] = np.nan
        if spikes.any():
            P = P.copy()
            P[spikes] = np.nan
        if n:
            report.append(f"removed {n} outlier samples (single-frame jumps) as gaps")
    if P is tracks.positions and ends is tracks.end_positions:
        return tracks, report
    return replace(tracks, positions=P, end_positions=ends), report


def smooth_tracks(tracks: Tracks, gaps: np.ndarray, end_gaps: np.ndarray | None, smooth: str | float = "auto"
                  ) -> tuple[Tracks, Cleaning]:
    """Smooth gap-filled tracks (``gaps`` [T,J] / ``end_gaps`` [T,K]: samples that were filled).

    When any track is smoothed, bones keep the rig's rest lengths (``rigid_lengths``) except for
    joints that translate for real (``Cleaning.free``), so noise does not become bone stretching.
    """
    skel = tracks.skeleton
    P, cleaning = clean_positions(tracks.positions, skel.height, tracks.fps, smooth, tracks.confidence, gaps,
                                  skel.names)
    ends = tracks.end_positions
    ends_active = False
    if tracks.has_ends:
        ends, end_cleaning = clean_positions(ends, skel.height, tracks.fps, smooth, None, end_gaps)
        ends_active = end_cleaning.active
        if ends_active and not cleaning.active:
            cleaning.report.extend(end_cleaning.report)
    if not (cleaning.active or ends_active):
        return tracks, cleaning
    cleaning.free = free_joints(skel, P)
    rigid = rigid_lengths(skel, P, cleaning.free)
    if tracks.has_ends:
        ends = rigid_ends(ends, tracks.end_parents, tracks.end_rest_offsets, P, rigid)
    return replace(tracks, positions=rigid, end_positions=ends), cleaning


def smooth_rotations(rotations: np.ndarray, sigma: float) -> np.ndarray:
    """Zero-phase Gaussian smoothing of local rotations [T,J,3,3] over time (std ``sigma`` frames):
    sign-continuous quaternions are averaged in a symmetric window and renormalised. The ends are
    extended by point reflection (``R(-k) = R0 R(k)^T R0``), so motion at the ends is not bent back."""
    T = rotations.shape[0]
    if sigma <= 0 or T < 3:
        return rotations
    r = min(int(np.ceil(3.0 * sigma)), T - 1)
    head = rotations[:1] @ np.swapaxes(rotations[r:0:-1], -1, -2) @ rotations[:1]
    tail = rotations[-1:] @ np.swapaxes(rotations[-2:-r - 2:-1], -1, -2) @ rotations[-1:]
    q = quat_continuity(matrix_to_quat(np.concatenate([head, rotations, tail])), axis=0)
    kernel = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    kernel /= kernel.sum()
    out = np.zeros((T,) + q.shape[1:])
    for k, w in enumerate(kernel):
        out += w * q[k:k + T]
    return quat_to_matrix(out)
