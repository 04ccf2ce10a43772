"""Rotation conventions and conversions (numpy, vectorised over leading dims).

Conventions used across pose2rot:
- matrices ``[...,3,3]`` act on column vectors (``v' = R @ v``);
- quaternions are w-first ``[...,4] = (w, x, y, z)``;
- 6D is the first two ROWS of the matrix, row-major ``[R00,R01,R02,R10,R11,R12]``;
- Euler angles are intrinsic in the order given (``"ZXY"`` means ``Rz(e0) @ Rx(e1) @ Ry(e2)``),
  radians, as BVH channels are read left to right.
"""
from __future__ import annotations

import numpy as np

from .stacks import det, dot, empty_matrices, empty_vectors, mat_t_mul

_AXIS = {"X": 0, "Y": 1, "Z": 2}
EULER_ORDERS = ("XYZ", "XZY", "YXZ", "YZX", "ZXY", "ZYX")


def norm(v: np.ndarray) -> np.ndarray:
    """Euclidean length over the last axis: [...,3] -> [...] (faster than np.linalg.norm)."""
    v = np.asarray(v, np.float64)
    return np.sqrt(dot(v, v))


def wrap_angle(x: np.ndarray) -> np.ndarray:
    """Angles [...] (radians) moved by whole turns into [-pi, pi]."""
    return x - (2.0 * np.pi) * np.rint(x * (0.5 / np.pi))


def smoothstep(x: np.ndarray) -> np.ndarray:
    """Smooth ramp: 0 below 0, 1 above 1, 3x^2 - 2x^3 in between (no jump in value or slope)."""
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def normalize(v: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """Unit vectors along the last axis (zero vectors stay zero)."""
    v = np.asarray(v, np.float64)
    return v / np.maximum(norm(v), eps)[..., None]


def cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cross product over the last axis of [...,3] arrays (broadcast; faster than np.cross)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    out = empty_vectors(np.broadcast(a[..., 0], b[..., 0]).shape)  # the shapes' broadcast, fast
    a0, a1, a2 = a[..., 0], a[..., 1], a[..., 2]
    b0, b1, b2 = b[..., 0], b[..., 1], b[..., 2]
    for c, (p, q, r, s) in enumerate(((a1, b2, a2, b1), (a2, b0, a0, b2), (a0, b1, a1, b0))):
        component = out[..., c]
        np.multiply(p, q, out=component)
        component -= r * s
    return out


def perpendicular(u: np.ndarray) -> np.ndarray:
    """[...,3] unit vectors perpendicular to the unit vectors u [...,3] (u x X, or u x Y where u is
    close to X)."""
    u = np.asarray(u, np.float64)
    alt = np.where(np.abs(u[..., :1]) < 0.9, np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0]))
    return normalize(cross(u, alt))


# ----------------------------------------------------------------------------- quaternions
def quat_to_matrix(q: np.ndarray) -> np.ndarray:
    """w-first quaternions [...,4] (any norm > 0) -> rotation matrices [...,3,3]."""
    q = normalize(np.asarray(q, np.float64))
    w, x, y, z = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    xx, yy, zz = x * x, y * y, z * z
    xy, xz, yz, wx, wy, wz = x * y, x * z, y * z, w * x, w * y, w * z
    R = empty_matrices(w.shape)
    R[..., 0, 0], R[..., 0, 1], R[..., 0, 2] = 1 - 2 * (yy + zz), 2 * (xy - wz), 2 * (xz + wy)
    R[..., 1, 0], R[..., 1, 1], R[..., 1, 2] = 2 * (xy + wz), 1 - 2 * (xx + zz), 2 * (yz - wx)
    R[..., 2, 0], R[..., 2, 1], R[..., 2, 2] = 2 * (xz - wy), 2 * (yz + wx), 1 - 2 * (xx + yy)
    return R


