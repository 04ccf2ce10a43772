"""How noisy point tracks are, told from their bones.

Real motion, however fast and at whatever frame rate, keeps the distance between a joint and its
parent (or changes it slowly, as translating hips or breathing do), while noise makes it jitter
from frame to frame. ``estimate_noise`` reads each joint's noise std (per axis) from the robust
spread of the fourth difference over time of its bones' lengths: clean mocap gives zero. Positions
are ``[T,J,3]`` (NaN = missing) in file units; AUTO_THRESHOLD of the height tells noisy tracks from
clean ones.
"""
from __future__ import annotations

import math
from typing import Callable, NamedTuple

import numpy as np

from .rotations import norm, smoothstep
from .stacks import all_per_point, any_axis, joint_batches, joint_planes, joint_rows
from .tracks import float32_step, keeps_to_rounding

#: noise std (fraction of the skeleton height) below which tracks are clean: ``smooth="auto"`` leaves
#: such a joint untouched (unless it is noisy for a short bone, see smoothing.SHORT_BONE_NOISE)
AUTO_THRESHOLD = 1e-3

#: bones shorter than this fraction of the height do not enter the noise estimate (their length is
#: dominated by the noise itself)
NOISE_BONE_FRACTION = 0.01
#: ... nor do bones shorter than this many noise stds (a first estimate from the longer bones)
NOISE_BONE_STDS = 8.0
#: a bone's length jitter counts as noise only while its fourth difference is at least this share of
#: white noise's ratio to the first difference (sqrt(35)); smoother changes are motion
WHITE_RATIO = 0.8
#: a length read over n frames whose std exceeds 1 + this / sqrt(n) times what white noise with its
#: frame-to-frame changes would have (wandering) moves with the motion: white noise's std is about 1 of
#: those, and past that bound in at most 1 of 1,000 series (simulated over 9-1,000 frames, fewer the
#: longer), while a random walk's passes it 19 times in 20 from 30 frames on
WANDER_SPREAD = 3.0
#: the fewest fourth differences (each five frames in a row with data) of a bone's length or vector
#: its noise is read from, NOISE_FRAMES frames at least: a clip where no bone has as many tells noise
#: from motion nowhere, and its noise reads 0 (see noise_readable)
NOISE_DIFFERENCES = 5
NOISE_FRAMES = NOISE_DIFFERENCES + 4
#: the fewest keys that tell keys from the frames between them (Tracks.keyed): with fewer, every
#: frame counts as a sample
MIN_KEYS = 5
#: std of the fourth difference of white noise, in units of the noise std: sqrt(1+16+36+16+1)
_D4_GAIN = np.sqrt(70.0)
#: the squares of consecutive fourth differences of white noise are correlated (the differences
#: overlap: their correlations at lags 1-4 are -56, 28, -8 and 1 over 70, a square's twice those
#: squared): a mean of n such squares varies as one of n / this many independent ones (2.63)
_D4_SQUARE_OVERLAP = 1.0 + 2.0 * sum((c / 70.0) ** 2 for c in (-56.0, 28.0, -8.0, 1.0))
#: noise correlated from frame to frame (a tracker's own filter, points resampled by smooth curves)
#: is read where the bones show it beyond the first of these many standard errors of its reading,
#: and whole from the second on: white noise reads about 0 and is read as white
CORRELATION_STDS = (3.0, 5.0)
#: noise stronger in some directions than in others (depth from one camera) is read from how the
#: long bones' length changes depend on their directions (_all_round_level): it counts where its
#: level over all directions exceeds the lengths' reading by the first of these shares, and whole
#: from the second
ANISOTROPY_SHARES = (1.25, 1.5)
#: the fewest fourth differences of the long bones' lengths that level is read from
ANISOTROPY_SAMPLES = 200
#: ... from the bones whose lengths read at most this many times the clip's median noise (noise in
#: one direction, across bones that lie in the others, reads them 5-6 times apart; a translating
#: joint's bone, read as noise on a few frames, thousands of times)
ANISOTROPY_SPREAD = 10.0
#: ... counted less this many of its standard errors
ANISOTROPY_STDS = 2.0
#: ... each bone's beyond this many times its median square left out: a spike (white noise's never
#: do, one in 10^10; a bone that turns from across the depth to along it keeps its larger ones)
ANISOTROPY_TRIM = 100.0
#: the lag-one correlations the bones' readings are looked up among (the whiteness test,
#: WHITE_RATIO, reads smoother changes than about 0.83 as motion)
_CORRELATIONS = np.linspace(-0.5, 0.95, 146)
#: a noise std read (as _white_noise_std reads it) from n fourth differences of white noise is off
#: by a factor whose log has about this variance over n: 2.5-2.7 from a few hundred differences on,
#: measured on simulated noise (more than the 1.36 of the median of independent samples: the
#: fourth differences overlap)
MAD_LOG_VARIANCE = 2.6
#: a joint's noise reading this many stds (its sampling's and the joints' real spread) from the
#: clip's median starts to count as its own, and from the second fully, instead of being pulled
#: towards the median: on even noise 99.5-99.9 % of the readings from 10-60 frames stay within 2.5
#: stds (the largest seen: 4.0), while one joint five times noisier is 3-10 stds off from 30 frames on
OWN_STDS = (2.5, 4.0)
#: a track pushed off its place for a stretch of frames and back (a mislabelled or swapped marker, a
#: tracker's slip) changes this many of the fourth differences its noise is read from: 4 at each end
#: (a one-frame spike, 5); a reading from at most twice as many differences in time can be that one
#: stretch alone (it holds their median), so it never counts as the joint's own (OWN_STDS): on a clip
#: of 20 frames or fewer, a joint cannot be told noisier than the others
BURST_DIFFERENCES = 8


