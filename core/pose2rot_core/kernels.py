"""Local quadratic smoothing of tracks and the choice of its kernel widths.

``local_quadratic`` fits a quadratic in time around every frame under a Gaussian kernel (zero
phase, weights per sample, gaps at weight 0) and returns the hat diagonal: the share of a frame's
own noise variance left in its estimate. ``choose_widths`` picks each joint's widest kernel by
Stein's unbiased risk estimate and narrows it frame by frame where the motion is too fast for it
(Lepski's method at the universal threshold of the clip's comparisons), so a filter never bends
real motion beyond what its noise explains. Stacks are ``[T,J,D]`` (frames, joints, 3 or 4).
"""
from __future__ import annotations

import math

import numpy as np

from .rotations import norm

#: kernel widths (Gaussian std, seconds) that ``auto`` chooses from per joint
WIDTH_GRID_SECONDS = (0.008, 0.012, 0.017, 0.025, 0.035, 0.05, 0.07, 0.1, 0.14, 0.2, 0.28, 0.4)
#: variances (in noise variances, sums of terms of order 1) at most this are rounding: no difference
_ROUNDED_VARIANCE = 1e-12
#: smoothing moves no sample further than this many noise stds (per axis): a 3-D Gaussian vector
#: is shorter than 3.37 stds 99 % of the time
CLAMP_STDS = 3.4


def _column_percentile(x: np.ndarray, q: float) -> np.ndarray:
    """[N] ``np.percentile(x, q, axis=0)`` of x [T,N] (T > 0; the same numbers, linear
    interpolation, NaN for a column with NaN): one partial sort at the upper of the two places,
    whose lower part holds the value at the lower one as its largest (numpy sorts at both, and at
    the last place for NaN: several times longer)."""
    T = x.shape[0]
    at = (T - 1) * (q / 100)  # where numpy's "linear" method reads it
    low = int(np.floor(at))
    if low >= T - 1:  # one frame, or the 100th percentile
        return np.percentile(x, q, axis=0)
    ordered = np.partition(x, low + 1, axis=0)
    a, b = ordered[:low + 1].max(axis=0), ordered[low + 1]
    gamma, step = at - low, b - a
    out = b - step * (1 - gamma) if gamma >= 0.5 else a + step * gamma
    return np.where(np.isnan(x).any(axis=0), np.nan, out)


