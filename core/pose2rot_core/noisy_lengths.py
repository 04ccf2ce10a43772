"""Lengths read from noisy tracks. The distance between two points whose difference carries
isotropic Gaussian noise of std s per axis follows a non-central chi distribution of 3 degrees of
freedom: it reads longer than the points are apart (a long bone about L + s^2/L, a bone of no
length 1.5-1.6 s). Its mean (what an average of lengths over frames reads), its median (what a
median over frames reads) and that median's inverse, worked out exactly; and the noise of a
median of samples."""
from __future__ import annotations

import math
from functools import cache

import numpy as np

#: the median of n Gaussian samples is noisier than their mean by this factor
MEDIAN_NOISE_RATIO = math.sqrt(math.pi / 2.0)


def median_noise(std: np.ndarray, count: np.ndarray) -> np.ndarray:
    """[n] the std of the median of ``count`` [n] independent samples of noise std ``std`` [n]
    (a count of 0 reads as 1)."""
    return MEDIAN_NOISE_RATIO * np.asarray(std) / np.sqrt(np.maximum(count, 1))


def noisy_mean(length: np.ndarray, spread: np.ndarray) -> np.ndarray:
    """[n] the mean distance between two points ``length`` [n] apart whose difference carries
    Gaussian noise of std ``spread`` [n] per axis: s (sqrt(2/pi) exp(-x^2/2) + (x + 1/x) erf(x/sqrt 2))
    at x = length / s, 2 sqrt(2/pi) s = 1.6 s at no length; ``length`` where there is no noise."""
    length, spread = np.broadcast_arrays(np.asarray(length, np.float64), np.asarray(spread, np.float64))
    ratio = length / np.where(spread > 0, spread, 1.0)
    noisy = (spread > 0) & (ratio > 1e-6)
    x = np.where(noisy, ratio, 1.0)
    erf = np.frompyfunc(math.erf, 1, 1)(x / math.sqrt(2.0)).astype(np.float64)
    mean = spread * (math.sqrt(2.0 / math.pi) * np.exp(-0.5 * x * x) + (x + 1.0 / x) * erf)
    return np.where(noisy, mean, np.where(spread > 0, 2.0 * math.sqrt(2.0 / math.pi) * spread, length))


def unbiased_median(length: np.ndarray, spread: np.ndarray) -> np.ndarray:
    """[n] bone lengths read from noisy tracks (``length`` [n], the median over the frames) less
    what the noise adds (the inverse of noisy_median): noise of std ``spread`` [n] per axis (both
    ends together) lengthens a bone (a finger bone 1.5 % of the height long reads as 2.5 % under
    1 % jitter at either end), and a bone of no length reads as 1.54 stds."""
    centre, median = _chi3_medians()
    y = length / np.where(spread > 0, spread, 1.0)
    far = np.maximum(y, median[-1])  # past the table: y = x + 1/x
    x = np.where(y <= median[-1], np.interp(y, median, centre), 0.5 * (far + np.sqrt(far * far - 4.0)))
    return np.where(spread > 0, x * spread, length)


def noisy_median(length: np.ndarray, spread: np.ndarray) -> np.ndarray:
    """[n] the median distance between two points ``length`` [n] apart whose difference carries
    Gaussian noise of std ``spread`` [n] per axis (a non-central chi distribution of 3 degrees)."""
    centre, median = _chi3_medians()
    x = length / np.where(spread > 0, spread, 1.0)
    far = np.maximum(x, centre[-1])
    y = np.where(x <= centre[-1], np.interp(x, centre, median), far + 1.0 / far)
    return np.where(spread > 0, y * spread, length)


def _chi3_median_table(centres: np.ndarray) -> np.ndarray:
    """[n] the median of |c e + z| for z ~ N(0, I_3), at distances ``centres`` [n] (>= 0) of the
    mean from the origin, by bisection of its distribution function F(r) = Phi(r - c) + Phi(r + c)
    - 1 - (phi(r - c) - phi(r + c)) / c (at c = 0: 2 Phi(r) - 1 - 2 r phi(r))."""
    def cdf(r: np.ndarray, c: np.ndarray) -> np.ndarray:
        phi = lambda x: np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)  # noqa: E731
        density = np.where(c > 0, (phi(r - c) - phi(r + c)) / np.where(c > 0, c, 1.0), 2.0 * r * phi(r))
        return _normal_cdf(r - c) + _normal_cdf(r + c) - 1.0 - density

    low, high = np.maximum(centres - 3.0, 0.0), centres + 3.0
    for _ in range(40):
        mid = 0.5 * (low + high)
        below = cdf(mid, centres) < 0.5
        low, high = np.where(below, mid, low), np.where(below, high, mid)
    return 0.5 * (low + high)


def _normal_cdf(x: np.ndarray) -> np.ndarray:
    """[n] the standard normal distribution function, within 1e-7 (Abramowitz and Stegun's 7.1.26
    rational approximation of erf)."""
    z = np.abs(x) / math.sqrt(2.0)
    t = 1.0 / (1.0 + 0.3275911 * z)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    erf = 1.0 - poly * np.exp(-z * z)
    return 0.5 * (1.0 + np.sign(x) * erf)


@cache
def _chi3_medians() -> tuple[np.ndarray, np.ndarray]:
    """(distances of the mean from the origin, in noise stds, to 40, past which the median is the
    distance plus one over it within 1e-4; the medians of the noisy distance there), worked out
    the first time a check reads noisy lengths (2 ms), not when the module loads."""
    centre = np.concatenate([np.linspace(0.0, 8.0, 161), np.linspace(8.5, 40.0, 64)])
    return centre, _chi3_median_table(centre)
