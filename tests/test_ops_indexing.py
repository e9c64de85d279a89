"""Ops that pick or place elements by position (diagonal, diag, one_hot): values and
gradients through ``tg.testing.check_op`` against numpy, and their conventions and errors
pinned against PyTorch 2.13's."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_reg as tg
import tinygrad_reg.nn.functional as F
from tinygrad_reg.testing import strategies as S


@st.composite
def diagonal_inputs(draw):
    """(x, offset, dim1, dim2): x of 2 to 4 dims, two different dims, any offset that fits
    (and one past it: an empty diagonal)."""
    x = draw(S.tensors(S.shapes(min_dims=2, max_dims=4)))
    d1, d2 = draw(st.permutations(range(-x.ndim, 0)))[:2]
    offset = draw(st.integers(-x.shape[d1], x.shape[d2]))
    return x, offset, d1, d2


def _np_diag(x, k):
    return np.diag(x, k).copy()


def test_diagonal():
    tg.testing.check_op(lambda x, k, a, b: x.diagonal(k, a, b), diagonal_inputs(),
                        ref=lambda x, k, a, b: np.diagonal(x, k, a, b), name="diagonal")


@pytest.mark.parametrize("ndim", [1, 2])
def test_diag(ndim):
    @st.composite
    def inputs(draw):
        x = draw(S.tensors(S.shapes(min_dims=ndim, max_dims=ndim)))
        return x, draw(st.integers(-3, 3))

    tg.testing.check_op(lambda x, k: tg.diag(x, k), inputs(), ref=_np_diag, out_shape=None,
                        name=f"diag{ndim}d")


def test_diagonal_and_diag_values():
    x = tg.arange(12).reshape(3, 4)
    np.testing.assert_array_equal(x.diagonal().numpy(), [0, 5, 10])
    np.testing.assert_array_equal(x.diagonal(1).numpy(), [1, 6, 11])
    np.testing.assert_array_equal(x.diagonal(-1).numpy(), [4, 9])
    np.testing.assert_array_equal(tg.diag(tg.tensor([1, 2]), 1).numpy(),
                                  [[0, 1, 0], [0, 0, 2], [0, 0, 0]])
    # the diagonal of (dim1, dim2) goes last, as PyTorch
    assert tg.ones(2, 3, 4, 5).diagonal(0, 1, 3).shape == (2, 4, 3)


def test_diagonal_errors():
    with pytest.raises(RuntimeError, match="dim1 and dim2 must differ"):
        tg.ones(3, 3).diagonal(dim1=0, dim2=0)
    with pytest.raises(IndexError, match="dim 2 is out of range"):
        tg.ones(3, 3).diagonal(dim1=0, dim2=2)
    with pytest.raises(RuntimeError, match="1-d or 2-d"):
        tg.diag(tg.ones(2, 2, 2))


def test_one_hot():
    # PyTorch 2.13: one_hot([1, 2, 4], 6) and, without num_classes, largest index + 1
    out = F.one_hot(tg.tensor([1, 2, 4]), 6)
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out.numpy(), np.eye(6, dtype=np.int64)[[1, 2, 4]])
    data = [[[1, 2, 3], [0, 3, 5]], [[1, 2, 3], [0, 3, 5]]]
    np.testing.assert_array_equal(F.one_hot(tg.tensor(data)).numpy(),
                                  np.eye(6, dtype=np.int64)[data])
    assert F.one_hot(tg.tensor(data), 8).shape == (2, 2, 3, 8)


def test_one_hot_errors():
    with pytest.raises(TypeError, match="must hold integers"):
        F.one_hot(tg.tensor([1.0]), 3)
    with pytest.raises(RuntimeError, match="index 3 is out of range for 3 classes"):
        F.one_hot(tg.tensor([0, 3]), 3)
    with pytest.raises(RuntimeError, match="index -1 is out of range"):
        F.one_hot(tg.tensor([-1, 0]))
    with pytest.raises(ValueError, match="empty tensor"):
        F.one_hot(tg.tensor([], dtype=tg.int64))


# -- unfold, repeat_interleave, meshgrid, masked_select -------------------------------------

@st.composite
def unfold_inputs(draw):
    """(x, dim, size, step): windows that fit (size 0 included)."""
    x = draw(S.tensors(S.shapes(min_dims=1, max_sides=4) if False else S.shapes(min_dims=1)))
    d = draw(st.integers(-x.ndim, x.ndim - 1))
    return x, d, draw(st.integers(0, x.shape[d])), draw(st.integers(1, 3))


def _np_unfold(x, d, size, step):
    d %= x.ndim
    n = (x.shape[d] - size) // step + 1
    windows = [np.take(x, range(i * step, i * step + size), axis=d) for i in range(n)]
    return np.moveaxis(np.stack(windows, axis=d), d + 1, -1)


def test_unfold():
    tg.testing.check_op(lambda x, d, size, step: x.unfold(d, size, step), unfold_inputs(),
                        ref=_np_unfold, out_shape=None, name="unfold")


@st.composite
def repeat_inputs(draw):
    x = draw(S.tensors(S.shapes(min_dims=1)))
    d = draw(st.one_of(st.none(), st.integers(-x.ndim, x.ndim - 1)))
    n = x.numel() if d is None else x.shape[d]
    repeats = draw(st.one_of(st.integers(0, 3), st.lists(st.integers(0, 3), min_size=n,
                                                         max_size=n).map(np.array)))
    return x, repeats, d


def test_repeat_interleave():
    tg.testing.check_op(lambda x, r, d: x.repeat_interleave(tg.tensor(r) if isinstance(
        r, np.ndarray) else r, d), repeat_inputs(), ref=lambda x, r, d: np.repeat(x, r, axis=d),
        out_shape=None, name="repeat_interleave")


@pytest.mark.parametrize("indexing", ["ij", "xy"])
def test_meshgrid(indexing):
    def grids(*xs):
        return tg.meshgrid(*xs, indexing=indexing)

    vectors = st.lists(S.tensors(S.shapes(min_dims=1, max_dims=1)), min_size=1, max_size=3)
    tg.testing.check_op(grids, vectors, ref=lambda *xs: np.meshgrid(*xs, indexing=indexing),
                        out_shape=None, may_alias=True, name=f"meshgrid_{indexing}")


@st.composite
def masked_inputs(draw):
    sx, sm = draw(S.broadcastable_shapes(2))
    return draw(S.tensors(sx)), draw(S.tensors(sm, dtype=bool))


def test_masked_select():
    tg.testing.check_op(tg.masked_select, masked_inputs(), out_shape=None, name="masked_select",
                        ref=lambda x, m: np.broadcast_to(x, np.broadcast_shapes(x.shape, m.shape))[
                            np.broadcast_to(m, np.broadcast_shapes(x.shape, m.shape))])


def test_selection_pins():
    x = tg.tensor([[1, 0], [0, 2]])
    np.testing.assert_array_equal(x.nonzero().numpy(), [[0, 0], [1, 1]])
    rows, cols = x.nonzero(as_tuple=True)
    np.testing.assert_array_equal(rows.numpy(), [0, 1])
    # PyTorch 2.13: a 0-d tensor gives shape (1, 0) or (0, 0)
    assert tg.tensor(2.5).nonzero().shape == (1, 0) and tg.tensor(0.0).nonzero().shape == (0, 0)
    a, b = tg.meshgrid(tg.tensor([1, 2, 3]), tg.tensor([4, 5]))
    assert a.shape == b.shape == (3, 2)
    a, b = tg.meshgrid(tg.tensor([1, 2, 3]), tg.tensor([4, 5]), indexing="xy")
    np.testing.assert_array_equal(a.numpy(), [[1, 2, 3], [1, 2, 3]])
    with pytest.raises(RuntimeError, match="indexing must be 'ij' or 'xy'"):
        tg.meshgrid(tg.ones(2), indexing="bad")
    np.testing.assert_array_equal(tg.tensor([[1, 2], [3, 4]]).repeat_interleave(2).numpy(),
                                  [1, 1, 2, 2, 3, 3, 4, 4])
    # PyTorch 2.13's errors: a window larger than the dim, a dim out of range, a step <= 0
    with pytest.raises(RuntimeError, match="size 9 must lie in"):
        tg.ones(8).unfold(0, 9, 3)
    with pytest.raises(IndexError):
        tg.ones(8).unfold(1, 8, 3)
    with pytest.raises(RuntimeError, match="step must be > 0"):
        tg.ones(8).unfold(0, 1, -1)
    with pytest.raises(TypeError, match="bool tensor"):
        tg.ones(3).masked_select(tg.tensor([1, 0, 1]))


# -- scatters --------------------------------------------------------------------------------

@st.composite
def scatter_inputs(draw, values=None, src_larger=True):
    """(x, dim, index, src): index no larger than src, nor than x outside dim."""
    shape = draw(S.shapes(min_dims=1))
    d = draw(st.integers(-len(shape), len(shape) - 1))
    index_shape = tuple(draw(st.integers(1, n)) if i != d % len(shape) else draw(
        st.integers(1, 3)) for i, n in enumerate(shape))
    index = draw(hnp.arrays(np.int64, index_shape, elements=st.integers(0, shape[d] - 1)))
    src_shape = tuple(n + draw(st.integers(0, 1 if src_larger else 0)) for n in index_shape)
    if values == "distinct":  # x and src jointly distinct: no tie anywhere (amax, amin)
        n, m = int(np.prod(shape)), int(np.prod(src_shape))
        both = draw(S.distinct_arrays((n + m,), gap=min(0.05, 2.0 / (n + m))))
        return (tg.Tensor(both[:n].reshape(shape), requires_grad=True), d, tg.tensor(index),
                tg.Tensor(both[n:].reshape(src_shape), requires_grad=True))
    make = values or (lambda s: S.tensors(s))
    return draw(make(shape)), d, tg.tensor(index), draw(make(src_shape))


def _np_positions(index, axis):
    full = list(np.indices(index.shape, sparse=True))
    full[axis] = index
    return tuple(full)


def _np_scatter(x, d, index, src, ufunc=None, include_self=True, mean=False):
    d %= x.ndim
    src = src[tuple(slice(0, k) for k in index.shape)]
    pos = _np_positions(index, d)
    out = x.copy()
    if ufunc is None:
        out[pos] = src
        return out
    touched = np.zeros(x.shape, bool)
    touched[pos] = True
    if not include_self:
        out[touched] = ufunc.identity if ufunc.identity is not None else (
            -np.inf if ufunc is np.maximum else np.inf)
    ufunc.at(out, pos, src)
    if mean:
        counts = touched * int(include_self) + np.zeros(x.shape)
        np.add.at(counts, pos, 1)
        out = np.where(touched, out / np.maximum(counts, 1), x)
    return out


SCATTERS = [
    ("scatter", lambda x, d, i, s: x.scatter(d, i, s), _np_scatter, None),
    ("scatter_value", lambda x, d, i, s: x.scatter(d, i, value=1.5) + s.sum() * 0.0,
     lambda x, d, i, s: _np_scatter(x, d, i, np.full(i.shape, 1.5)), None),
    ("scatter_add", lambda x, d, i, s: x.scatter_add(d, i, s),
     lambda x, d, i, s: _np_scatter(x, d, i, s, np.add), None),
    ("scatter_reduce_sum", lambda x, d, i, s: x.scatter_reduce(d, i, s, "sum",
                                                                  include_self=False),
     lambda x, d, i, s: _np_scatter(x, d, i, s, np.add, False), None),
    ("scatter_reduce_mean", lambda x, d, i, s: tg.scatter_reduce(x, d, i, s, "mean"),
     lambda x, d, i, s: _np_scatter(x, d, i, s, np.add, True, True), None),
    ("scatter_reduce_mean_no_self", lambda x, d, i, s: x.scatter_reduce(
        d, i, s, "mean", include_self=False),
     lambda x, d, i, s: _np_scatter(x, d, i, s, np.add, False, True), None),
    ("scatter_reduce_amax", lambda x, d, i, s: x.scatter_reduce(d, i, s, "amax"),
     lambda x, d, i, s: _np_scatter(x, d, i, s, np.maximum), "distinct"),
    ("scatter_reduce_amin", lambda x, d, i, s: x.scatter_reduce(d, i, s, "amin",
                                                                   include_self=False),
     lambda x, d, i, s: _np_scatter(x, d, i, s, np.minimum, False), "distinct"),
    ("scatter_reduce_prod", lambda x, d, i, s: x.scatter_reduce(d, i, s, "prod"),
     lambda x, d, i, s: _np_scatter(x, d, i, s, np.multiply),
     lambda shape: S.tensors(shape, avoid=[0.0], margin=0.3)),  # (zeros: pinned below)
]


@pytest.mark.parametrize("name, op, ref, values", SCATTERS, ids=[c[0] for c in SCATTERS])
def test_scatter(name, op, ref, values):
    # plain scatter with repeated positions: the last write wins, and the overwritten src
    # still gets PyTorch's gathered gradient, which finite differences cannot see: keep the
    # positions distinct there
    inputs = scatter_inputs(values, src_larger=name != "scatter_value")
    if name == "scatter":
        inputs = inputs.filter(lambda a: len({tuple(p) for p in np.argwhere(
            np.ones(a[2].shape))} ) == a[2].numel() and _unique_targets(a[2].numpy(), a[1]))
    tg.testing.check_op(op, inputs, ref=ref, out_shape=None, name=name)


def _unique_targets(index, d):
    targets = np.stack(np.broadcast_arrays(*_np_positions(index, d % index.ndim)), -1)
    flat = targets.reshape(-1, index.ndim)
    return len({tuple(t) for t in flat}) == len(flat)


def test_scatter_pins():
    # PyTorch 2.13: of repeated positions the last write wins
    x = tg.tensor([1.0, 2.0, 3.0, 4.0])
    np.testing.assert_array_equal(x.scatter(0, tg.tensor([0, 0]), tg.tensor([1.0, 0.0])).numpy(),
                                  [0.0, 2.0, 3.0, 4.0])
    # scatter_reduce's gradients, values from PyTorch 2.13 (x = [1, 2, 3], src = [5, 1, 7] to
    # [0, 0, 2], upstream [1, 10, 100])
    cases = {("mean", True): ([1 / 3, 10, 50], [1 / 3, 1 / 3, 50]),
             ("mean", False): ([0, 10, 0], [0.5, 0.5, 100]),
             ("amax", True): ([0, 10, 0], [1, 0, 100]),
             ("amin", True): ([0.5, 10, 100], [0, 0.5, 0]),
             ("amin", False): ([0, 10, 0], [0, 0.5, 100]),  # x's tie counted, given nothing
             ("prod", True): ([5, 10, 700], [1, 5, 300]),
             ("prod", False): ([0, 10, 0], [1, 5, 100])}
    for (reduce, include_self), (dx, dsrc) in cases.items():
        a = tg.tensor([1.0, 2.0, 3.0], dtype=tg.float64, requires_grad=True)
        s = tg.tensor([5.0, 1.0, 7.0], dtype=tg.float64, requires_grad=True)
        y = a.scatter_reduce(0, tg.tensor([0, 0, 2]), s, reduce, include_self=include_self)
        (y * tg.tensor([1.0, 10.0, 100.0], dtype=tg.float64)).sum().backward()
        np.testing.assert_allclose(a.grad.numpy(), dx, err_msg=str((reduce, include_self)))
        np.testing.assert_allclose(s.grad.numpy(), dsrc, err_msg=str((reduce, include_self)))
    # prod with zeros: each factor's gradient is the product of the others
    a = tg.tensor([0.0, 2.0], dtype=tg.float64, requires_grad=True)
    s = tg.tensor([3.0, 0.0, 5.0], dtype=tg.float64, requires_grad=True)
    a.scatter_reduce(0, tg.tensor([0, 1, 1]), s, "prod").sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [3.0, 0.0])
    np.testing.assert_array_equal(s.grad.numpy(), [0.0, 10.0, 0.0])
    # integer mean floor-divides, as PyTorch
    out = tg.tensor([1, 2]).scatter_reduce(0, tg.tensor([0, 0]), tg.tensor([2, 2]), "mean")
    np.testing.assert_array_equal(out.numpy(), [1, 2])


def test_scatter_errors():
    x, i = tg.ones(3, 4), tg.tensor([[0, 1]])
    with pytest.raises(RuntimeError, match="reduce must be one of"):
        x.scatter_reduce(0, i, tg.ones(1, 2), "INVALID")
    with pytest.raises(RuntimeError, match="src has dtype float64"):
        x.scatter(1, i, tg.ones(1, 2, dtype=tg.float64))
    with pytest.raises(RuntimeError, match="larger than src"):
        x.scatter(1, tg.tensor([[0, 1, 2]]), tg.ones(1, 2))
    with pytest.raises(IndexError, match=r"index values must lie in \[0, 4\)"):
        x.scatter(1, tg.tensor([[0, 4]]), tg.ones(1, 2))
    with pytest.raises(TypeError, match="mode"):
        x.scatter(1, i, tg.ones(1, 2), mode="typo")