def local_quadratic(positions: np.ndarray, weights: np.ndarray, widths: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Zero-phase smoothing of positions [T,J,D] (no NaN; D = 3, or 4 for quaternions) by a
    weighted local quadratic fit.

    Around every frame t a quadratic in time is fitted to the samples s with weights
    ``weights[s,j] * exp(-(s-t)^2 / (2 widths[j]^2))`` for |s-t| <= 3 widths[j] + 0.5 (widths [J]
    in frames; 0 = untouched) and evaluated at t. Returns (smoothed [T,J,D], hat diagonal [T,J]:
    the weight of each sample on its own estimate, 1 where untouched). A window with fewer than
    three samples of weight keeps its sample (see _constant_term_rows). The kernel is symmetric, so
    there is no lag. Joints of one width are fitted together (see _quadratic_fit).
    """
    T, J = positions.shape[:2]
    groups = np.unique(widths[widths > 0])
    if T >= 3 and len(groups) == 1 and (widths > 0).all() and positions.dtype == np.float64:
        return _quadratic_fit(positions, weights, float(groups[0]))  # one fit of every joint
    out = positions.copy()
    hat = np.ones((T, J))
    if T < 3:
        return out, hat
    for width in groups:
        cols = np.flatnonzero(widths == width)
        out[:, cols], hat[:, cols] = _quadratic_fit(positions[:, cols], weights[:, cols], float(width))
    return out, hat


def _quadratic_fit(P: np.ndarray, W: np.ndarray, width: float) -> tuple[np.ndarray, np.ndarray]:
    """local_quadratic of positions P [T,n,D] with weights W [T,n], all of kernel std ``width``.

    The window sums ``S_m[t] = sum_u k(u) u^m W[t+u]`` (m = 0..4) and ``Y_m[t] = sum_u k(u) u^m
    W[t+u] x[t+u]`` (m = 0..2) are correlations over time, taken by FFT; the S part, which depends
    on the weights alone, once for each distinct column of W (usually all ones)."""
    R = int(np.floor(3.0 * width + 0.5))
    u = np.arange(-R, R + 1, dtype=np.float64)
    k = np.exp(-0.5 * (u / width) ** 2)
    X = P * W[..., None]
    distinct, column = _distinct_columns(W)
    first, ok = _constant_term_rows(distinct, k[:, None] * u[:, None] ** np.arange(5), R)
    if distinct.shape[1] > 1:  # else one column for all
        first, ok = first[:, :, column], ok[:, column]
    Y = _correlate(X, k[:, None] * u[:, None] ** np.arange(3), R)  # [3,T,n,D]
    est = first[0, ..., None] * Y[0]
    for m in (1, 2):
        est += np.multiply(first[m, ..., None], Y[m], out=Y[m])
    hat = first[0] * W
    if ok.all():
        return est, hat
    return np.where(ok[..., None], est, P), np.where(ok, hat, 1.0)


def _distinct_columns(W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the distinct columns of W [T,n], bit for bit, as [T,m]; the index [n] of each column among them)."""
    bits = np.ascontiguousarray(W).view(np.uint64)
    if (bits == bits[:, :1]).all():
        return W[:, :1], np.zeros(W.shape[1], np.int64)
    _, first, column = np.unique(bits, axis=1, return_index=True, return_inverse=True)
    return W[:, first], column.ravel()


def _constant_term_rows(W: np.ndarray, kernels: np.ndarray, R: int) -> tuple[np.ndarray, np.ndarray]:
    """([3,T,m] the row of the inverse normal matrix of each window's weighted quadratic fit that
    gives its constant term, over the window weight; [T,m] windows that fit one) for weights W
    [T,m] and the kernels k(u) u^m [2R+1,5] (see _quadratic_fit). A window fits a quadratic where
    it has weight and at least three samples with weight: with fewer, the quadratic through them is
    not one, and the fit's ridge took the smallest, which near a gap (a kernel under a frame wide
    beside it) put the frame at a fraction of the sample before, far off; those windows keep their
    samples, as the fit through them would where the frame itself is one."""
    S = _correlate(W, kernels, R)  # [5,T,m]
    ok = (S[0] > 1e-6) & (_samples_in_reach(W > 0, R) >= 3)  # the others keep their samples
    if not ok.all():  # give them a harmless window, so that nothing overflows on the way
        S = np.where(ok, S, np.array([1.0, 0.0, 1.0, 0.0, 1.0])[:, None, None])
    scale = S[0]
    a01, a02, a12, a22 = S[1] / scale, S[2] / scale, S[3] / scale, S[4] / scale + 1e-9
    a00, a11 = 1.0 + 1e-9, a02 + 1e-9  # normalised; the ridge only matters for degenerate windows
    c0, c1, c2 = a11 * a22 - a12 * a12, a02 * a12 - a01 * a22, a01 * a12 - a02 * a11  # first row of A^-1 x det
    det = a00 * c0 + a01 * c1 + a02 * c2
    first = np.stack([c0, c1, c2]) / det  # [3,T,m]: the row of A^-1 giving the constant term
    weak = det < 1e-6 * a00 * a11 * a22  # nearly singular windows (gaps): by elimination with pivoting
    if weak.any():
        A = np.stack([np.stack([np.full(a01.shape, a00), a01, a02]), np.stack([a01, a11, a12]),
                      np.stack([a02, a12, a22])])[:, :, weak]  # [3,3,N]
        first[:, weak] = np.linalg.inv(np.moveaxis(A, -1, 0))[:, 0, :].T
    first /= scale
    return first, ok


def _samples_in_reach(data: np.ndarray, R: int) -> np.ndarray:
    """[T,m] how many frames t+u, |u| <= R, of ``data`` [T,m] (bool) hold a sample, for each frame t."""
    total = np.concatenate([np.zeros((1,) + data.shape[1:], np.int64), np.cumsum(data, axis=0)])
    T = len(data)
    t = np.arange(T)
    return total[np.minimum(t + R + 1, T)] - total[np.maximum(t - R, 0)]


def _correlate(x: np.ndarray, kernels: np.ndarray, R: int) -> np.ndarray:
    """[M,T,...]: ``sum_{u=-R..R} kernels[u+R, m] x[t+u]`` over time (axis 0 of x [T,...]; zero
    outside the clip), for kernels [2R+1, M], by FFT."""
    T = x.shape[0]
    L = _fft_length(T + 2 * R)
    spectrum = np.fft.rfft(x, n=L, axis=0)  # x at 0..T-1; the kernel wraps to negative lags
    taps = np.zeros((L, kernels.shape[1]))
    taps[:R + 1] = kernels[R::-1]  # lag -u at index u ...
    taps[L - R:] = kernels[:R:-1]  # ... and lag +u at L-u
    filt = np.fft.rfft(taps, axis=0).T.reshape((kernels.shape[1], -1) + (1,) * (x.ndim - 1))
    return np.fft.irfft(spectrum[None] * filt, n=L, axis=1)[:, :T]


def _fft_length(n: int) -> int:
    """The smallest 2^a 3^b 5^c >= n (fast FFT sizes)."""
    best = 1 << (n - 1).bit_length()
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            p = p35
            while p < n:
                p *= 2
            best = min(best, p)
            p35 *= 3
        p5 *= 5
    return best


def _percentile_of_data(x: np.ndarray, data: np.ndarray, q: float) -> np.ndarray:
    """[N] the ``q``th percentile of each column of x [T,N] over its rows where ``data`` [T,N] (0 for
    a column without any): _column_percentile where every row has data."""
    if data.all():
        return _column_percentile(x, q)
    out = _column_percentile(x, q)
    for n in np.flatnonzero(~data.all(axis=0)):
        out[n] = np.percentile(x[data[:, n], n], q) if data[:, n].any() else 0.0
    return out


def choose_widths(positions: np.ndarray, weights: np.ndarray, noise: np.ndarray, fps: float,
                  parents: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-joint kernel width (frames) from WIDTH_GRID_SECONDS minimising Stein's unbiased risk
    estimate, given noise std ``noise`` [J] (file units, per axis; 0 = leave the joint alone),
    among the widths that move 99 % of a joint's samples by at most clamp_stds noise stds (the
    narrowest width is always allowed): wider ones bend real motion. Both read the samples with
    data only (``weights`` > 0; for a bone vector, both ends'): a filled gap is no sample, and what
    a kernel puts there is no move of one (counted, ten frames filled in 268 held every track of a
    noisy walk at the narrowest width, and its errors doubled). That width is the joint's
    widest: frame by frame the kernel narrows as far as the motion changes too fast for it (see
    _Agreement), handing over gradually (see _ease_levels, _blend_levels). Single frames that
    still move further are held back afterwards (see hold_back).

    With ``parents`` [J] (-1 for roots) the risk is that of the bone vector to the parent (what
    the rotations depend on; its noise variance is the sum of both ends'), else of the position.
    Points of D coordinates (``positions`` [T,J,D]: 3, or 1 for one direction of them) read D axes
    of noise. Returns (widths [J], smoothed positions [T,J,D], hat diagonal [T,J]: see
    local_quadratic, that of the widest kernel [T,J])."""
    T, J, D = positions.shape
    clamp = clamp_stds(D)
    best_risk = np.full(J, np.inf)
    level = np.full(J, -1)
    best = positions.copy()
    best_hat = np.ones((T, J))
    act = noise > 0
    par = np.full(J, -1) if parents is None else np.asarray(parents)
    has_par = par >= 0
    ref = np.where(has_par, par, 0)

    def rel(x: np.ndarray) -> np.ndarray:  # bone vectors (positions for roots)
        out = x - x[:, ref]
        out[:, ~has_par] = x[:, ~has_par]
        return out

    target = rel(positions)
    var = noise ** 2 + np.where(has_par, noise[ref] ** 2, 0.0)
    data = weights > 0
    measured = data & np.where(has_par, data[:, ref], True)  # [T,J] the bone vector's both ends have data
    agreement = _Agreement(positions, weights, noise)
    for k, seconds in enumerate(WIDTH_GRID_SECONDS):
        est, hat = local_quadratic(positions, weights, np.where(act | act[ref] & has_par, seconds * fps, 0.0))
        agreement.add(est, hat, seconds * fps)
        # SURE: |y - f|^2 - n sigma^2 + 2 sigma^2 tr(H), summed over frames and the D axes
        off = rel(est)
        off -= target
        if measured.all():
            risk = np.square(off, out=off).sum(axis=(0, 2)) + var * (2.0 * D * hat.sum(0) - D * T)
        else:
            square = np.where(measured, np.square(off).sum(axis=2), 0.0)
            risk = square.sum(0) + var * (2.0 * D * (hat * measured).sum(0) - D * measured.sum(0))
        moved = _percentile_of_data(norm(est - positions), data, 99)  # [J]
        admissible = moved <= clamp * noise  # smoothing that moves joints further is bending motion
        better = act & (risk < best_risk) & (admissible | (level < 0))
        best_risk = np.where(better, risk, best_risk)
        level = np.where(better, k, level)
        best[:, better] = est[:, better]
        best_hat[:, better] = hat[:, better]
    widths = np.where(act, np.asarray(WIDTH_GRID_SECONDS)[np.maximum(level, 0)] * fps, 0.0)
    levels = _ease_levels(np.minimum(agreement.reach - 1, level), widths)
    out, out_hat = _blend_levels(positions, weights, levels, level, best, best_hat, fps)
    return widths, out, out_hat, best_hat


class _Agreement:
    """Lepski's test, frame by frame, of the estimates of points [T,J,3] by ever wider kernels:
    ``reach`` [T,J] counts the estimates added so far, from the first, that each stay within
    ``limit`` stds of their difference's noise (``noise`` [J] per axis, weighed through both
    filters) of the sample itself and of the narrower estimate before them: where they part by
    more, the wider kernel bends the motion. The limit is the universal threshold (see
    universal_threshold) of all the differences tested, so noise alone narrows no kernel anywhere
    in the clip (but by rare chance). A frame without data (a filled gap) agrees at every width: it
    has no sample to bend, and the narrow kernels' estimates there, with no sample in reach, differ
    from the wide ones' by whatever the fill was (those disagreements, eased over three widths
    either side, had narrowed the kernel around every gap)."""

    def __init__(self, positions: np.ndarray, weights: np.ndarray, noise: np.ndarray):
        self.positions, self.noise, self.data = positions, noise, weights > 0
        self.weights, self.column = _distinct_columns(weights)
        self.reach = np.zeros(positions.shape[:2], np.int64)
        self.before: tuple | None = None
        self.added = 0
        T, J = positions.shape[:2]
        self.limit = universal_threshold(2.0 * T * J * len(WIDTH_GRID_SECONDS), positions.shape[2])

    def add(self, estimate: np.ndarray, hat: np.ndarray, width: float) -> None:
        """Add the next wider kernel's ``estimate`` [T,J,3] and hat diagonal [T,J] (kernel std
        ``width`` frames)."""
        fit = _fit_rows(self.weights, width)
        own = _shared_spread(self.weights, fit, fit)[:, self.column]  # [T,J]
        agree = self._within(estimate - self.positions, own - 2.0 * hat + 1.0) | ~self.data
        if self.before is not None:
            last, last_fit, last_own = self.before
            cross = _shared_spread(self.weights, fit, last_fit)[:, self.column]
            agree &= self._within(estimate - last, own + last_own - 2.0 * cross) | ~self.data
        self.reach += agree & (self.reach == self.added)  # once parted, they stay parted
        self.added += 1
        self.before = (estimate, fit, own)

    def _within(self, difference: np.ndarray, variance: np.ndarray) -> np.ndarray:
        """[T,J] whether ``difference`` [T,J,3] is within the limit of its std (``variance`` [T,J]
        over the noise variance per axis). A difference of no variance (up to the rounding of its
        sums, _ROUNDED_VARIANCE) is none: both estimates weigh the samples alike (a kernel of
        under half a frame fits a quadratic through the three samples it reaches, which is the
        sample itself), so what is left is rounding, which grows with the distance of the points
        from the origin, not noise to test."""
        limit = self.limit * self.noise * np.sqrt(np.maximum(variance, 0.0))
        return (norm(difference) <= limit) | (variance <= _ROUNDED_VARIANCE)


def universal_threshold(n: float, dims: int = 3) -> float:
    """The length, in stds per axis, beyond which the chi distribution of ``dims`` (1 or 3) degrees
    of freedom leaves a tail of 1/n: of n independent Gaussian vectors of that many axes about one
    is longer (Donoho and Johnstone's universal threshold, for vectors): 3.4 for n = 100, 5.5 for a
    million (3 axes)."""
    return _chi_beyond(1.0 / max(n, 1.0), dims)


def clamp_stds(dims: int = 3) -> float:
    """How many noise stds (per axis) smoothing may move a sample of ``dims`` (1 or 3) axes:
    CLAMP_STDS for three, and for one the length a 1-D Gaussian passes as often as a 3-D one
    passes CLAMP_STDS (2.61)."""
    return CLAMP_STDS if dims == 3 else _chi_beyond(_chi_tail(CLAMP_STDS, 3), dims)


def chi_square_beyond(tail: float, degrees: np.ndarray) -> np.ndarray:
    """[...] the value a chi-square of ``degrees`` [...] (> 0) degrees of freedom passes with chance
    ``tail`` (Wilson and Hilferty: its cube root over the degrees is near Gaussian)."""
    z = _chi_beyond(2.0 * tail, 1)  # the Gaussian's one-sided quantile
    spread = 2.0 / (9.0 * np.maximum(degrees, 1e-9))
    return degrees * (1.0 - spread + z * np.sqrt(spread)) ** 3


def _chi_beyond(tail: float, dims: int) -> float:
    """The length c (stds per axis) a chi distribution of ``dims`` (1 or 3) degrees of freedom
    passes with chance ``tail``."""
    low, high = 0.0, 40.0
    for _ in range(60):
        c = 0.5 * (low + high)
        low, high = (c, high) if _chi_tail(c, dims) > tail else (low, c)
    return 0.5 * (low + high)


def _chi_tail(c: float, dims: int) -> float:
    """The chance that a Gaussian vector of ``dims`` (1 or 3) axes of std 1 is longer than c."""
    tail = math.erfc(c / math.sqrt(2.0))
    return tail if dims == 1 else tail + math.sqrt(2.0 / math.pi) * c * math.exp(-0.5 * c * c)


def _ease_levels(levels: np.ndarray, widths: np.ndarray) -> np.ndarray:
    """[T,J] levels (grid indices) made smooth over time, never above ``levels`` [T,J]: the lowest
    within the Gaussian's reach (3 stds of ``widths`` [J], frames, at least one) held, then
    averaged by that Gaussian, so a wide kernel hands over to a narrow one gradually and ahead of
    the frames that need the narrow one."""
    out = levels.astype(np.float64)
    T = len(levels)
    for width in np.unique(widths[widths > 0]):
        cols = np.flatnonzero(widths == width)
        x = out[:, cols]
        if (x == x[:1]).all():
            continue
        sigma = max(float(width), 1.0)
        r = min(int(np.ceil(3.0 * sigma)), T)
        pad = np.pad(x, ((r, r), (0, 0)), mode="edge")
        low = np.lib.stride_tricks.sliding_window_view(pad, 2 * r + 1, axis=0).min(axis=-1)  # [T,n]
        kernel = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
        kernel /= kernel.sum()
        held = np.pad(low, ((r, r), (0, 0)), mode="edge")
        eased = sum(w * held[i:i + T] for i, w in enumerate(kernel))
        out[:, cols] = np.minimum(eased, x)  # rounding only: every value it averages is at most x
    return out


def _blend_levels(positions: np.ndarray, weights: np.ndarray, levels: np.ndarray, top: np.ndarray,
                  best: np.ndarray, best_hat: np.ndarray, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """(positions [T,J,3], hat diagonal [T,J]) estimated at the fractional ``levels`` [T,J] of
    WIDTH_GRID_SECONDS (-1: the sample itself): the estimates of the two levels around each level
    mixed linearly; ``best`` / ``best_hat`` are those at each joint's ``top`` [J] level (-1:
    untouched)."""
    below = levels < top[None]
    if not below.any():
        return best, best_hat
    out, hat = best.copy(), best_hat.copy()
    cols = np.flatnonzero(below.any(axis=0))
    share = np.clip(levels[:, cols] - (top[cols] - 1), 0.0, 1.0)  # the top level's share
    out[:, cols] *= share[..., None]
    hat[:, cols] *= share
    for k in range(-1, int(top[cols].max())):
        share = np.clip(1.0 - np.abs(levels[:, cols] - k), 0.0, 1.0) * (k < top[cols])
        use = share.any(axis=0)
        if not use.any():
            continue
        c = cols[use]
        if k < 0:
            est, h = positions[:, c], np.ones((len(positions), len(c)))
        else:
            est, h = local_quadratic(positions[:, c], weights[:, c], np.full(len(c), WIDTH_GRID_SECONDS[k] * fps))
        out[:, c] += share[:, use, None] * est
        hat[:, c] += share[:, use] * h
    return out, hat


def _fit_rows(weights: np.ndarray, width: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rows [3,T,m] giving local_quadratic's constant term from the window sums (see
    _quadratic_fit), windows that fit one [T,m] (see _constant_term_rows), kernel k(u) [2R+1]) for
    weights [T,m] and kernel std ``width`` frames: the estimate at t weighs the sample at t+u by
    (rows[0] + rows[1] u + rows[2] u^2) k(u) weights[t+u]."""
    R = int(np.floor(3.0 * width + 0.5))
    u = np.arange(-R, R + 1, dtype=np.float64)
    k = np.exp(-0.5 * (u / width) ** 2)
    rows, ok = _constant_term_rows(weights, k[:, None] * u[:, None] ** np.arange(5), R)
    return rows, ok, k


