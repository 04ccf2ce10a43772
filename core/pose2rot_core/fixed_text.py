"""Numbers as fixed-point text, built with numpy digit arithmetic instead of one Python format call
per number (a BVH MOTION block holds frames x channels numbers: 1.4 million for 20,000 frames of
the 22 SMPL joints).

:func:`format_rows` gives exactly the text of ``%.{decimals}f`` formatting: every value is rounded
half to even from its exact binary value, and negative values (-0.0 too) keep their sign even where
they round to zero. Values are scaled to integers (``|v| * 10**decimals``, rounded); the few whose
scaled value lies within rounding error of a half are rounded by Python's own formatting instead.
"""
from __future__ import annotations

import numpy as np

#: scaled values up to this are exact integers with room for the rounding check (2**52)
_EXACT_LIMIT = float(2 ** 52)
#: decimals the digit arithmetic handles (10**decimals fits an int64 with room)
MAX_DECIMALS = 15
_SPACE, _NEWLINE, _MINUS, _POINT, _ZERO = (np.uint8(ord(c)) for c in " \n-.0")
_NONE = np.uint8(0)                                                       # an unused place, dropped


def format_rows(values: np.ndarray, decimals: int) -> str:
    """Rows of ``values`` [N,C] as text: each value as ``%.{decimals}f``, one space between values, a
    newline after each row. Values too large for exact integer arithmetic, values that are not
    finite and more than MAX_DECIMALS decimals are formatted by Python's ``%`` operator (the same
    text, more slowly)."""
    v = np.asarray(values, np.float64)
    if v.ndim != 2:
        raise ValueError(f"format_rows needs values [N,C], got shape {list(v.shape)}")
    N, C = v.shape
    if v.size == 0:
        return "\n" * N
    with np.errstate(over="ignore", invalid="ignore"):                  # huge or not finite: the % path
        scaled = np.abs(v) * 10.0 ** decimals
    top = float(scaled.max()) if np.isfinite(scaled).all() else np.inf
    if not 0 <= decimals <= MAX_DECIMALS or top >= _EXACT_LIMIT:
        row = " ".join([f"%.{decimals}f"] * C) + "\n"
        return (row * N) % tuple(v.ravel().tolist())
    units = _rounded(v.ravel(), scaled.ravel(), decimals, top)
    chars = _characters(units, np.signbit(v.ravel()), decimals)
    chars[:, -1] = _SPACE
    chars.reshape(N, C, -1)[:, -1, -1] = _NEWLINE
    flat = chars.ravel()
    return flat[flat != 0].tobytes().decode("ascii")


def _rounded(v: np.ndarray, scaled: np.ndarray, decimals: int, top: float) -> np.ndarray:
    """[n] int64 ``|v| * 10**decimals`` rounded as ``%`` formatting rounds: half to even from the
    exact binary value. ``scaled`` [n] is the product in floating point (error at most half a unit
    in the last place of ``top``, the largest); values it leaves within that of a half are redone
    exactly."""
    units = np.rint(scaled)
    margin = 2.0 * np.spacing(top)
    doubtful = np.flatnonzero(np.abs(scaled - np.floor(scaled) - 0.5) <= margin)
    units = units.astype(np.int64)
    for i in doubtful:
        units[i] = int(f"{abs(float(v[i])):.{decimals}f}".replace(".", ""))
    return units


def _characters(units: np.ndarray, negative: np.ndarray, decimals: int) -> np.ndarray:
    """[n,W] uint8 characters of the numbers ``units`` / 10**decimals (``units`` [n] >= 0, a minus
    sign where ``negative`` [n]): right-aligned in a sign column, the integer digits, the point and
    the decimals, then one free column for the separator; 0 marks unused places."""
    whole = units // 10 ** decimals
    fraction = units - whole * 10 ** decimals
    width = len(str(int(whole.max())))                                   # integer digits of the widest
    point = 1 + width
    chars = np.zeros((units.size, point + (1 + decimals if decimals else 0) + 1), np.uint8)
    if decimals:
        chars[:, point] = _POINT
        for k, digit in enumerate(_digits(fraction, decimals)):
            chars[:, point + decimals - k] = digit
    minus = negative.astype(np.uint8) * _MINUS                           # [n] uint8: '-' or 0 (absent)
    has = [np.ones(units.shape, bool)] + [whole >= 10 ** k for k in range(1, width)]  # [k]: a digit k
    for k, digit in enumerate(_digits(whole, width)):                    # k: 0 for the units digit, ...
        # column width - k: digit k where the number has one, else the sign left of its leading digit
        chars[:, width - k] = np.where(has[k], digit, np.where(has[k - 1], minus, _NONE)) if k else digit
    chars[:, 0] = np.where(has[width - 1], minus, _NONE)
    return chars


def _digits(x: np.ndarray, count: int):
    """The last ``count`` decimal digits of ``x`` [n] (>= 0) as uint8 characters [n], the units
    digit first."""
    x = x.astype(np.int32) if x.max(initial=0) < 2 ** 31 else x
    for _ in range(count):
        rest = x // 10                                                    # (np.divmod is far slower)
        yield (x - 10 * rest).astype(np.uint8) + _ZERO
        x = rest
