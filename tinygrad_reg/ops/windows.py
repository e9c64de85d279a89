"""The numpy kernels of convolution and pooling: windows of a padded input (im2col), terms
added back where their windows came from (col2im), and the layout they share.

**Channel-major layout.** A convolution's result (N, O, *out) is a view of a C-contiguous
(O, *out, N) array: the channels outermost, the batch innermost. Its product is then one
matrix product per group with no copy on either side (w (O, C·k) @ columns (C·k, out·N)),
the weight gradient's operand is a view of the upstream gradient (which elementwise ops,
batch norm and pooling hand on in the same layout), and every window of a kernel offset is
a block whose innermost run is the whole batch: the im2col copy, the col2im adds and the
pooling sums run over long contiguous rows instead of a row of the image at a time, and a
channel's statistics are one contiguous block. Inputs in any other layout are copied into
this one (once, with the padding); results are the same numbers whatever the layouts.

**One kernel for eager mode and tg.jit.** Each kernel takes the arrays it writes as
optional arguments (``out=``, scratch buffers) and allocates what it is not given: an op's
forward calls it with nothing, the op's jit lowering with buffers reused from replay to
replay, so both compute the same bits by construction (tests/test_jit_cnn.py checks
replays against eager steps). Large im2col columns come from a small per-thread pool in eager
mode (:func:`scratch`).
"""

from __future__ import annotations

import math
import sys
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

# -- layouts and geometry -------------------------------------------------------------------


def cm_axes(nd: int) -> tuple[int, ...]:
    """The axes of an (N, C, *spatial) array in channel-major memory order: (1, 2, ..., 0)."""
    return (*range(1, nd), 0)


def to_cm(a: np.ndarray) -> np.ndarray:
    """(N, C, *spatial) -> its (C, *spatial, N) view."""
    return a.transpose(cm_axes(a.ndim))


def from_cm(a: np.ndarray) -> np.ndarray:
    """(C, *spatial, N) -> its (N, C, *spatial) view."""
    return a.transpose(a.ndim - 1, *range(a.ndim - 1))


def empty_cm(shape: tuple, dtype: Any) -> np.ndarray:
    """An uninitialised (N, C, *spatial) array laid out channel-major."""
    return from_cm(np.empty((*shape[1:], shape[0]), dtype))


def is_cm(a: np.ndarray) -> bool:
    """Whether an (N, C, *spatial) array is laid out channel-major (and has spatial dims)."""
    return a.ndim > 2 and to_cm(a).flags.c_contiguous and not a.flags.c_contiguous


def memory_order(a: np.ndarray) -> tuple[int, ...]:
    """a's axes from the slowest-varying in memory to the fastest (C order for ties)."""
    return tuple(sorted(range(a.ndim), key=lambda i: (-abs(a.strides[i]), i)))


def empty_like_order(a: np.ndarray, shape: tuple, dtype: Any) -> np.ndarray:
    """An uninitialised array of ``shape`` whose axes are laid out in memory as a's are."""
    order = memory_order(a)
    return np.empty(tuple(shape[i] for i in order), dtype).transpose(np.argsort(order))


def out_size(padded: tuple, kernel: tuple, stride: tuple, dilation: tuple) -> tuple:
    """The number of windows along each spatial dim of a padded input."""
    return tuple((p - dl * (k - 1) - 1) // st + 1
                 for p, k, st, dl in zip(padded, kernel, stride, dilation))


def padded_size(size: tuple, padding: tuple) -> tuple:
    return tuple(n + lo + hi for n, (lo, hi) in zip(size, padding))


def offsets(kernel: tuple, stride: tuple, dilation: tuple, out: tuple):
    """For each kernel offset k (in C order): k and the index of the elements of the padded
    input (N, C, *spatial) that it meets in every window: window i's k-th element is
    i·stride + k·dilation."""
    for offset in np.ndindex(*kernel):
        yield offset, (Ellipsis,) + tuple(slice(k * dl, k * dl + st * (o - 1) + 1, st)
                                          for k, dl, st, o in zip(offset, dilation, stride, out))


def lowest(dtype: np.dtype) -> Any:
    """What padding holds for a maximum: -inf, or the smallest integer of an integer dtype."""
    return -np.inf if dtype.kind in "fc" else np.iinfo(dtype).min if dtype.kind in "iu" \
        else False