def _shared_spread(weights: np.ndarray, a: tuple, b: tuple) -> np.ndarray:
    """[T,m] the covariance of two local_quadratic estimates (fits ``a`` and ``b`` of _fit_rows)
    of white noise of unit variance with weights [T,m]: the sum over the window of the products of
    the weights each gives a sample (summed sample by sample: in a nearly singular window, a
    narrow kernel over a gap, the rows are large and cancel)."""
    R = min(len(a[2]), len(b[2])) // 2
    return (_window_weights(weights, a, R) * _window_weights(weights, b, R)).sum(axis=-1)


def _window_weights(weights: np.ndarray, fit: tuple, R: int) -> np.ndarray:
    """[T,m,2R+1] the weight a fit (see _fit_rows) gives each sample t+u, |u| <= R, in its estimate
    at t, for weights [T,m] (none outside the clip; a window that fits none keeps its own sample)."""
    rows, ok, k = fit
    u = np.arange(-R, R + 1, dtype=np.float64)
    kernel = k[len(k) // 2 - R:len(k) // 2 + R + 1]
    window = np.lib.stride_tricks.sliding_window_view(np.pad(weights, ((R, R), (0, 0))), 2 * R + 1, axis=0)
    fitted = (rows[0][..., None] + u * (rows[1][..., None] + u * rows[2][..., None])) * kernel * window
    return np.where(ok[..., None], fitted, u == 0)
