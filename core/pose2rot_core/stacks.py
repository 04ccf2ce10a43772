"""Products of stacks of 3-vectors ``[...,3]`` and 3x3 matrices ``[...,3,3]``, written out over
their components.

numpy's ``matmul`` and ``einsum`` loop over the tiny 3x3 blocks one at a time; here a product is
a handful of element-wise operations on whole component planes. They run fastest when the
components are stored apart ("component-major": a ``[T,3,3]`` stack whose memory is a
contiguous ``[3,3,T]``), the layout every function here returns; any layout is accepted, and the
results are the same numbers whatever the layout.
"""
from __future__ import annotations

import numpy as np


def empty_vectors(shape: tuple[int, ...]) -> np.ndarray:
    """Uninitialised component-major vectors ``[*shape,3]``: stored as ``[*shape[1:],3,shape[0]]``
    (for ``[T,J,3]``: each joint's components apart, frames fastest)."""
    shape = tuple(shape)
    if not shape:
        return np.empty(3)
    n = len(shape)
    return np.empty(shape[1:] + (3, shape[0])).transpose((n,) + tuple(range(n)))


def empty_matrices(shape: tuple[int, ...]) -> np.ndarray:
    """Uninitialised component-major matrices ``[*shape,3,3]``: stored as
    ``[*shape[1:],3,3,shape[0]]`` (for ``[T,J,3,3]``: per joint, per component, frames fastest)."""
    shape = tuple(shape)
    if not shape:
        return np.empty((3, 3))
    n = len(shape)
    return np.empty(shape[1:] + (3, 3, shape[0])).transpose((n + 1,) + tuple(range(n + 1)))


def any_axis(flags: np.ndarray) -> np.ndarray:
    """``flags.any(axis=-1)`` [...] of booleans [...,3], as three planes or'ed: numpy's reduction
    over a short last axis runs element by element, some ten times slower on [T,J,3] stacks."""
    return flags[..., 0] | flags[..., 1] | flags[..., 2]


def any_per_point(flags: np.ndarray) -> np.ndarray:
    """``flags.any(axis=(0, 2))`` [N] of booleans [T,N,3]: over the frames first, as whole rows."""
    return flags.any(axis=0).any(axis=-1)


def all_per_point(flags: np.ndarray) -> np.ndarray:
    """``flags.all(axis=(0, 2))`` [N] of booleans [T,N,3]: over the frames first, as whole rows."""
    return flags.all(axis=0).all(axis=-1)


def component_major(x: np.ndarray, matrices: bool = True) -> np.ndarray:
    """``x`` ([...,3,3] when ``matrices``, else [...,3]) copied into component-major memory."""
    x = np.asarray(x, np.float64)
    out = empty_matrices(x.shape[:-2]) if matrices else empty_vectors(x.shape[:-1])
    out[...] = x
    return out


def side_by_side(stacks: list[np.ndarray]) -> np.ndarray:
    """[T,n,...]: n stacks ([T,...] each, or all [1,...]) side by side along a second axis,
    component-major (each one's components apart, frames fastest)."""
    return frames_first(np.stack([frames_last(x) for x in stacks]))


def frame_mean(x: np.ndarray) -> np.ndarray:
    """[...]: the mean over the frames of x [T,...], each column summed as one contiguous run:
    the same numbers as ``np.mean`` of that column alone, whatever the layout of x."""
    return np.ascontiguousarray(frames_last(x)).mean(axis=-1)


#: joints worked on together (``[n,...,T]``) hold at most about this many joint-frames, so that
#: their temporaries stay in the processor's cache
BATCH_FRAMES = 6000