def estimate_noise(positions: np.ndarray, parents: np.ndarray, rest_lengths: np.ndarray, height: float,
                   valid: np.ndarray | None = None) -> np.ndarray:
    """[J] noise std per axis (file units) of positions [T,J,3] (NaN = missing), from the bones to
    the parents (-1: none): the robust std of the fourth difference over time of a bone's length is
    sqrt(s_child^2 + s_parent^2) for noise s per axis at either end; each joint takes the median
    over its bones of that std / sqrt(2), pulled towards the clip's typical level as far as few
    frames leave it uncertain (_pooled_where_few). A bone whose rest length (``rest_lengths`` [J], to the
    parent) is shorter than NOISE_BONE_FRACTION of the height or NOISE_BONE_STDS noise stds (than
    every bone read that way) has a length that jitters less than its noise: its std is read from
    the fourth difference of the bone's vector instead (motion moves a short bone's end little),
    where its length is not rigid and the vector's change is white (see _bone_vector_noise).
    Frames where ``valid`` [T,J] is False do not count; bones with fewer than NOISE_DIFFERENCES
    fourth differences tell nothing (joints without a usable bone take the median of the others; zeros where
    no bone tells anything, see noise_readable). Noise stronger across the bones than along them
    (depth from one camera) is read at its level over all directions where that clearly exceeds
    the lengths' reading (_all_round_level, _across_gain)."""
    T, J = positions.shape[:2]
    raw, samples, _ = _bone_length_noise(positions, parents, valid)  # [J]: bone to the parent
    rest = np.asarray(rest_lengths, np.float64)
    long = _noise_bones(raw, rest, height)
    short = np.flatnonzero(~long & (np.asarray(parents) >= 0) & (rest < rest[long].min(initial=np.inf)))
    bone_noise, components = np.where(long, raw, np.nan), np.ones(J)
    if long.any() and len(short):
        bone_noise[short], samples[short] = _bone_vector_noise(positions, short, np.asarray(parents)[short], valid)
        components[short] = 3.0  # a vector's three axes
    if not np.isfinite(bone_noise).any():
        return np.zeros(J)
    counted = np.where(np.isfinite(bone_noise), samples, 0.0)  # differences behind each bone's reading
    row, child, parent = _bone_rows(np.asarray(parents))
    per_joint = np.full((1 + row.max(initial=0), J), np.nan)  # [bones, J]: to the parent, children's
    read_from, spans = np.zeros_like(per_joint), np.zeros_like(per_joint)
    per_joint[0], read_from[0], spans[0] = bone_noise, counted, counted / components
    per_joint[row, parent], read_from[row, parent] = bone_noise[child], counted[child]
    spans[row, parent] = counted[child] / components[child]
    out = _pooled_where_few(column_nanmedian(per_joint) / np.sqrt(2.0), read_from.sum(axis=0),
                            spans.max(axis=0))
    out = np.where(np.isnan(out), column_nanmedian(bone_noise[:, None])[0] / np.sqrt(2.0), out)
    present = ~all_per_point(np.isnan(positions))
    out = np.where(present, out, 0.0)
    fit = _direction_fit(positions, parents, raw, rest, height, valid)
    if fit is None:
        return out
    level, surely = _all_round_level(fit)
    return out * _across_gain(level, surely, out, height, _uneven_share(fit))


class NoiseDirections(NamedTuple):
    """The noise's principal directions (``axes`` [3,3], columns, weakest first), each one's std
    over their root mean square (``factors`` [3], counted as far as ``share`` says) and how surely
    the noise is stronger along one direction (``share``, 0..1: _uneven_share)."""

    axes: np.ndarray
    factors: np.ndarray
    share: float


def noise_directions(positions: np.ndarray, parents: np.ndarray, rest_lengths: np.ndarray, height: float,
                     valid: np.ndarray | None = None) -> NoiseDirections | None:
    """The NoiseDirections of the noise of positions [T,J,3] (the rest as estimate_noise): the
    factors counted as far as the strongest direction surely (less ANISOTROPY_STDS of its standard
    error) exceeds the mean by ANISOTROPY_SHARES (factors of 1 below: the same in every direction);
    None where the fit reads nothing (clean tracks, few bones or frames)."""
    raw, _, _ = _bone_length_noise(positions, parents, valid)
    fit = _direction_fit(positions, parents, raw, np.asarray(rest_lengths, np.float64), height, valid)
    if fit is None or _all_round_level(fit)[0] <= AUTO_THRESHOLD * height:
        return None
    values, axes, errors = _principal_variances(fit)
    share = _uneven_share(fit)
    told = _not_below_zero(values, errors)
    factors = np.sqrt(np.maximum(told, 1e-4 * told.max()) / max(told.mean(), 1e-300)) ** share
    return NoiseDirections(axes, factors / np.sqrt(np.mean(factors ** 2)), share)