def matrix_to_quat(R: np.ndarray) -> np.ndarray:
    """Rotation matrices [...,3,3] -> unit w-first quaternions [...,4] with w >= 0."""
    R = np.asarray(R, np.float64)
    planes = np.moveaxis(R, (-2, -1), (0, 1))
    if R.flags.c_contiguous and R.ndim > 2:            # matrix after matrix: each entry's plane copied apart
        planes = planes.copy()
    (m00, m01, m02), (m10, m11, m12), (m20, m21, m22) = planes
    # four candidate (unnormalised) quaternions, the rows of a symmetric [4,4] table whose diagonal
    # holds their largest terms; per element the row with the largest one is the best conditioned
    c = np.empty((4, 4) + m00.shape)
    c[0, 0, ...] = 1 + m00 + m11 + m22
    c[1, 1, ...] = 1 + m00 - m11 - m22
    c[2, 2, ...] = 1 - m00 + m11 - m22
    c[3, 3, ...] = 1 - m00 - m11 + m22
    for (a, b), x, y, op in (((0, 1), m21, m12, np.subtract), ((0, 2), m02, m20, np.subtract),
                             ((0, 3), m10, m01, np.subtract), ((1, 2), m01, m10, np.add),
                             ((1, 3), m02, m20, np.add), ((2, 3), m12, m21, np.add)):
        op(x, y, out=c[a, b, ...])
        c[b, a, ...] = c[a, b, ...]
    best = np.argmax(c[_FOUR, _FOUR], axis=0)
    q = normalize(np.moveaxis(np.take_along_axis(c, best[None, None], axis=0)[0], 0, -1))
    return np.where(q[..., :1] < 0, -q, q)


_FOUR = np.arange(4)