def joint_batches(joints: np.ndarray, frames: int) -> list[np.ndarray]:
    """``joints`` [n] split into batches of at most BATCH_FRAMES // ``frames`` (at least one)."""
    size = max(1, BATCH_FRAMES // max(frames, 1))
    return [joints[i:i + size] for i in range(0, len(joints), size)]


def joint_planes(x: np.ndarray) -> np.ndarray:
    """The joints-first view ``[J,...,T]`` of a stack ``[T,J,...]`` (frames last; writes go to
    ``x``). Contiguous for component-major stacks, and joints taken from it by an index array
    come out contiguous too: the layout the ``planes_*`` products below run fastest on."""
    return frames_last(x)


def frames_last(x: np.ndarray) -> np.ndarray:
    """The view of ``x`` [T,...] with its first axis moved last ([...,T]; ``np.moveaxis(x, 0, -1)``
    without its argument checks, which cost more than the move on small stacks)."""
    return x.transpose(_LAST[x.ndim])


def frames_first(x: np.ndarray) -> np.ndarray:
    """The view of ``x`` [...,T] with its last axis moved first ([T,...]): the inverse of frames_last."""
    return x.transpose(_FIRST[x.ndim])


_LAST = {n: tuple(range(1, n)) + (0,) for n in range(1, 9)}
_FIRST = {n: (n - 1,) + tuple(range(n - 1)) for n in range(1, 9)}


def joint_rows(planes: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``planes[index]`` of joint planes [J,...,T] (see joint_planes): a view when ``index`` [n]
    holds one joint (a long clip's frames are not copied), else a contiguous copy."""
    return planes[index[0]:index[0] + 1] if len(index) == 1 else planes[index]


def planes_mul(a: np.ndarray, b: np.ndarray, transpose_a: bool = False) -> np.ndarray:
    """``A @ B`` (``A^T @ B`` with ``transpose_a``) for joint planes a, b [n,3,3,T] (see
    joint_planes; broadcasting) -> [n,3,3,T]; the same numbers as mat_mul / mat_t_mul."""
    a = a.swapaxes(1, 2) if transpose_a else a
    out = a[:, :, 0, None] * b[:, None, 0]
    out += a[:, :, 1, None] * b[:, None, 1]
    out += a[:, :, 2, None] * b[:, None, 2]
    return out


def planes_vec(a: np.ndarray, v: np.ndarray, transpose_a: bool = False) -> np.ndarray:
    """``A @ v`` (``A^T @ v`` with ``transpose_a``) for joint planes a [n,3,3,T] and v [n,3,T]
    (broadcasting) -> [n,3,T]; the same numbers as mat_vec / mat_t_vec."""
    a = a.swapaxes(1, 2) if transpose_a else a
    out = a[:, :, 0] * v[:, None, 0]
    out += a[:, :, 1] * v[:, None, 1]
    out += a[:, :, 2] * v[:, None, 2]
    return out


def _planes(x: np.ndarray, core: int, ndim: int) -> np.ndarray:
    """Component axes of ``x`` (the last ``core``) moved first, the others padded to ``ndim``."""
    x = np.asarray(x, np.float64)
    if x.ndim - core < ndim:
        x = x[(None,) * (ndim - (x.ndim - core))]
    axes = _CORE_FIRST.get((core, ndim))
    return x.transpose(tuple(range(ndim, ndim + core)) + tuple(range(ndim)) if axes is None else axes)


#: (core, ndim) -> the axes of _planes' transpose, for the usual stacks
_CORE_FIRST = {(core, n): tuple(range(n, n + core)) + tuple(range(n)) for core in (1, 2) for n in range(8)}


def _lead(*shapes: tuple[int, ...]) -> int:
    return max(len(s) for s in shapes)


def _matrices(planes: np.ndarray) -> np.ndarray:
    """[...,3,3] view of component planes [3,3,...]."""
    return planes.transpose(tuple(range(2, planes.ndim)) + (0, 1))


def _sum_of_products(pairs: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """``x0*y0 + x1*y1 + ...`` over ``pairs`` of broadcasting planes (added in that order, with one
    temporary)."""
    (x0, y0), *rest = pairs
    acc = x0 * y0
    if np.ndim(acc) == 0:  # scalars
        return sum((x * y for x, y in rest), acc)
    tmp = np.empty_like(acc)
    for x, y in rest:
        acc += np.multiply(x, y, out=tmp)
    return acc


def _into(out: np.ndarray | None) -> np.ndarray | None:
    return None if out is None else _planes(out, 2, out.ndim - 2)


#: stacks of at most this many matrices are multiplied all nine entries at once (mat_mul): fewer
#: numpy calls, and temporaries that still fit in the cache
SMALL_STACK = 2048


def mat_mul(A: np.ndarray, B: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``A @ B`` for matrix stacks [...,3,3] (leading dims broadcast); into ``out`` if given (not
    overlapping A or B). Row by row: each row's temporaries stay small enough for the cache; a
    small stack (SMALL_STACK) all rows at once, the same sums in the same order."""
    n = _lead(np.shape(A)[:-2], np.shape(B)[:-2])
    a, b = _planes(A, 2, n), _planes(B, 2, n)
    product = empty_matrices(np.broadcast(a[0, 0], b[0, 0]).shape) if out is None else out
    rows = _into(product)
    if rows[0, 0].size <= SMALL_STACK:
        np.multiply(a[:, 0, None], b[0], out=rows)
        rows += a[:, 1, None] * b[1]
        rows += a[:, 2, None] * b[2]
        return product
    tmp = np.empty_like(rows[0])
    for i in range(3):
        row = rows[i]
        np.multiply(a[i, 0, None], b[0], out=row)
        row += np.multiply(a[i, 1, None], b[1], out=tmp)
        row += np.multiply(a[i, 2, None], b[2], out=tmp)
    return product


def mat_t_mul(A: np.ndarray, B: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``A^T @ B`` for matrix stacks [...,3,3] (leading dims broadcast); into ``out`` if given
    (``out`` may be ``B`` itself: column j of the product needs only column j of B)."""
    n = _lead(np.shape(A)[:-2], np.shape(B)[:-2])
    a, b = _planes(A, 2, n), _planes(B, 2, n)
    product = empty_matrices(np.broadcast(a[0, 0], b[0, 0]).shape) if out is None else out
    planes = _into(product)
    col, tmp = np.empty_like(planes[:, 0]), np.empty_like(planes[:, 0])
    for j in range(3):
        np.multiply(a[0], b[0, j], out=col)
        col += np.multiply(a[1], b[1, j], out=tmp)
        col += np.multiply(a[2], b[2, j], out=tmp)
        planes[:, j] = col
    return product


def mat_mul_t(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """``A @ B^T`` for matrix stacks [...,3,3] (leading dims broadcast)."""
    n = _lead(np.shape(A)[:-2], np.shape(B)[:-2])
    a, b = _planes(A, 2, n), _planes(B, 2, n)
    return _matrices(_sum_of_products([(a[:, k, None], b[None, :, k]) for k in range(3)]))


def _vectors(planes: np.ndarray) -> np.ndarray:
    """[...,3] view of component planes [3,...]."""
    return planes.transpose(tuple(range(1, planes.ndim)) + (0,))


def mat_vec(A: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``A @ v`` for matrices [...,3,3] and vectors [...,3] (leading dims broadcast) -> [...,3]."""
    n = _lead(np.shape(A)[:-2], np.shape(v)[:-1])
    a, x = _planes(A, 2, n), _planes(v, 1, n)
    return _vectors(_sum_of_products([(a[:, k], x[k]) for k in range(3)]))


def mat_t_vec(A: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``A^T @ v`` for matrices [...,3,3] and vectors [...,3] (leading dims broadcast) -> [...,3]."""
    n = _lead(np.shape(A)[:-2], np.shape(v)[:-1])
    a, x = _planes(A, 2, n), _planes(v, 1, n)
    return _vectors(_sum_of_products([(a[k], x[k]) for k in range(3)]))


def dot(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Dot products over the last axis of vector stacks [...,n] (broadcast) -> [...]."""
    if np.shape(u)[-1] != 3:
        return _sum_of_products([(u[..., i], v[..., i]) for i in range(np.shape(u)[-1])])
    acc = u[..., 0] * v[..., 0]  # 3-vectors, the most frequent: the same sums with fewer calls
    acc += u[..., 1] * v[..., 1]
    acc += u[..., 2] * v[..., 2]
    return acc


def mat_dot(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """``tr(A^T B)`` [...] of matrix stacks [...,3,3] (broadcast): the sum of the products of their
    entries, row by row in order (as ``np.sum(A * B, axis=(-2, -1))`` sums component-major stacks of
    two frames or more)."""
    return _sum_of_products([(A[..., i, j], B[..., i, j]) for i in range(3) for j in range(3)])


def det(A: np.ndarray) -> np.ndarray:
    """Determinants [...] of matrices [...,3,3] (cofactors along the first row)."""
    a = _planes(A, 2, np.ndim(A) - 2)
    return (a[0, 0] * (a[1, 1] * a[2, 2] - a[1, 2] * a[2, 1]) - a[0, 1] * (a[1, 0] * a[2, 2] - a[1, 2] * a[2, 0])
            + a[0, 2] * (a[1, 0] * a[2, 1] - a[1, 1] * a[2, 0]))


def outer_sum(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``sum_n u_n v_n^T`` [T,3,3] of vector stacks u [T,n,3] and v [T,n,3] (or [1,n,3]: the same
    in every frame, one matrix product)."""
    a = _planes(u, 1, 2)  # [3,T,n]
    if v.shape[0] == 1 < u.shape[0]:
        return _matrices(np.matmul(np.asarray(v[0], np.float64).T, a.transpose(0, 2, 1)))
    b = _planes(v, 1, 2)
    out = a[:, None, :, 0] * b[None, :, :, 0]
    for i in range(1, u.shape[1]):
        out += a[:, None, :, i] * b[None, :, :, i]
    return _matrices(out)