def _unpadded(padding: tuple) -> bool:
    return not any(lo or hi for lo, hi in padding)


def pad_into(x: np.ndarray, padding: tuple, value: Any, out: np.ndarray) -> np.ndarray:
    """x (N, C, *spatial) written into the middle of ``out`` (its padded shape, any layout),
    the borders set to ``value``; returns ``out``."""
    full = (slice(None),) * 2
    for i, (lo, hi) in enumerate(padding):
        n = out.shape[2 + i]
        if lo:
            out[full + (slice(None),) * i + (slice(0, lo),)] = value
        if hi:
            out[full + (slice(None),) * i + (slice(n - hi, n),)] = value
    np.copyto(out[full + tuple(slice(lo, lo + n) for (lo, _), n in zip(padding, x.shape[2:]))],
              x)
    return out


def needs_cm_copy(x: np.ndarray, padding: tuple) -> bool:
    """Whether :func:`channel_major` copies x (padded, or not laid out channel-major)."""
    return not (_unpadded(padding) and to_cm(x).flags.c_contiguous)


def channel_major(x: np.ndarray, padding: tuple, out: np.ndarray | None = None) -> np.ndarray:
    """x (N, C, *spatial) padded with zeros, as a C-contiguous (C, *padded, N) array: x's own
    memory when x is so laid out and unpadded, else a copy (into ``out``, that shape, when
    given)."""
    if not needs_cm_copy(x, padding):
        return to_cm(x)
    shape = (x.shape[1], *padded_size(x.shape[2:], padding), x.shape[0])
    if out is None:
        out = np.empty(shape, x.dtype)
    pad_into(x, padding, 0, from_cm(out))
    return out


def padded_like(x: np.ndarray, padding: tuple, value: Any,
                out: np.ndarray | None = None) -> np.ndarray:
    """x (N, C, *spatial) with ``padding`` of ``value``, laid out in memory as x is (x itself
    when unpadded; into ``out`` when given)."""
    if _unpadded(padding):
        return x
    shape = x.shape[:2] + padded_size(x.shape[2:], padding)
    if out is None:
        out = empty_like_order(x, shape, x.dtype)
    return pad_into(x, padding, value, out)


_POOL = threading.local()
_POOL_PER_SHAPE = 4


def scratch(shape: tuple, dtype: Any) -> np.ndarray:
    """An uninitialised array for im2col columns, reused across training steps. The columns
    are large (k² times the input) and live from the forward pass to the weight gradient;
    allocating them afresh at every step costs more in page faults than the copy itself.
    A buffer is handed out again only once nothing but this pool refers to it (the node that
    kept it has run backward or was dropped); at most a few per shape, per thread."""
    pool = _POOL.__dict__.setdefault("buffers", {})
    key = (shape, np.dtype(dtype))
    free = pool.setdefault(key, [])
    for buf in free:
        if sys.getrefcount(buf) <= 3:  # the list, this loop's name, getrefcount's argument
            return buf
    buf = np.empty(shape, dtype)
    if len(free) < _POOL_PER_SHAPE:
        free.append(buf)
    return buf


# -- im2col and col2im ------------------------------------------------------------------------