def _principal_variances(fit: tuple[np.ndarray, np.ndarray, float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(variances [3], weakest first; their directions [3,3], columns; each variance's standard
    error [3]) of S from its ``fit`` (_direction_fit). A direction the bones hardly lie along or
    across (a hand's fingers, all near one plane) is told poorly: its error is of the order of the
    noise's own variance, and its variance read anywhere from below 0 to several times the noise."""
    s, inverse, spread = fit
    values, axes = np.linalg.eigh(_symmetric(s))
    rows = _direction_rows(axes.T)
    return values, axes, np.sqrt(np.maximum(spread * np.einsum("ni,ij,nj->n", rows, inverse, rows), 0.0))


def _not_below_zero(values: np.ndarray, errors: np.ndarray) -> np.ndarray:
    """[3] each variance's expected value given that it is not below 0, read as ``values`` with
    Gaussian sampling ``errors``: a reading many errors above 0 keeps its value, one below 0 or
    within an error or two of it (a direction the bones hardly tell) counts as what a variance cut
    at 0 averages. Clamped at 0 instead, such a direction was read as noiseless and left unsmoothed
    (factor 0.02), its noise passing into the rotations."""
    z = np.maximum(values / np.maximum(errors, 1e-300), -30.0)
    positive = np.array([0.5 * math.erfc(-float(x) / math.sqrt(2.0)) for x in z])  # the reading's chance above 0
    return values + errors * np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi) / positive


def _uneven_share(fit: tuple[np.ndarray, np.ndarray, float]) -> float:
    """0..1: how surely the noise is stronger in one direction than on average, from the ``fit`` of
    S (_direction_fit):
    its strongest direction's std, less ANISOTROPY_STDS of the standard error of its variance, over
    the mean's (each variance counted as _not_below_zero), from ANISOTROPY_SHARES[0] (0) to [1] (1);
    0 where S reads no noise, or a variance below 0 by more than ANISOTROPY_STDS of its standard
    error in its weakest direction. The mean of the readings themselves counted a direction the
    bones hardly tell at its reading: white noise on a hand, its fingers near one plane, read the
    variance across that plane far below 0 (within its error), the mean at a third of the noise's,
    and the strongest direction surely 1.6 times that."""
    values, _, error = _principal_variances(fit)
    mean = float(_not_below_zero(values, error).mean())
    if values.mean() <= 0.0 or values[0] < -ANISOTROPY_STDS * error[0]:
        return 0.0  # no covariance has a variance below 0: the fit read something else (a spike's rest)
    surely = values[-1] - ANISOTROPY_STDS * error[-1]
    return float(smoothstep((np.sqrt(max(surely, 0.0) / mean) - ANISOTROPY_SHARES[0])
                            / (ANISOTROPY_SHARES[1] - ANISOTROPY_SHARES[0])))


def _symmetric(s: np.ndarray) -> np.ndarray:
    """[3,3] the symmetric matrix of its six entries ``s`` (diagonal, then xy, xz, yz)."""
    return np.array([[s[0], s[3], s[4]], [s[3], s[1], s[5]], [s[4], s[5], s[2]]])


def _direction_rows(u: np.ndarray) -> np.ndarray:
    """[n,6] the rows u^T S u of unit directions ``u`` [n,3] (or one [3]) in S's six entries."""
    u = np.atleast_2d(u)
    return np.stack([u[:, 0] ** 2, u[:, 1] ** 2, u[:, 2] ** 2, 2 * u[:, 0] * u[:, 1], 2 * u[:, 0] * u[:, 2],
                     2 * u[:, 1] * u[:, 2]], axis=1)


def _direction_fit(positions: np.ndarray, parents: np.ndarray, raw: np.ndarray, rest: np.ndarray, height: float,
                   valid: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, float] | None:
    """(S's six entries, the inverse of the fit's normal matrix [6,6], the residuals' variance, as
    many times larger as overlapping differences make the fit's sampling error: _D4_SQUARE_OVERLAP) of
    how the fourth differences of the long bones' lengths depend on the bones' directions u: a
    length sees both ends' noise along its bone, the variance u^T S u with S twice the noise's
    covariance (the same for every joint), fitted by least squares over the bones (``raw`` [J]
    their length noise read, ``rest`` [J] their rest lengths) and frames; a bone's differences
    beyond ANISOTROPY_TRIM times its median square are left out (a spike, not noise), and so are
    bones reading over ANISOTROPY_SPREAD times the median (a translating joint's, a glitch's). None
    on clean tracks (no level the bones read within that spread reaches AUTO_THRESHOLD), or where
    fewer than 6 bones or ANISOTROPY_SAMPLES differences tell it."""
    parents = np.asarray(parents)
    long = _noise_bones(raw, rest, height)
    typical = float(np.median(raw[long])) if long.any() else 0.0
    if ANISOTROPY_SPREAD * typical / np.sqrt(2.0) <= AUTO_THRESHOLD * height:
        return None
    bones = np.flatnonzero(long & (raw <= ANISOTROPY_SPREAD * typical))
    if len(bones) < 6:
        return None
    v = positions[:, bones] - positions[:, parents[bones]]  # [T,B,3]
    length = norm(v)
    ok = ~np.isnan(length)
    if valid is not None:
        ok &= valid[:, bones] & valid[:, parents[bones]]
    d4 = _fourth_difference(length)
    ok4, _ = _differences(ok)
    square = np.where(ok4, d4 * d4, np.nan)
    with np.errstate(invalid="ignore"):
        ok4 &= (square <= ANISOTROPY_TRIM * column_nanmedian(square)[None]) & (length[2:-2] > 0)
    u = v[2:-2][ok4] / length[2:-2][ok4][:, None]  # [n,3] each difference's bone direction
    if len(u) < ANISOTROPY_SAMPLES:
        return None
    x = _direction_rows(u)
    y = square[ok4] / _D4_GAIN ** 2
    inverse = np.linalg.pinv(x.T @ x)  # the normal equations (bones in one plane leave S's normal part open)
    s = inverse @ (x.T @ y)  # S's six entries: diagonal, then off it
    return s, inverse, _D4_SQUARE_OVERLAP * float(np.sum((y - x @ s) ** 2)) / (len(y) - 6)


def _all_round_level(fit: tuple[np.ndarray, np.ndarray, float]) -> tuple[float, float]:
    """The noise std per axis (file units) over all three directions from the ``fit`` of S
    (_direction_fit): the root of its trace over 6, and of the trace less ANISOTROPY_STDS of its
    standard error (a few frames or bones in few directions tell it poorly: the level it surely
    reaches)."""
    s, inverse, spread = fit
    trace_var = spread * inverse[:3, :3].sum()  # the trace's sampling variance
    trace = float(s[:3].sum())
    return (float(np.sqrt(max(trace, 0.0) / 6.0)),
            float(np.sqrt(max(trace - ANISOTROPY_STDS * np.sqrt(trace_var), 0.0) / 6.0)))


def _across_gain(level: float, surely: float, read: np.ndarray, height: float, uneven: float = 0.0) -> float:
    """How much to raise the noise ``read`` [J] from the bones' lengths (the noise along them) to
    the noise at ``level`` over all directions: 1 while the level it ``surely`` reaches is within
    ANISOTROPY_SHARES[0] times the readings' median (white noise: within 8 % on the development
    clips), level over that median from ANISOTROPY_SHARES[1] on, smoothly between: noise stronger
    across the bones than along them (depth from one camera, across limbs that lie in the image
    plane) moves their directions more than their lengths show. As far as the noise is ``uneven``
    (0..1: how surely it is stronger in one direction, _uneven_share) the lengths read it only as
    their directions happen to lie, and the level counts whole. 1 where the level is below
    AUTO_THRESHOLD of the ``height``: clean tracks stay clean."""
    seen = read[read > 0]
    if not seen.size or level <= AUTO_THRESHOLD * height:
        return 1.0
    typical = float(np.median(seen))
    share = smoothstep((surely / typical - ANISOTROPY_SHARES[0]) / (ANISOTROPY_SHARES[1] - ANISOTROPY_SHARES[0]))
    return float(max(level / typical, 1.0) ** max(float(share), uneven))


def noise_correlation(positions: np.ndarray, parents: np.ndarray, rest_lengths: np.ndarray, height: float,
                      valid: np.ndarray | None = None) -> float:
    """The lag-one correlation (0 for white noise) of the noise of positions [T,J,3] (the rest as
    estimate_noise) from one frame to the next, as the bones estimate_noise reads show it
    (_correlation)."""
    raw, _, ratios = _bone_length_noise(positions, parents, valid)
    return _correlation(ratios[_noise_bones(raw, np.asarray(rest_lengths, np.float64), height)])


def _correlation(ratios: np.ndarray) -> float:
    """The noise's lag-one correlation rho from the bones' squared ratios [B] of the robust spreads
    of their lengths' fourth and first differences (NaN: not read): 35 for white noise, less for
    noise of the form x_t = rho x_(t-1) + e_t (_fourth_over_first); each bone's ratio read as
    such, their median, counted as far as it stands out from 0 by CORRELATION_STDS of its
    standard error (the bones' readings share their joints' noise: about half as many independent
    ones); 0 with fewer than 3 bones or where it does not (white noise, or anti-correlated)."""
    ratios = ratios[np.isfinite(ratios)]
    if len(ratios) < 3:
        return 0.0
    table = _fourth_over_first(_CORRELATIONS)  # falls as rho grows
    rho = np.interp(-ratios, -table, _CORRELATIONS)
    middle = float(np.median(rho))
    error = 1.2533 * 1.4826 * float(np.median(np.abs(rho - middle))) / np.sqrt(0.5 * len(rho))
    z = middle / max(error, 1e-12)
    return max(0.0, middle) * float(smoothstep((z - CORRELATION_STDS[0]) / (CORRELATION_STDS[1] - CORRELATION_STDS[0])))


def _fourth_over_first(rho: np.ndarray) -> np.ndarray:
    """The variance of the fourth difference of noise x_t = rho x_(t-1) + e_t over that of its
    first difference."""
    return _fourth_variance(rho) / (2.0 * (1.0 - rho))


def _fourth_variance(rho: float | np.ndarray) -> float | np.ndarray:
    """The variance of the fourth difference of noise of variance 1 and lag-one correlation rho
    (x_t = rho x_(t-1) + e_t): 70 when white."""
    return 70.0 - 112.0 * rho + 56.0 * rho ** 2 - 16.0 * rho ** 3 + 2.0 * rho ** 4


def correlated_noise_gain(rho: float) -> float:
    """How much larger the std of noise of lag-one correlation rho is than estimate_noise reads it
    (from its fourth difference, as if white): such noise changes less from frame to frame."""
    return float(_D4_GAIN / np.sqrt(_fourth_variance(rho)))


def correlated_share(hat: np.ndarray, rho: float) -> np.ndarray:
    """[...] how many times the variance left by a smoother of hat diagonal ``hat`` [...] (the
    share of white noise's variance it leaves, about one over the samples it averages) grows where
    the noise has lag-one correlation rho: the variance of the mean of n = 1 / hat samples of such
    noise over that of white noise, (1 + rho) / (1 - rho) - 2 rho (1 - rho^n) / (n (1 - rho)^2);
    1 for one sample, or white noise."""
    if rho <= 0.0:
        return np.ones_like(hat)
    n = 1.0 / np.clip(hat, 1e-12, 1.0)
    return (1.0 + rho) / (1.0 - rho) - 2.0 * rho * (1.0 - rho ** n) / (n * (1.0 - rho) ** 2)


def _bone_rows(parents: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row [B], child [B], parent [B]) of the B bones of ``parents`` [J] (-1: none): each child's
    place among its parent's children in ascending order, counted from 1 (row 0 is the parent's own
    bone)."""
    child = np.flatnonzero(parents >= 0)
    parent = parents[child]
    order = np.argsort(parent, kind="stable")  # siblings stay ascending
    first = np.searchsorted(parent[order], parent[order])  # where each one's sibling group starts
    row = np.empty(len(child), np.int64)
    row[order] = np.arange(len(child)) - first + 1
    return row, child, parent


def _pooled_where_few(noise: np.ndarray, samples: np.ndarray, spans: np.ndarray) -> np.ndarray:
    """[J] per-joint noise ``noise`` [J] (NaN: not read), each read from ``samples`` [J] fourth
    differences (its bones' and axes' together), ``spans`` [J] of them in time (the most of any one
    bone), pulled towards the clip's typical level as far as its few samples leave it uncertain
    (empirical Bayes on the log scale): a noise read from n differences is off by a factor whose
    log has variance MAD_LOG_VARIANCE / n, and the joints' readings spread by that plus what really
    differs between them (read robustly: the MAD of the readings, less the typical
    sampling variance); each keeps the share of its difference from their median that the real
    differences explain. A reading further from the median than sampling and that spread explain
    (OWN_STDS) is its own: one joint five times noisier than the body, over 30-60 frames; but not
    where one stretch of frames the track was pushed off on can make the whole reading (at most
    2 BURST_DIFFERENCES differences in time: a fingertip off for 3 of 10 frames reads 28 times
    the others' noise, and let the tip end 24 % of the height off its track unwarned). Long clips
    keep their joints' own levels (a hand twice as noisy as the body), while a few frames, which
    read one joint of a body with even noise 3.7 times too noisy, read them all near their median.
    Zero readings (clean tracks) stay."""
    read = np.isfinite(noise) & (noise > 0) & (samples > 0)
    if read.sum() < 3:
        return noise
    x, sampling = np.log(noise[read]), MAD_LOG_VARIANCE / samples[read]
    middle = float(np.median(x))
    real = max(0.0, float((1.4826 * np.median(np.abs(x - middle))) ** 2 - np.median(sampling)))
    z = np.abs(x - middle) / np.sqrt(sampling + real)
    own = smoothstep((z - OWN_STDS[0]) / (OWN_STDS[1] - OWN_STDS[0])) * (spans[read] > 2 * BURST_DIFFERENCES)
    out = noise.copy()
    out[read] = np.exp(x - (1.0 - own) * sampling / (real + sampling) * (x - middle))
    return out


def _noise_bones(raw: np.ndarray, rest: np.ndarray, height: float) -> np.ndarray:
    """[J] the bones to read the noise from: at least NOISE_BONE_FRACTION of the height and
    NOISE_BONE_STDS noise stds long (the length of a bone only a few noise stds long jitters less
    than the noise) — or, where no bone is that long, the longest quarter of the bones."""
    seen = np.isfinite(raw) & (rest > 0)
    if not seen.any():
        return seen
    long = seen & (rest >= NOISE_BONE_FRACTION * height)
    if not long.any():
        long = seen & (rest >= np.percentile(rest[seen], 75))
    longer = long & (rest >= NOISE_BONE_STDS * np.median(raw[long]) / np.sqrt(2.0))
    return longer if longer.any() else long & (rest >= np.percentile(rest[long], 75))


def _bone_length_noise(positions: np.ndarray, parents: np.ndarray, valid: np.ndarray | None
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """([J] robust std, divided by that of white noise, of the fourth difference of each joint's
    distance to its parent (NaN where there is no parent, too few data, or the distance changes
    more smoothly than noise does: motion; where it keeps one length to rounding, as clean
    tracks do, the rounding's std however smoothly it changes: neither end carries noise), [J]
    how many differences it was read from, [J] the squared ratio of the robust spreads of the
    fourth and first differences where it was read as noise (not rounding; else NaN))."""
    T, J = positions.shape[:2]
    out, samples, ratios = np.full(J, np.nan), np.zeros(J), np.full(J, np.nan)
    bones = np.flatnonzero(np.asarray(parents) >= 0)
    if T < 5 or not bones.size:
        return out, samples, ratios
    par = np.asarray(parents)[bones]
    length = bone_lengths(positions, bones, par)  # [T,B]
    ok = ~np.isnan(length)
    if valid is not None:
        ok &= valid[:, bones] & valid[:, par]
    rigid = _rigid(length, ok, float32_step(positions))
    out[bones], samples[bones], ratios[bones] = _white_noise_std(length[..., None], ok, rigid)
    ratios[bones[rigid]] = np.nan  # rounding, not noise: it tells nothing of noise from frame to frame
    return out, samples, ratios


def _rigid(length: np.ndarray, ok: np.ndarray, step: float) -> np.ndarray:
    """[B] whether each column of ``length`` [T,B] (distances between two points) keeps one value
    over its frames ``ok`` [T,B] to rounding (tracks.keeps_to_rounding with the float32 ``step``: a
    clean clip 50 heights from the origin moves its bones' lengths by 1e-5 of the height); False
    where it has no data."""
    longest = np.where(ok, length, -np.inf).max(axis=0)
    shortest = np.where(ok, length, np.inf).min(axis=0)
    return ok.any(axis=0) & keeps_to_rounding(longest - shortest, longest, step)


def _white_noise_std(x: np.ndarray, ok: np.ndarray, rigid: np.ndarray | None = None
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """([B] robust std, divided by that of white noise, of the fourth difference over time of each
    of B series x [T,B,k] (its k components pooled), over the frames ``ok`` [T,B]; NaN where there
    are fewer than 5 such differences, or where the series changes more smoothly than noise does
    (but for the ``rigid`` [B] series, which keep one value and change by rounding only, see
    _rigid): white noise has a fourth difference sqrt(35) times its first, while a length or
    vector that changes with the motion (a translating joint, seen at a low frame rate) has a
    smaller ratio; [B] how many differences (times k) each was read from; [B] the squared ratio of
    the fourth difference's spread to the first's, NaN where the std is)."""
    d4 = _fourth_difference(x)
    ok4, enough = _differences(ok)
    ok1 = ok[1:] & ok[:-1]
    mad = _pooled_nanmedian(np.where(ok4[..., None], np.abs(d4), np.nan))
    mad1 = _pooled_nanmedian(np.where(ok1[..., None], np.abs(x[1:] - x[:-1]), np.nan))
    usable = enough & ((mad >= WHITE_RATIO * np.sqrt(35.0) * mad1) | (
        False if rigid is None else rigid))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(usable & (mad1 > 0), (mad / mad1) ** 2, np.nan)
    return np.where(usable, 1.4826 * mad / _D4_GAIN, np.nan), ok4.sum(axis=0) * float(x.shape[-1]), ratio


def _fourth_difference(x: np.ndarray) -> np.ndarray:
    """[T-4,...] the fourth difference over time of x [T,...], centred on frames 2..T-3."""
    return x[4:] - 4 * x[3:-1] + 6 * x[2:-2] - 4 * x[1:-3] + x[:-4]


def _differences(ok: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """([T-4,B] where a fourth difference of each of B series has data, ``ok`` [T,B] in its five
    frames in a row, [B] whether a series has the NOISE_DIFFERENCES such differences its noise is
    read from)."""
    ok4 = ok[4:] & ok[3:-1] & ok[2:-2] & ok[1:-3] & ok[:-4]
    return ok4, ok4.sum(axis=0) >= NOISE_DIFFERENCES


def _pooled_nanmedian(x: np.ndarray) -> np.ndarray:
    """[B] column_nanmedian of x [T,B,k] over its frames and components together."""
    return column_nanmedian(x.transpose(0, 2, 1).reshape(-1, x.shape[1]))


def _bone_vector_noise(positions: np.ndarray, joints: np.ndarray, parents: np.ndarray,
                       valid: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """([B], and how many differences it was read from) robust std, divided by that of white
    noise, of the fourth difference of the vectors from ``parents`` [B] to ``joints`` [B] (each
    axis): the noise of both ends for a bone short
    enough that its turns move its end less than the noise does. NaN where there are too few data,
    the vector changes more smoothly than noise does (motion: the same whiteness test as for
    lengths), or its length is rigid (clean tracks: noise always moves a bone's length, if less
    than its noise)."""
    v = positions[:, joints] - positions[:, parents]  # [T,B,3]
    ok = ~any_axis(np.isnan(v))
    if valid is not None:
        ok &= valid[:, joints] & valid[:, parents]
    rigid = _rigid(norm(v), ok, float32_step(positions)) | ~ok.any(axis=0)  # no data: rigid too
    std, samples, _ = _white_noise_std(v, ok)
    return np.where(rigid, np.nan, std), samples


def moving_offsets(positions: np.ndarray, parents: np.ndarray, joints: np.ndarray, rest_lengths: np.ndarray,
                   height: float, keyed: np.ndarray | None) -> np.ndarray:
    """[B] whether the offsets of ``joints`` [B] from their parents (nodes that place the body:
    Skeleton.root_line) in positions [T,N,3] (``parents`` [N], ``rest_lengths`` [N] as noise_on_keys)
    change with the motion rather than by noise: they wander (see wandering), or their length
    jitters louder than the noise of the other points at its ends explains but by rare chance
    (OWN_STDS of a reading's spread, MAD_LOG_VARIANCE; each end counted with the whole of its bones'
    readings, which a joint's noise splits evenly between their ends, as a noisy end beside clean
    ones carries all of it): noise touches every track, and tracks that read clean around an
    offset leave its jitter to the motion (a video capture's hips bobbing over a floor root, seen
    at a few frames a second). A node with no bone but these offsets (a floor root) is taken as
    noisy as the node below it (noise_across_cuts). Lengths that keep one value to rounding do not
    move. Read on the ``keyed`` frames."""
    joints = np.asarray(joints, np.int64)
    line_parents = np.asarray(parents)[joints]
    rows = _read_rows(positions, keyed, None)
    X = positions if rows is None else positions[rows]
    others = np.array(parents, copy=True)
    others[joints] = -1
    around = noise_on_keys(positions, others, rest_lengths, height, keyed, tree=parents)
    alone = np.full(len(others), -1)
    alone[joints] = line_parents
    reading, samples, _ = _bone_length_noise(X, alone, None)
    explained = np.sqrt(2.0) * np.hypot(around[joints], around[line_parents]) * np.exp(
        OWN_STDS[1] * np.sqrt(MAD_LOG_VARIANCE / np.maximum(samples[joints], 1.0)))
    louder = np.isfinite(reading[joints]) & (reading[joints] > explained)
    lengths = bone_lengths(X, joints, line_parents)
    return (louder | wandering(lengths)) & ~_rigid(lengths, ~np.isnan(lengths), float32_step(X))


def noise_across_cuts(noise: np.ndarray, read_from: np.ndarray, parents: np.ndarray) -> np.ndarray:
    """[N] ``noise`` [N] read from the bones to ``read_from`` [N] (the ``parents`` [N] with some bones
    cut, -1) where each node left with no bone by the cuts is taken as noisy as the node its cut bone
    leads to, from the deepest up: a floor root whose offset to the hips moves with the motion shares
    the hips' noise (a root placed from a noisy pelvis), not the clip's typical level (a clean body's
    0 left a floor root and hips jittered by 2 % unsmoothed, and the hips flipped)."""
    out = np.array(noise, np.float64, copy=True)
    read_from, parents = np.asarray(read_from), np.asarray(parents)
    boned = read_from >= 0
    boned[read_from[read_from >= 0]] = True
    for j in np.flatnonzero((read_from < 0) & (parents >= 0))[::-1]:
        if not boned[parents[j]]:
            out[parents[j]] = out[j]
    return out


def length_spread_noise(positions: np.ndarray, parents: np.ndarray, rest_lengths: np.ndarray, height: float,
                        valid: np.ndarray | None = None) -> np.ndarray:
    """[J] one noise std per axis (file units) for every joint with data in positions [T,J,3] of
    too few frames for the fourth differences estimate_noise reads (from 2): real motion keeps a
    bone's length from frame to frame, while noise s per axis at both ends spreads it by s sqrt 2
    (on a bone much longer than s). Each bone (to ``parents`` [J], of ``rest_lengths`` [J]) with
    data at both ends (and ``valid`` [T,J]) in 2 frames or more reads that spread as its lengths'
    sample variance over the median of a chi-square of its degrees of freedom over them
    (Wilson-Hilferty); the bones read are those estimate_noise reads (_noise_bones), the level the
    median over them: a joint that translates is one bone of many. Zeros where no bone reads;
    tracks whose bones keep their lengths read their rounding."""
    T, J = positions.shape[:2]
    spread = np.full(J, np.nan)  # [J] each bone's length std, to its parent
    bones = bones_with_length(parents, rest_lengths)
    if T >= 2 and bones.size:
        ok = _with_data(positions, valid)
        lengths = bone_lengths(positions, bones, np.asarray(parents)[bones], ~ok)  # [T,B]
        dof = (~np.isnan(lengths)).sum(axis=0) - 1.0
        read = dof >= 1
        if read.any():
            x, dof = lengths[:, read], dof[read]
            variance = np.nanvar(x, axis=0, ddof=1)  # over dof = frames - 1
            median_share = (1.0 - 2.0 / (9.0 * dof)) ** 3  # a chi-square's median over its degrees of freedom
            spread[bones[read]] = np.sqrt(variance / median_share)
    used = _noise_bones(spread, np.asarray(rest_lengths, np.float64), height)
    if not used.any():
        return np.zeros(J)
    level = float(np.median(spread[used])) / np.sqrt(2.0)
    return np.where(all_per_point(np.isnan(positions)), 0.0, level)


def wandering(lengths: np.ndarray) -> np.ndarray:
    """[B] whether each of B lengths [T,B] (NaN: no data) varies over the clip further than white
    noise with its frame-to-frame changes (their std over sqrt 2) would but by rare chance
    (WANDER_SPREAD): it changes with the motion (a translating joint, a drifting offset) rather than
    jitter about one value. A spike raises the changes more than the spread: it reads as jitter.
    False with fewer than NOISE_FRAMES frames of data."""
    x = np.asarray(lengths, np.float64)
    d = np.diff(x, axis=0)
    n, m = np.maximum((~np.isnan(x)).sum(axis=0), 1), np.maximum((~np.isnan(d)).sum(axis=0), 1)
    mean = np.nansum(x, axis=0) / n
    spread = np.sqrt(np.nansum((x - mean) ** 2, axis=0) / n)
    jitter = np.sqrt(np.nansum(d ** 2, axis=0) / m / 2.0)
    return (n >= NOISE_FRAMES) & (spread > (1.0 + WANDER_SPREAD / np.sqrt(n)) * jitter)


def bone_lengths(positions: np.ndarray, joints: np.ndarray, parents: np.ndarray,
                 no_data: np.ndarray | None = None) -> np.ndarray:
    """[T,B] distances of ``joints`` [B] from their ``parents`` [B] in positions [T,J,3] (NaN where
    either is missing, or is a sample ``no_data`` [T,J] marks: a gap filled by interpolation),
    stored bone by bone (each bone's frames together, as medians over the clip like them)."""
    x = np.ascontiguousarray(joint_planes(np.asarray(positions, np.float64)))  # [J,3,T]
    joints, parents = np.asarray(joints, np.int64), np.asarray(parents, np.int64)
    out = np.empty((len(joints), x.shape[-1]))
    for bones in joint_batches(np.arange(len(joints)), x.shape[-1]):
        d = joint_rows(x, joints[bones]) - joint_rows(x, parents[bones])  # [n,3,T]
        out[bones] = norm(np.moveaxis(d, 1, -1))
    if no_data is not None:
        out[(no_data[:, joints] | no_data[:, parents]).T] = np.nan
    return out.T


def column_nanmedian(x: np.ndarray) -> np.ndarray:
    """[N] median of each column of x [T,N] over its non-NaN values (NaN for a column without any):
    np.nanmedian(x, axis=0), by one (partial) sort of all columns at once."""
    if x.shape[0] == 0:
        return np.full(x.shape[1:], np.nan)
    nan = np.isnan(x)
    if not nan.any():
        return _column_median(x)
    n = x.shape[0] - nan.sum(axis=0)
    ordered = np.sort(x, axis=0)  # NaN sort last
    cols = np.arange(x.shape[1])
    low, high = ordered[np.maximum(n - 1, 0) // 2, cols], ordered[np.maximum(n // 2, 0), cols]
    return np.where(n > 0, (low + high) / 2, np.nan)


def _column_median(x: np.ndarray) -> np.ndarray:
    """[N] median of each column of x [T,N] (T > 0, no NaN): one partial sort at the upper middle
    place, whose lower part holds the lower middle value as its largest (a partial sort at both
    places at once takes several times longer)."""
    T = x.shape[0]
    half = T // 2
    ordered = np.partition(x, half, axis=0)
    high = ordered[half]
    low = high if T % 2 else ordered[:half].max(axis=0)
    return (low + high) / 2


def noise_on_keys(positions: np.ndarray, parents: np.ndarray, rest_lengths: np.ndarray, height: float,
                  keyed: np.ndarray | None, valid: np.ndarray | None = None, tree: np.ndarray | None = None,
                  spread: bool = False) -> np.ndarray:
    """estimate_noise of ``positions`` [T,N,3] (the rest as there) read on the frames _read_rows
    picks: the ``keyed`` [T] ones (every point a key) when some frames are not keys and at least 5
    are (between keys the points follow the animation's smooth curves, whatever noise the keys
    hold, so read over every frame that noise passes for motion: bones that seem to stretch), and
    of those the frames where some point has data (and ``valid`` [T,N]). ``tree`` [N]: the whole
    tree's parents where ``parents`` cut some of its bones; a node the cuts leave without a bone
    then takes the noise of the node below it (noise_across_cuts). ``spread``: read as
    length_spread_noise instead (a clip too short for fourth differences)."""
    read = length_spread_noise if spread else estimate_noise
    noise = _on_read_rows(read, positions, parents, rest_lengths, height, keyed, valid)
    return noise if tree is None else noise_across_cuts(noise, parents, tree)


def correlation_on_keys(positions: np.ndarray, parents: np.ndarray, rest_lengths: np.ndarray, height: float,
                        keyed: np.ndarray | None, valid: np.ndarray | None = None) -> float:
    """noise_correlation of ``positions`` [T,N,3] read on the frames noise_on_keys reads."""
    return _on_read_rows(noise_correlation, positions, parents, rest_lengths, height, keyed, valid)


def directions_on_keys(positions: np.ndarray, parents: np.ndarray, rest_lengths: np.ndarray, height: float,
                       keyed: np.ndarray | None, valid: np.ndarray | None = None) -> NoiseDirections | None:
    """noise_directions of ``positions`` [T,N,3] read on the frames noise_on_keys reads."""
    return _on_read_rows(noise_directions, positions, parents, rest_lengths, height, keyed, valid)


def _on_read_rows(read: Callable, positions: np.ndarray, parents: np.ndarray, rest_lengths: np.ndarray,
                  height: float, keyed: np.ndarray | None, valid: np.ndarray | None):
    """``read`` (estimate_noise, noise_correlation or noise_directions) of ``positions`` [T,N,3] on the frames
    _read_rows picks (the rest passed on as they are)."""
    rows = _read_rows(positions, keyed, valid)
    if rows is None:
        return read(positions, parents, rest_lengths, height, valid)
    return read(positions[rows], parents, rest_lengths, height, None if valid is None else valid[rows])


def _read_rows(positions: np.ndarray, keyed: np.ndarray | None, valid: np.ndarray | None) -> np.ndarray | None:
    """The frames noise_on_keys reads of positions [T,N,3] (None: every frame): the ``keyed`` [T]
    ones (see there), less the frames where no point has data (NaN, or not ``valid`` [T,N]). Those
    carry nothing, while left in they break the runs of five frames a fourth difference needs: a
    file that gives every other frame (a tracker run at half the rate) is read at the rate it was
    sampled, as a bone's length is the same at any rate and its noise a property of each sample."""
    rows = np.ones(len(positions), bool) if keyed_rows(keyed) is None else keyed.copy()
    rows &= _with_data(positions, valid).any(axis=1)
    return None if rows.all() or not rows.any() else np.flatnonzero(rows)


def keyed_rows(keyed: np.ndarray | None) -> np.ndarray | None:
    """The ``keyed`` frames [T] (bool) where they tell keys from the frames between them: some frame
    is no key and at least MIN_KEYS are; else None (every frame counts as a sample)."""
    if keyed is None or keyed.all() or keyed.sum() < MIN_KEYS:
        return None
    return keyed


def noise_readable(positions: np.ndarray, parents: np.ndarray, rest_lengths: np.ndarray,
                   keyed: np.ndarray | None = None, valid: np.ndarray | None = None) -> bool:
    """Whether noise_on_keys can read noise from positions [T,N,3] (NaN = missing) at all: some
    bone it reads (to the ``parents`` [N], -1: none, of ``rest_lengths`` [N] > 0) has
    NOISE_DIFFERENCES fourth differences with data at both ends (and ``valid`` [T,N]) on the frames
    it reads (_read_rows). Where none has, as in a clip shorter than NOISE_FRAMES frames, the noise
    reads 0 whatever it is (smoothing.clean_positions may then read one level from the bones'
    lengths: length_spread_noise)."""
    rows = _read_rows(positions, keyed, valid)
    if rows is not None:
        positions, valid = positions[rows], None if valid is None else valid[rows]
    bones = bones_with_length(parents, rest_lengths)
    if len(positions) < NOISE_FRAMES or not bones.size:
        return False
    ok = _with_data(positions, valid)
    ok = ok[:, bones] & ok[:, np.asarray(parents)[bones]]  # [T,B]
    return bool(_differences(ok)[1].any())


def bones_with_length(parents: np.ndarray, rest_lengths: np.ndarray) -> np.ndarray:
    """[B] the joints whose bone to the parent (``parents`` [N], -1: none) has a rest length
    (``rest_lengths`` [N] > 0): the bones noise is read along."""
    return np.flatnonzero((np.asarray(parents) >= 0) & (np.asarray(rest_lengths) > 0))


def _with_data(positions: np.ndarray, valid: np.ndarray | None) -> np.ndarray:
    """[T,N] the samples of positions [T,N,3] with data: no NaN, and ``valid`` [T,N] where given."""
    data = ~any_axis(np.isnan(positions))
    return data if valid is None else data & valid