def twist_angle(R: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """[...] angle (radians, in (-2pi, 2pi]) that rotations R [...,3,3] turn about unit axes ``axis``
    ([3] or [...,3]): the twist of their swing-twist split (w-first quaternion parts)."""
    q = matrix_to_quat(R)
    return 2.0 * np.arctan2(dot(q[..., 1:], axis), q[..., 0])


def rotation_vector(R: np.ndarray) -> np.ndarray:
    """Rotations R [...,3,3] -> rotation vectors [...,3]: the axis times the angle (radians, at
    most pi), the log map."""
    q = matrix_to_quat(R)
    s = norm(q[..., 1:])
    angle = 2.0 * np.arctan2(s, q[..., 0])
    return q[..., 1:] * (angle / np.maximum(s, 1e-300))[..., None]


def from_rotation_vector(v: np.ndarray) -> np.ndarray:
    """Rotation vectors [...,3] (axis times angle) -> rotations [...,3,3], the exp map."""
    v = np.asarray(v, np.float64)
    angle = norm(v)
    return rotation_about(v / np.maximum(angle, 1e-300)[..., None], angle)


def quat_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product of w-first quaternions (a then applied after b: R(a) @ R(b))."""
    aw, ax, ay, az = np.moveaxis(a, -1, 0)
    bw, bx, by, bz = np.moveaxis(b, -1, 0)
    return np.stack([
        aw * bw - ax * bx - ay * by - az * bz,
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
    ], -1)


def quat_continuity(q: np.ndarray, axis: int = 0) -> np.ndarray:
    """Flip quaternion signs along ``axis`` (time) so consecutive ones have dot >= 0."""
    q = np.moveaxis(np.asarray(q, np.float64), axis, 0)
    if q.shape[0] < 2:
        return np.moveaxis(q.copy(), 0, axis)
    dots = np.sum(q[1:] * q[:-1], axis=-1)
    flips = np.concatenate([np.zeros((1,) + dots.shape[1:], bool), dots < 0], axis=0)
    sign = np.where(np.cumsum(flips, axis=0) % 2 == 1, -1.0, 1.0)
    return np.moveaxis(q * sign[..., None], 0, axis)


# ----------------------------------------------------------------------------- 6D
def matrix_to_rot6d(R: np.ndarray) -> np.ndarray:
    """[...,3,3] -> [...,6]: first two rows, row-major."""
    R = np.asarray(R)
    return R[..., :2, :].reshape(R.shape[:-2] + (6,))


def rot6d_to_matrix(v: np.ndarray) -> np.ndarray:
    """[...,6] -> [...,3,3] by Gram–Schmidt; rows b1, b2, b3 = b1 x b2."""
    v = np.asarray(v, np.float64)
    b1 = normalize(v[..., 0:3])
    a2 = v[..., 3:6]
    b2 = normalize(a2 - np.sum(b1 * a2, -1, keepdims=True) * b1)
    b3 = cross(b1, b2)
    return np.stack([b1, b2, b3], axis=-2)


# ----------------------------------------------------------------------------- axis-angle
def axis_angle_to_matrix(axis: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Rodrigues: axis [...,3] (any length > 0), angle [...] (radians) -> [...,3,3]."""
    return rotation_about(normalize(np.asarray(axis, np.float64)), angle)


def rotation_about(axis: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Rodrigues: unit axis [...,3] (taken as it is), angle [...] (radians) -> [...,3,3]."""
    axis, angle = np.asarray(axis), np.asarray(angle, np.float64)
    if axis.shape[:-1] != angle.shape:
        axis, angle = np.broadcast_arrays(axis, angle[..., None])
        angle = angle[..., 0]
    c = np.cos(angle)
    return _rotation_form(c, np.sin(angle)[..., None] * axis, axis, 1.0 - c)


def _rotation_form(c: np.ndarray, p: np.ndarray, q: np.ndarray, k: np.ndarray) -> np.ndarray:
    """``c I + [p]x + k q q^T`` [...,3,3] for c, k [...] and p, q [...,3], written out (Rodrigues
    with p = sin(angle) axis, q = axis, k = 1 - cos(angle))."""
    px, py, pz = p[..., 0], p[..., 1], p[..., 2]
    qx, qy, qz = q[..., 0], q[..., 1], q[..., 2]
    kx, ky = k * qx, k * qy
    R = empty_matrices(np.shape(c))
    for i, a, b in ((0, kx, qx), (1, ky, qy), (2, k * qz, qz)):
        np.multiply(a, b, out=R[..., i, i])
        R[..., i, i] += c
    for (i, j), a, b, s in (((0, 1), kx, qy, pz), ((2, 0), kx, qz, py), ((1, 2), ky, qz, px)):
        np.multiply(a, b, out=R[..., i, j])  # R_ij = a b - s, R_ji = a b + s
        np.add(R[..., i, j], s, out=R[..., j, i])
        R[..., i, j] -= s
    return R


def basic_rotation(axis: int, angle: np.ndarray) -> np.ndarray:
    """Rotation about coordinate axis 0/1/2 by ``angle`` [...] radians -> [...,3,3]."""
    angle = np.asarray(angle, np.float64)
    c, s = np.cos(angle), np.sin(angle)
    o, z = np.ones_like(angle), np.zeros_like(angle)
    if axis == 0:
        rows = [[o, z, z], [z, c, -s], [z, s, c]]
    elif axis == 1:
        rows = [[c, z, s], [z, o, z], [-s, z, c]]
    else:
        rows = [[c, -s, z], [s, c, z], [z, z, o]]
    return np.stack([np.stack(r, -1) for r in rows], -2)


def rotation_between(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Smallest rotation taking direction u to direction v ([...,3] each) -> [...,3,3].

    ``R = c I + [w]x + w w^T / (1 + c)`` with ``c = u.v``, ``w = u x v`` (unit u, v). Near opposite
    directions ``1 + c`` is taken as ``|u + v|^2 / 2`` (no cancellation); directions within 1.4e-8
    rad of opposite get a half turn about an axis perpendicular to u (off by at most that much).
    """
    return swing_between_units(normalize(np.asarray(u, np.float64)), normalize(np.asarray(v, np.float64)))


def swing_between_units(u: np.ndarray, v: np.ndarray, cos: np.ndarray | None = None) -> np.ndarray:
    """rotation_between for unit vectors u, v [...,3] (taken as they are) -> [...,3,3]; ``cos``:
    ``dot(u, v)`` [...] where the caller has it."""
    u, v = np.asarray(u), np.asarray(v)
    c = dot(u, v) if cos is None else cos
    w = cross(u, v)
    s = 1.0 + c
    near = s < 1e-6
    if np.any(near):
        s = np.where(near, 0.5 * dot(u + v, u + v), s)
    opposite = s < 1e-16
    R = _rotation_form(c, w, w, 1.0 / np.where(opposite, 1.0, s))
    if np.any(opposite):  # a half turn about an axis perpendicular to u: 2 a a^T - I
        a = perpendicular(np.broadcast_to(u, w.shape)[opposite])
        R[opposite] = 2.0 * a[:, :, None] * a[:, None, :] - np.eye(3)
    return R


# ----------------------------------------------------------------------------- Euler
def euler_to_matrix(angles: np.ndarray, order: str) -> np.ndarray:
    """Intrinsic Euler angles [...,3] (radians) in ``order`` (e.g. "ZXY") -> [...,3,3]."""
    order = order.upper()
    if order not in EULER_ORDERS:
        raise ValueError(f"unknown rotation order '{order}' (use one of {', '.join(EULER_ORDERS)})")
    angles = np.asarray(angles, np.float64)
    R = basic_rotation(_AXIS[order[0]], angles[..., 0])
    R = R @ basic_rotation(_AXIS[order[1]], angles[..., 1])
    return R @ basic_rotation(_AXIS[order[2]], angles[..., 2])


def matrix_to_euler(R: np.ndarray, order: str) -> np.ndarray:
    """Rotation matrices [...,3,3] -> intrinsic Euler angles [...,3] (radians), middle angle in
    [-pi/2, pi/2]; at gimbal lock the last angle is 0."""
    return np.stack(euler_angles(R, order), -1)


def euler_angles(R: np.ndarray, order: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`matrix_to_euler` as three arrays [...] (first, middle, last angle; radians)."""
    order = order.upper()
    if order not in EULER_ORDERS:
        raise ValueError(f"unknown rotation order '{order}' (use one of {', '.join(EULER_ORDERS)})")
    i, j, k = (_AXIS[c] for c in order)
    s = 1.0 if (i, j, k) in ((0, 1, 2), (1, 2, 0), (2, 0, 1)) else -1.0
    R = np.asarray(R, np.float64)
    sin_mid = np.clip(s * R[..., i, k], -1.0, 1.0)
    e1 = np.arcsin(sin_mid)
    cos_mid = np.sqrt(np.maximum(0.0, 1.0 - sin_mid * sin_mid))
    locked = cos_mid < 1e-7
    e0 = np.arctan2(-s * R[..., j, k], R[..., k, k])
    e2 = np.arctan2(-s * R[..., i, j], R[..., i, i])
    if locked.any():
        e0 = np.where(locked, np.arctan2(s * R[..., k, j], R[..., j, j]), e0)
        e2 = np.where(locked, 0.0, e2)
    return e0, e1, e2


def unwrap_euler(angles: np.ndarray) -> np.ndarray:
    """Angles [T,...] (radians) with whole turns added so that no step between frames exceeds pi:
    ``np.unwrap(angles, axis=0)`` to the last bit, its remainders taken only at the steps that jump."""
    step = np.diff(angles, axis=0)
    jumps = np.abs(step) >= np.pi
    out = angles.copy()
    if jumps.any():
        d = step[jumps]
        wrapped = np.mod(d + np.pi, 2 * np.pi) - np.pi
        wrapped[(wrapped == -np.pi) & (d > 0)] = np.pi
        shift = np.zeros_like(step)
        shift[jumps] = wrapped - d
        out[1:] += np.cumsum(shift, axis=0)
    return out


# ----------------------------------------------------------------------------- metrics / fitting
def rotation_defect(R: np.ndarray) -> np.ndarray:
    """[...] how far matrices R [...,3,3] are from rotations: the largest entry of R R^T - I plus
    |det R - 1| (0 for a rotation; inf where R is not finite)."""
    finite = np.isfinite(R).all(axis=(-2, -1))
    Rf = np.where(finite[..., None, None], R, 0.0)
    off = np.abs(Rf @ np.swapaxes(Rf, -1, -2) - np.eye(3)).max(axis=(-2, -1)) + np.abs(np.linalg.det(Rf) - 1.0)
    return np.where(finite, off, np.inf)


def geodesic_angle(R1: np.ndarray, R2: np.ndarray) -> np.ndarray:
    """Angle (radians) of R1^T R2, numerically stable at 0 and pi. Shapes broadcast [...,3,3]."""
    D = mat_t_mul(R1, R2)
    tr = D[..., 0, 0] + D[..., 1, 1] + D[..., 2, 2]
    vx, vy, vz = D[..., 2, 1] - D[..., 1, 2], D[..., 0, 2] - D[..., 2, 0], D[..., 1, 0] - D[..., 0, 1]
    return np.arctan2(0.5 * np.sqrt(vx * vx + vy * vy + vz * vz), 0.5 * (tr - 1.0))


def best_fit_rotation(M: np.ndarray) -> np.ndarray:
    """Wahba/Kabsch: the rotation R maximising tr(R^T M) for M [...,3,3].

    With ``M = sum_i w_i b_i a_i^T`` this is the rotation best taking each a_i to b_i. Computed as
    the orthogonal polar factor by scaled Newton iteration (fast, vectorised); matrices with
    det <= 0 or that do not converge fall back to the SVD.
    """
    M = np.asarray(M, np.float64)
    shape = M.shape
    X = M.reshape(-1, 3, 3)
    good = det(X) > 1e-12 * np.maximum(np.einsum("nij,nij->n", X, X), 1e-300) ** 1.5
    if good.all():
        R = _polar_newton(X)
    else:
        R = empty_matrices(X.shape[:1])
        if good.any():
            R[good] = _polar_newton(X[good])
    bad = ~good | ~np.isfinite(R).all(axis=(1, 2))
    if bad.any():
        R[bad] = nearest_rotation(X[bad])
    return R.reshape(shape)


def nearest_rotation(M: np.ndarray) -> np.ndarray:
    """Nearest rotations [...,3,3] to matrices M [...,3,3] (scale and shear dropped; by SVD)."""
    U, _, Vt = np.linalg.svd(M)
    d = np.sign(np.linalg.det(U @ Vt))
    d = np.where(d == 0, 1.0, d)
    D = np.ones(M.shape[:-2] + (3,))
    D[..., 2] = d
    return (U * D[..., None, :]) @ Vt


def _inverse_transpose(P: np.ndarray) -> np.ndarray:
    """X^-T of matrices given as component planes P [3,3,N] (``P[i,j]`` = X_ij), as planes [3,3,N]:
    the cofactors (entry (i, k): rows i+1, i+2 and columns k+1, k+2, mod 3) over the determinant,
    one plane at a time (gathering the four shifted 3x3 grids of planes at once copied all of P
    four times, several times slower)."""
    cof, tmp = np.empty_like(P), np.empty_like(P[0, 0])
    for i in range(3):
        i1, i2 = (i + 1) % 3, (i + 2) % 3
        for k in range(3):
            k1, k2 = (k + 1) % 3, (k + 2) % 3
            np.multiply(P[i1, k1], P[i2, k2], out=cof[i, k])
            cof[i, k] -= np.multiply(P[i2, k1], P[i1, k2], out=tmp)
    cof *= 1.0 / (P[0, 0] * cof[0, 0] + P[1, 0] * cof[1, 0] + P[2, 0] * cof[2, 0])
    return cof


#: polar Newton steps below this size go unscaled (see _polar_newton)
UNSCALED_BELOW = 1e-3


def _polar_newton(X: np.ndarray, iterations: int = 30, tol: float = 1e-8) -> np.ndarray:
    """Orthogonal polar factor of [N,3,3] matrices with det > 0 (scaled Newton iteration
    ``X <- (gamma X + X^-T / gamma) / 2``), worked on component planes [3,3,N].

    Newton converges quadratically: once a step changes X by less than ``tol`` = 1e-8, the new
    iterate is within about 1e-16 of the polar factor, so it is returned without another step.
    The scaling only speeds up the first steps, far from the factor: once a step is below
    UNSCALED_BELOW, gamma (then 1 to within its square) is left out (Higham's practice). A scaled
    step forms the new iterate directly, so X of any size from 1e-75 to 1e75 (weights that are
    inverse variances of exact tracks: 1e29) scales down in one step rather than cancelling."""
    P = np.array(X.transpose(1, 2, 0), order="C")
    scaled = True
    for _ in range(iterations):
        Y = _inverse_transpose(P)
        if scaled:
            gamma = np.sqrt(np.sqrt(np.einsum("ijn,ijn->n", Y, Y) / np.einsum("ijn,ijn->n", P, P)))
            Y *= 0.5 / gamma
            Y += P * (0.5 * gamma)  # the new iterate itself: P (gamma / 2 - 1) + Y cancels to 0 for a large X
            step = np.subtract(Y, P, out=P)
            P = Y
        else:
            step = np.subtract(Y, P, out=Y)
            step *= 0.5
            P += step
        size = max(step.max(), -step.min())
        if size < tol:
            break
        scaled = size >= UNSCALED_BELOW
    return P.transpose(2, 0, 1)