def im2col(xp: np.ndarray, kernel: tuple, stride: tuple, dilation: tuple, out_sizes: tuple,
           groups: int, out: np.ndarray | None = None) -> np.ndarray:
    """Every window of the channel-major padded input ``xp`` (C, *padded, N) as a column:
    (g, cg·k, out·N), row (c, k) of group g holding xp[g·cg + c, i·stride + k·dilation, n]
    in column (i, n). One copy, whose innermost run is the batch (with stride 1, a whole
    row of windows)."""
    c, n = xp.shape[0], xp.shape[-1]
    sp = xp.strides[1:-1]
    shape = (c, *kernel, *out_sizes, n)
    strides = (xp.strides[0], *(s * dl for s, dl in zip(sp, dilation)),
               *(s * st for s, st in zip(sp, stride)), xp.strides[-1])
    win = as_strided(xp, shape=shape, strides=strides, writeable=False)
    if out is None:
        out = scratch((groups, c // groups * math.prod(kernel), math.prod(out_sizes) * n),
                      xp.dtype)
    np.copyto(out.reshape(shape), win)
    return out


def covers_once(size: tuple, kernel: tuple, stride: tuple, dilation: tuple, padding: tuple,
                out_sizes: tuple) -> tuple[bool, bool]:
    """(disjoint, complete) for windows over an input of ``size``: no two windows share an
    element (stride ≥ the window's span), and together they cover every element."""
    disjoint = all(st >= dl * (k - 1) + 1 for k, st, dl in zip(kernel, stride, dilation))
    complete = disjoint and all(
        k == 1 and st == 1 or (dl == 1 and st == k)
        for k, st, dl in zip(kernel, stride, dilation)) and all(
        o * st - lo >= n for n, o, st, (lo, _) in zip(size, out_sizes, stride, padding))
    return disjoint, complete


def col2im(dx: np.ndarray, out_sizes: tuple, kernel: tuple, stride: tuple, dilation: tuple,
           padding: tuple, put: Callable[[tuple, tuple, np.ndarray, bool], None]) -> None:
    """Write into ``dx`` (N, C, *size) the sum over kernel offsets k of each window's k-th
    term, put where it came from: window i's k-th element is input element
    i·stride + k·dilation - padding. ``put(k, windows, dest, add)`` writes offset k's terms
    for ``windows`` (a slice per spatial dim: those whose k-th element lies in the input,
    not in the padding) into ``dest`` (those elements of dx, a strided view): added when
    windows overlap (dx starts at zero, and offsets are taken in C order), assigned when no
    two windows share an element (dx starts at zero only if some element is in no
    window). So an element in a single window gets its term as it is: a -0.0 stays -0.0."""
    size = dx.shape[2:]
    disjoint, complete = covers_once(size, kernel, stride, dilation, padding, out_sizes)
    if not complete:
        dx.fill(0)
    for offset in np.ndindex(*kernel):
        windows, elements = [], []
        for k, n, o, st, dl, (lo, _) in zip(offset, size, out_sizes, stride, dilation,
                                            padding):
            start = k * dl - lo  # where window 0's k-th element lands
            first = max(0, -(start // st)) if start < 0 else 0
            last = min(o, -((start - n) // st))  # windows whose element is < n
            if last <= first:
                break
            windows.append(slice(first, last))
            elements.append(slice(first * st + start, (last - 1) * st + start + 1, st))
        else:
            put(offset, tuple(windows), dx[(Ellipsis, *elements)], not disjoint)


# -- thin matrix products --------------------------------------------------------------------

#: The largest m·n·k that OpenBLAS (0.3.x, SkylakeX kernels) hands to its small-matrix GEMM
#: kernel. A convolution with few channels (LeNet's first layer: 6 outputs × 25 taps) makes a
#: product with a short side and a very long one (every position of every image): as one
#: call it takes the general path, whose packing runs at a third of the small kernel's speed
#: there (measured, one thread: 1.15 ms against 0.41 ms for (6, 25) @ (25, 73728)).
SMALL_GEMM = 1_000_000
#: Chunks narrower than this are not worth a call each (the product stays whole).
_MIN_CHUNK = 256


def _chunk(rows: int, inner: int, n: int, least: int | None = None) -> int:
    """The columns per call for a product (rows, inner) @ (inner, n): n (one call) unless
    chunks of at least ``least`` columns (default :data:`_MIN_CHUNK`) fit
    :data:`SMALL_GEMM`."""
    least = _MIN_CHUNK if least is None else least
    width = SMALL_GEMM // max(rows * inner, 1)
    return width if least <= width < n else n


def matmul_cols(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> np.ndarray:
    """out = a @ b for stacks (g, m, k) @ (g, k, n) -> (g, m, n), in chunks of b's columns
    when that keeps each call within OpenBLAS's small-matrix kernel (:func:`_chunk`). The
    chunks follow from the shapes alone, so eager mode and a jit replay compute the same
    bits (BLAS kernels of other widths may round the last bit differently)."""
    n = b.shape[-1]
    width = _chunk(a.shape[-2], a.shape[-1], n)
    if width == n:
        return np.matmul(a, b, out=out)
    for s in range(0, n, width):
        np.matmul(a, b[..., s:s + width], out=out[..., s:s + width])
    return out


def matmul_rows(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None,
                part: np.ndarray | None = None, accumulate: bool = False) -> np.ndarray:
    """out = a @ b for stacks (g, m, n) @ (g, n, p) -> (g, m, p) with a long inner dim n (a
    weight gradient: every position of every image), as a sum of products over chunks of n
    (added in order, the partial products in ``part``) when chunks of at least 1024 fit
    OpenBLAS's small-matrix kernel, else one product (``out``, ``part``: (g, m, p) buffers).
    With ``accumulate``, out += a @ b (``out`` given; every product goes into ``part``)."""
    n = a.shape[-1]
    width = _chunk(a.shape[-2], b.shape[-1], n, 4 * _MIN_CHUNK)
    if not accumulate:
        if width == n:
            return np.matmul(a, b, out=out)
        out = np.matmul(a[..., :width], b[..., :width, :], out=out)
        start = width
    else:
        start = 0
    for s in range(start, n, width):
        np.add(out, np.matmul(a[..., s:s + width], b[..., s:s + width, :], out=part), out=out)
    return out


# -- convolution ----------------------------------------------------------------------------


#: The im2col columns of a convolution are made and used a block of output rows at a time
#: when they would exceed this many bytes: blocks of about this size (of whole rows of the
#: first spatial dim) stay in the cache from their copy to their product, instead of a
#: column array of several MB going out to memory and being read back (LeNet's first layer,
#: 7 MB of columns: its forward 1.31 -> 0.99 ms, cold caches, one thread). The weight
#: gradient then copies x's windows again, block by block (no columns are kept).
COLS_BLOCK = 640 << 10


def col_rows(x_shape: tuple, w_shape: tuple, out_sizes: tuple, itemsize: int) -> int:
    """Rows of the first output spatial dim per block of im2col columns (:data:`COLS_BLOCK`);
    all of them (one block, the columns made whole) when the columns fit in two blocks or
    there is a single spatial row."""
    rows = out_sizes[0]
    size = x_shape[1] * math.prod(w_shape[2:]) * math.prod(out_sizes) * x_shape[0] * itemsize
    if rows <= 1 or size <= 2 * COLS_BLOCK:
        return rows
    return max(1, min(rows, COLS_BLOCK * rows // size))


def cols_buffer_shape(x_shape: tuple, w_shape: tuple, out_sizes: tuple, groups: int,
                      itemsize: int) -> tuple:
    """The shape (g, cg·k, columns) of the im2col buffer :func:`conv_forward` and
    :func:`conv_weight_grad` write: the whole columns, or one block's (:func:`col_rows`)."""
    r = col_rows(x_shape, w_shape, out_sizes, itemsize)
    per = math.prod(out_sizes[1:]) * x_shape[0]
    return (groups, x_shape[1] // groups * math.prod(w_shape[2:]), r * per)


def _col_blocks(xp: np.ndarray, x_shape: tuple, w_shape: tuple, stride: tuple,
                dilation: tuple, q: tuple, groups: int, buf: np.ndarray | None):
    """For each block of output rows (:func:`col_rows`): (its columns' slice of the whole
    columns, its im2col columns (written into ``buf``, or a scratch buffer))."""
    kernel = w_shape[2:]
    rows = col_rows(x_shape, w_shape, q, xp.dtype.itemsize)
    per = math.prod(q[1:]) * x_shape[0]
    if buf is None:
        buf = scratch(cols_buffer_shape(x_shape, w_shape, q, groups, xp.dtype.itemsize),
                      xp.dtype)
    for a in range(0, max(q[0], 1), max(rows, 1)):  # (one empty block for no rows)
        r = min(rows, q[0] - a)
        out = buf if buf.shape[2] == r * per else buf.reshape(-1)[
            :buf.shape[0] * buf.shape[1] * r * per].reshape(buf.shape[0], buf.shape[1], r * per)
        yield slice(a * per, (a + r) * per), im2col(
            xp[:, a * stride[0]:], kernel, stride, dilation, (r, *q[1:]), groups, out)


def conv_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, stride: tuple,
                 padding: tuple, dilation: tuple, groups: int, out: np.ndarray | None = None,
                 cols: np.ndarray | None = None,
                 xp: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """y = x ⋆ w (+ b) (N, O, *out), channel-major, and its im2col columns (None when they
    were made a block of output rows at a time, :func:`col_rows`): one copy of the windows,
    one matrix product per group, the bias added in place (block by block). ``out``
    (channel-major), ``cols`` (:func:`cols_buffer_shape`) and ``xp`` (the channel-major
    padded copy of x, needed when :func:`needs_cm_copy`) are written when given."""
    o = w.shape[0]
    xp = channel_major(x, padding, xp)
    q = out_size(xp.shape[1:-1], w.shape[2:], stride, dilation)
    if out is None:
        out = empty_cm((x.shape[0], o, *q), np.result_type(x, w))
    y = to_cm(out).reshape(groups, o // groups, -1)  # (O, *out, N), C-contiguous
    wg = w.reshape(groups, o // groups, -1)
    bias = None if b is None else b.reshape(groups, o // groups, 1)
    whole = col_rows(x.shape, w.shape, q, xp.dtype.itemsize) == q[0]
    for cs, c in _col_blocks(xp, x.shape, w.shape, stride, dilation, q, groups, cols):
        matmul_cols(wg, c, y[..., cs])
        if bias is not None:
            np.add(y[..., cs], bias, out=y[..., cs])
    return out, (c if whole else None)


def _grad_columns(g: np.ndarray, groups: int, out: np.ndarray | None) -> np.ndarray:
    """The upstream gradient (N, O, *out) as (g, og, out·N): a view when it is channel-major
    (as a convolution's result and what elementwise ops make of it are), else a copy."""
    gm = channel_major(g, ((0, 0),) * (g.ndim - 2), out)
    return gm.reshape(groups, g.shape[1] // groups, -1)


def conv_weight_grad(x: np.ndarray, g: np.ndarray, w_shape: tuple, stride: tuple,
                     padding: tuple, dilation: tuple, groups: int,
                     cols: np.ndarray | None = None, out: np.ndarray | None = None,
                     gbuf: np.ndarray | None = None, xp: np.ndarray | None = None,
                     colsbuf: np.ndarray | None = None, prod: np.ndarray | None = None,
                     part: np.ndarray | None = None) -> np.ndarray:
    """dw = the correlation of x's windows with g, as cols @ gᵀ per group ((g, cg·k, og),
    then transposed into w's shape; over chunks of the positions when they are many and the
    channels few, :func:`matmul_rows`): the forward's im2col columns when given, else x's
    windows copied (into ``colsbuf``, :func:`cols_buffer_shape`, block by block of output
    rows when they are large, the blocks' products added in order; ``xp`` as in
    :func:`conv_forward`). ``gbuf``: g's channel-major copy when g is not so laid out;
    ``prod`` and ``part``: the (g, cg·k, og) product and a chunk's."""
    o = w_shape[0]
    gm = _grad_columns(g, groups, gbuf)
    if cols is not None:
        dwt = matmul_rows(cols, gm.transpose(0, 2, 1), prod, part)  # (g, cg·k, og)
    else:
        xp_ = channel_major(x, padding, xp)
        dwt = prod
        for cs, c in _col_blocks(xp_, x.shape, w_shape, stride, dilation, g.shape[2:],
                                 groups, colsbuf):
            dwt = matmul_rows(c, gm[..., cs].transpose(0, 2, 1), dwt, part,
                              accumulate=cs.start > 0)
    if out is None:
        out = np.empty(w_shape, dwt.dtype)
    np.copyto(out.reshape(groups, o // groups, -1), dwt.transpose(0, 2, 1))
    return out


def input_grad_by_offset(x_shape: tuple, w_shape: tuple, out_sizes: tuple,
                         itemsize: int) -> bool:
    """Whether :func:`conv_input_grad` makes its columns one kernel offset at a time: when
    the whole columns would exceed two :data:`COLS_BLOCK`."""
    return x_shape[1] * math.prod(w_shape[2:]) * math.prod(out_sizes) * x_shape[0] * \
        itemsize > 2 * COLS_BLOCK


def input_cols_shape(x_shape: tuple, w_shape: tuple, out_sizes: tuple, groups: int,
                     itemsize: int) -> tuple:
    """The shape of :func:`conv_input_grad`'s column buffer: (g, cg·k, out·N), or one kernel
    offset's (g, cg, out·N) (:func:`input_grad_by_offset`)."""
    taps = 1 if input_grad_by_offset(x_shape, w_shape, out_sizes, itemsize) else \
        math.prod(w_shape[2:])
    return (groups, x_shape[1] // groups * taps, math.prod(out_sizes) * x_shape[0])


def conv_input_grad(g: np.ndarray, w: np.ndarray, x_shape: tuple, stride: tuple,
                    padding: tuple, dilation: tuple, groups: int,
                    out: np.ndarray | None = None, gbuf: np.ndarray | None = None,
                    cols: np.ndarray | None = None) -> np.ndarray:
    """dx (``x_shape``, channel-major) for y = x ⋆ w given g = dL/dy: the columns wᵀ @ g per
    group ((g, cg·k, out·N), into ``cols``, :func:`input_cols_shape`, when given), each
    kernel offset's block added back where its windows came from (:func:`col2im`). Large
    columns are made one kernel offset's block at a time, each added back while it is in
    the cache (wₖᵀ @ g, (g, cg, out·N)) rather than all of them going out to memory and
    back (LeNet's second layer: 4.9 MB of columns)."""
    o, kernel = w.shape[0], w.shape[2:]
    og = o // groups
    q = g.shape[2:]
    c = x_shape[1]
    gm = _grad_columns(g, groups, gbuf)
    dtype = np.result_type(w, gm)
    by_offset = input_grad_by_offset(x_shape, w.shape, q, np.dtype(dtype).itemsize)
    if cols is None:
        cols = scratch(input_cols_shape(x_shape, w.shape, q, groups, np.dtype(dtype).itemsize),
                       dtype)
    if out is None:
        out = empty_cm(tuple(x_shape), cols.dtype)
    lead = (slice(None),)
    if by_offset:
        wk = w.reshape(groups, og, c // groups, -1).transpose(0, 3, 2, 1)  # (g, k, cg, og)
        block = cols.reshape(c, *q, x_shape[0])

        def term_of(k: tuple, windows: tuple) -> np.ndarray:
            matmul_cols(wk[:, int(np.ravel_multi_index(k, kernel))], gm, cols)
            return from_cm(block[lead + windows])
    else:
        matmul_cols(w.reshape(groups, og, -1).transpose(0, 2, 1), gm, cols)
        blocks = cols.reshape(c, *kernel, *q, x_shape[0])  # (C, *k, *out, N)

        def term_of(k: tuple, windows: tuple) -> np.ndarray:
            return from_cm(blocks[lead + k + windows])

    def put(k: tuple, windows: tuple, dest: np.ndarray, add: bool) -> None:
        term = term_of(k, windows)
        if add:
            np.add(dest, term, out=dest)
        else:
            np.copyto(dest, term)

    old = np.setbufsize(_COL2IM_BUFSIZE)
    try:
        col2im(out, q, kernel, stride, dilation, padding, put)
    finally:
        np.setbufsize(old)
    return out


#: numpy's ufunc buffer size while col2im adds blocks into dx: with the default (8192
#: elements), an add whose operands are strided rows shorter than that (a 5×5 kernel's
#: window of 8 columns × the batch: rows of 1024) is copied through buffers, about 3× the
#: time of the same add on contiguous arrays; rows of 1024 need no buffer (the second
#: LeNet layer's input gradient 1.07 -> 0.97 ms).
_COL2IM_BUFSIZE = 1024


# -- pooling ----------------------------------------------------------------------------------


def window_gather(x: np.ndarray, s: np.ndarray, kernel: tuple, stride: tuple, padding: tuple,
                  dilation: tuple, pad_value: Any, out: np.ndarray | None = None,
                  xp: np.ndarray | None = None, term: np.ndarray | None = None) -> np.ndarray:
    """y = Σ_k x_pad[window's k-th element] · s[k], the terms added in the kernel's C order
    into the first one (pooling's arithmetic). When every kernel offset has the same weights
    (average pooling's 1/count per window: :func:`per_window`), the window's elements are
    added first and the sum multiplied once, (x₀ + x₁ + ...) · s: half the passes, and the
    same bits when s is a power of two (a 2×2 average). ``xp``: x padded with ``pad_value``
    (in x's layout) when there is padding; ``term``: the buffer of each later term."""
    xp = padded_like(x, padding, pad_value, xp)
    q = out_size(xp.shape[2:], kernel, stride, dilation)
    same = per_window(s, kernel)
    if same is not None:
        parts = [xp[index] for _, index in offsets(kernel, stride, dilation, q)]
        if len(parts) == 1:
            return np.multiply(parts[0], same, out=out)
        y = np.add(parts[0], parts[1], out=out)
        for part in parts[2:]:
            np.add(y, part, out=y)
        return np.multiply(y, same, out=y)
    y = None
    for offset, index in offsets(kernel, stride, dilation, q):
        if y is None:
            y = np.multiply(xp[index], s[offset], out=out)
        else:
            np.add(y, np.multiply(xp[index], s[offset], out=term), out=y)
    return y


def per_window(s: np.ndarray, kernel: tuple) -> np.ndarray | None:
    """s[0, ..., 0] when the weights ``s`` (*kernel, ...) of a pooling are the same for every
    kernel offset (average pooling: one 1/count per window), else None. Only weights of
    shape (*kernel, *out) are looked at (max pooling's shares carry the batch and channel
    dims too, and differ between offsets: not worth a pass to find out)."""
    d = len(kernel)
    if s.ndim != 2 * d or s.size > 1 << 16:
        return None
    flat = s.reshape(math.prod(kernel), -1)
    return s[(0,) * d] if (flat == flat[0]).all() else None


def _window_slice(a: np.ndarray, windows: tuple) -> np.ndarray:
    """The per-window weights ``a`` (broadcasting against (N, C, *out)) for some windows: its
    trailing spatial dims sliced where they are not 1 (broadcast)."""
    d = len(windows)
    lead = a.ndim - d
    if lead < 0:
        return a
    return a[(slice(None),) * lead + tuple(
        w if a.shape[lead + i] != 1 else slice(None) for i, w in enumerate(windows))]


def needs_g_copy(g: np.ndarray, out: np.ndarray) -> bool:
    """Whether :func:`window_scatter` copies g into channel-major order first."""
    return is_cm(out) and not is_cm(g)


def _copy_cm(a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    out = empty_cm(a.shape, a.dtype) if out is None else out
    np.copyto(out, a)
    return out


def window_scatter(g: np.ndarray, s: np.ndarray, x_shape: tuple, kernel: tuple, stride: tuple,
                   padding: tuple, dilation: tuple, out: np.ndarray | None = None,
                   term: np.ndarray | None = None, cm: bool = False,
                   gcm: np.ndarray | None = None) -> np.ndarray:
    """dx (``x_shape``, laid out as g is, or channel-major with ``cm``) = the terms g · s[k]
    put back where window k-th elements came from (:func:`col2im`): pooling's gradient.
    ``term``: a buffer of g's shape for the terms that are added (when windows overlap), or
    for g · s₀ when every kernel offset has the same weights (:func:`per_window`: average
    pooling), which are then copied (or added) into place.
    A channel-major dx from a g that is not (the gradient of a flattened pooling) copies g
    into that layout first (into ``gcm`` when given): one pass between two memory orders
    over g, rather than one per kernel offset over dx."""
    dtype = np.result_type(g, s)
    if out is None:
        out = empty_cm(tuple(x_shape), dtype) if cm else empty_like_order(g, tuple(x_shape),
                                                                          dtype)
    if needs_g_copy(g, out):  # (gcm: an (N, C, *out) array laid out channel-major)
        g = _copy_cm(g, gcm)
    q = g.shape[2:]
    same = per_window(s, kernel)
    if same is not None:  # every offset's term is g · s₀: one product, then copies or adds
        g = np.multiply(g, same, out=term)

    def put(k: tuple, windows: tuple, dest: np.ndarray, add: bool) -> None:
        gk = g[(Ellipsis, *windows)]
        if same is not None:
            if add:
                np.add(dest, gk, out=dest)
            else:
                np.copyto(dest, gk)
            return
        sk = _window_slice(s[k], windows)
        if add:
            t = None if term is None else term[(Ellipsis, *(slice(0, w.stop - w.start)
                                                            for w in windows))]
            np.add(dest, np.multiply(gk, sk, out=t), out=dest)
        else:
            np.multiply(gk, sk, out=dest)

    col2im(out, q, kernel, stride, dilation, padding, put)
    return out


__all__ = ["cm_axes", "to_cm", "is_cm", "from_cm", "empty_cm", "memory_order", "empty_like_order",
           "out_size", "padded_size", "offsets", "lowest", "pad_into", "needs_cm_copy",
           "channel_major", "padded_like", "scratch", "im2col", "covers_once", "COLS_BLOCK",
           "col_rows", "cols_buffer_shape", "input_grad_by_offset", "input_cols_shape",
           "SMALL_GEMM", "matmul_cols", "matmul_rows", "col2im",
           "conv_forward", "conv_weight_grad", "conv_input_grad", "window_gather",
           "window_scatter", "needs_g_copy", "per_window"]
