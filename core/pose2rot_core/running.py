"""Means and medians over a running window of frames (time series ``[T,...]``)."""
from __future__ import annotations

import numpy as np


#: more frames than any clip holds: a window of a rate past all reason (a CSV stepping by 1e-300 s)
#: is as long as the clip, not a number no array can be indexed with
LONGEST_WINDOW = 2 ** 31 - 1


def window_frames(seconds: float, fps: float, least: int = 3) -> int:
    """The odd number of frames (at least ``least``, at most LONGEST_WINDOW) spanning about ``seconds``
    at ``fps``."""
    return max(least, int(round(min(seconds * fps, LONGEST_WINDOW))) | 1)


def running_mean_of_data(x: np.ndarray, width: int) -> np.ndarray:
    """[T,...] mean of the data (not NaN) of x over the ``width`` (odd) frames around each frame,
    NaN where the window holds none, the ends mirrored as in running_mean (the noise of each mean:
    running_mean_noise)."""
    data = ~np.isnan(x)
    share = running_mean(data.astype(np.float64), width)
    total = running_mean(np.where(data, x, 0.0), width)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(share > 0, total / share, np.nan)


def running_mean(x: np.ndarray, width: int) -> np.ndarray:
    """[T,...] mean of x over the ``width`` (odd) frames around each frame, the ends mirrored; the
    mean of the whole clip where it is too short to mirror. A window that holds NaN (no data) is
    NaN: every mean left averages as many samples."""
    if np.isnan(x).any():
        holes = running_mean(np.isnan(x).astype(np.float64), width) > 0.0
        return np.where(holes, np.nan, running_mean(np.nan_to_num(x, nan=0.0), width))
    half = width // 2
    if x.shape[0] <= half + 1:
        return np.broadcast_to(x.mean(axis=0), x.shape).copy()
    pad = np.concatenate([x[half:0:-1], x, x[-2:-half - 2:-1]])
    c = np.empty((pad.shape[0] + 1,) + x.shape[1:], pad.dtype)
    c[0] = 0
    np.cumsum(pad, axis=0, out=c[1:])
    return (c[width:] - c[:-width]) / width


def running_mean_noise(data: np.ndarray, width: int) -> np.ndarray:
    """[T,...] the std of running_mean_of_data's mean (``width`` odd frames, the ends mirrored) of
    white noise of unit variance sampled where ``data`` [T,...] (bool) is set; NaN where a window
    holds no sample. Inside the clip 1/sqrt(samples in the window); near its ends the mirrored
    window counts some samples twice and its mean strays further (every frame sampled: up to
    sqrt(17)/9, 1.37 times 1/3, at the first frame of a 9-frame window); a clip too short to
    mirror, 1/sqrt(its samples)."""
    T, half = data.shape[0], width // 2
    d = data.reshape(T, -1).astype(np.float64)
    if T <= half + 1:
        count = np.broadcast_to(d.sum(axis=0), d.shape)
    else:
        count = np.rint(running_mean(d, width) * width)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(count > 0, 1.0 / np.sqrt(count), np.nan)
        for t in sorted(set(range(half)) | set(range(T - half, T))) if T > half + 1 else []:
            u = np.abs(np.arange(t - half, t + half + 1))  # the mirror at the start ...
            u = np.where(u > T - 1, 2 * (T - 1) - u, u)  # ... and at the end, as running_mean pads
            times = np.bincount(u, minlength=T).astype(np.float64)
            out[t] = np.sqrt((times * times) @ d) / (times @ d)
    return out.reshape(data.shape)


def running_median(x: np.ndarray, width: int, ends: str = "nearest") -> np.ndarray:
    """[T,...] median of x (no NaN) over the ``width`` (odd) frames around each frame. Within half
    a window of the clip's ends, ``ends="nearest"`` takes the median of the first or last full
    window (a mirror would count the last few frames twice, and a few frames would move it there;
    the median of the whole clip where it is shorter than a window), ``ends="repeat"`` repeats the
    end frames to fill the window (a spike test: an end sample is compared with its own
    neighbourhood). A run shorter than half the window does not move it, as it moves a mean."""
    half = width // 2
    if ends == "repeat":
        x = np.pad(x, ((half, half),) + ((0, 0),) * (x.ndim - 1), mode="edge")
    elif x.shape[0] < width:
        return np.broadcast_to(np.median(x, axis=0), x.shape).copy()
    windows = np.lib.stride_tricks.sliding_window_view(x, width, axis=0)
    full = np.partition(windows, half, axis=-1)[..., half]  # the middle of an odd window
    if ends == "repeat":
        return full
    return np.concatenate([np.repeat(full[:1], half, axis=0), full, np.repeat(full[-1:], half, axis=0)])
