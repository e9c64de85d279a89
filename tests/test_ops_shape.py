"""Property tests for the shape ops: one case per op, each run through the public
``tg.testing.check_op`` against a numpy reference. The ops that numpy does as views
(reshape, transpose, broadcast_to, squeeze, expand_dims, basic indexing) are documented to
share memory with their input (``may_alias=True``); the others must not."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_reg as tg
from tinygrad_reg.testing import strategies as S


@st.composite
def reshape_inputs(draw):
    x = draw(S.tensors())
    dims = list(draw(st.permutations(x.shape)))
    for _ in range(draw(st.integers(0, 2))):  # insert size-1 axes
        dims.insert(draw(st.integers(0, len(dims))), 1)
    if dims and draw(st.booleans()):
        dims[draw(st.integers(0, len(dims) - 1))] = -1
    return x, tuple(dims)


@st.composite
def transpose_inputs(draw):
    x = draw(S.tensors())
    return x, draw(st.one_of(st.none(), st.permutations(range(x.ndim)).map(tuple)))


def _transpose(x, axes):
    return x.transpose() if axes is None else x.transpose(*axes)


def _ref_transpose(x, axes):
    """PyTorch's meaning: two dims are swapped (numpy would read (0, 1) as a permutation);
    none or a longer tuple is numpy's permutation."""
    if axes is not None and len(axes) == 2:
        return np.swapaxes(x, *axes)
    return np.transpose(x, axes)


@st.composite
def broadcast_pair(draw):
    """A big shape, and a smaller one that broadcasts to it (fewer dims, some stretched)."""
    big = draw(S.shapes())
    rank = draw(st.integers(0, len(big)))
    small = tuple(1 if draw(st.booleans()) else n for n in big[len(big) - rank:])
    return big, small


@st.composite
def broadcast_to_inputs(draw):
    big, small = draw(broadcast_pair())
    return draw(S.tensors(small)), big


@st.composite
def sum_to_inputs(draw):
    big, small = draw(broadcast_pair())
    return draw(S.tensors(big)), small


def _ref_sum_to(x, shape):
    lead = x.ndim - len(shape)
    x = x.sum(axis=tuple(range(lead)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and x.shape[i] != 1)
    return x.sum(axis=stretched, keepdims=True)


@st.composite
def squeeze_inputs(draw):
    x = draw(S.tensors())
    ones = [i for i, n in enumerate(x.shape) if n == 1]
    axis = draw(st.one_of(st.none(), st.sampled_from(ones), st.just(tuple(ones)))
                if ones else st.none())
    return x, axis


@st.composite
def expand_dims_inputs(draw):
    x = draw(S.tensors())
    return x, draw(st.integers(-x.ndim - 1, x.ndim))


@st.composite
def basic_index(draw):
    x = draw(S.tensors())
    return x, draw(hnp.basic_indices(x.shape, allow_newaxis=True))


@st.composite
def int_array_index(draw):
    x = draw(S.tensors(S.shapes(min_dims=1)))
    n = x.shape[0]
    picks = draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=4))
    first_axis = np.array(picks + [picks[0]])  # a repeated index, by construction
    index = draw(st.one_of(st.just(first_axis), hnp.integer_array_indices(x.shape)))
    return x, index


@st.composite
def bool_mask_index(draw):
    x = draw(S.tensors(S.shapes(min_dims=1)))
    full = hnp.arrays(np.bool_, x.shape)
    leading = hnp.arrays(np.bool_, x.shape[:1]).map(lambda m: (m, Ellipsis))
    return x, draw(st.one_of(full, leading))


def _getitem(x, index):
    return x[index]


@st.composite
def concatenate_inputs(draw):
    """(x_1, ..., x_k, axis): k in 1..3 tensors that differ only along ``axis``."""
    base = list(draw(S.shapes(min_dims=1)))
    axis = draw(st.integers(-len(base), len(base) - 1))
    xs = []
    for _ in range(draw(st.integers(1, 3))):
        base[axis] = draw(st.integers(1, 3))
        xs.append(draw(S.tensors(tuple(base))))
    return (*xs, axis)


@st.composite
def stack_inputs(draw):
    """(x_1, ..., x_k, axis): k in 1..3 tensors of one shape."""
    shape = draw(S.shapes())
    xs = [draw(S.tensors(shape)) for _ in range(draw(st.integers(1, 3)))]
    return (*xs, draw(st.integers(-len(shape) - 1, len(shape))))


@st.composite
def permute_inputs(draw):
    x = draw(S.tensors())
    return x, tuple(draw(st.permutations(range(x.ndim))))


@st.composite
def two_dims(draw):
    x = draw(S.tensors(S.shapes(min_dims=1)))
    return x, draw(st.integers(-x.ndim, x.ndim - 1)), draw(st.integers(-x.ndim, x.ndim - 1))


@st.composite
def flatten_inputs(draw):
    x = draw(S.tensors(S.shapes(min_dims=1)))
    s = draw(st.integers(0, x.ndim - 1))
    return x, s, draw(st.integers(s, x.ndim - 1)) - (x.ndim if draw(st.booleans()) else 0)


def _ref_flatten(x, s, e):
    e %= x.ndim
    return x.reshape(x.shape[:s] + (-1,) + x.shape[e + 1:])


@st.composite
def repeat_inputs(draw):
    x = draw(S.tensors())
    extra = draw(st.integers(0, 2))
    return x, tuple(draw(st.integers(1, 3)) for _ in range(x.ndim + extra))


@st.composite
def flip_inputs(draw):
    x = draw(S.tensors(S.shapes(min_dims=1)))
    return x, tuple(draw(st.sets(st.integers(0, x.ndim - 1), min_size=1)))


@st.composite
def roll_inputs(draw):
    x = draw(S.tensors(S.shapes(min_dims=1)))
    dims = tuple(draw(st.sets(st.integers(0, x.ndim - 1), min_size=1)))
    shifts = tuple(draw(st.integers(-4, 4)) for _ in dims)
    if len(dims) == 1 and draw(st.booleans()):
        return x, shifts[0], dims[0]
    return x, shifts, dims


@st.composite
def pad_inputs(draw):
    """(x, pad widths in PyTorch's order, mode)."""
    x = draw(S.tensors(S.shapes(min_dims=1, min_side=2)))
    mode = draw(st.sampled_from(["constant", "reflect", "replicate", "circular"]))
    k = draw(st.integers(1, x.ndim))
    widths = []
    for axis in range(x.ndim - 1, x.ndim - 1 - k, -1):
        top = {"reflect": x.shape[axis] - 1, "circular": x.shape[axis]}.get(mode, 3)
        widths += [draw(st.integers(0, top)), draw(st.integers(0, top))]
    return x, tuple(widths), mode


def _ref_pad(x, pad, mode):
    per_axis = [(0, 0)] * x.ndim
    for k in range(len(pad) // 2):
        per_axis[x.ndim - 1 - k] = (pad[2 * k], pad[2 * k + 1])
    np_mode = {"constant": "constant", "reflect": "reflect", "replicate": "edge",
               "circular": "wrap"}[mode]
    return np.pad(x, per_axis, mode=np_mode)


@st.composite
def tri_inputs(draw):
    return draw(S.tensors(S.shapes(min_dims=2))), draw(st.integers(-2, 2))


@st.composite
def gather_inputs(draw):
    x = draw(S.tensors(S.shapes(min_dims=1)))
    dim = draw(st.integers(0, x.ndim - 1))
    shape = tuple(draw(st.integers(1, x.shape[i])) if i != dim else draw(st.integers(1, 4))
                  for i in range(x.ndim))
    index = draw(hnp.arrays(np.int64, shape, elements=st.integers(0, x.shape[dim] - 1)))
    return x, dim, tg.Tensor(index)


def _ref_gather(x, dim, index):
    idx = index.numpy() if isinstance(index, tg.Tensor) else index
    sliced = x[tuple(slice(0, n) if i != dim else slice(None) for i, n in enumerate(idx.shape))]
    return np.take_along_axis(sliced, idx, axis=dim)


@st.composite
def index_select_inputs(draw):
    x = draw(S.tensors(S.shapes(min_dims=1)))
    dim = draw(st.integers(0, x.ndim - 1))
    n = x.shape[dim]
    index = draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=5))  # repeats too
    return x, dim, np.array(index)


@st.composite
def split_inputs(draw):
    x = draw(S.tensors(S.shapes(min_dims=1)))
    dim = draw(st.integers(0, x.ndim - 1))
    return x, draw(st.integers(1, x.shape[dim])), dim


def case(name, op, ref, *inputs, **options):
    return pytest.param(name, op, ref, inputs, options, id=name)


CASES = [
    case("reshape", lambda x, shape: x.reshape(shape), np.reshape, reshape_inputs(),
         may_alias=True),
    case("transpose", _transpose, _ref_transpose, transpose_inputs(), may_alias=True),
    case("permute", lambda x, dims: x.permute(*dims), np.transpose, permute_inputs(),
         may_alias=True),
    case("transpose_two_dims", lambda x, d0, d1: x.transpose(d0, d1), np.swapaxes,
         two_dims(), may_alias=True),
    case("mT", lambda x: x.mT, lambda x: np.swapaxes(x, -1, -2),
         S.tensors(S.shapes(min_dims=2)), may_alias=True),
    case("broadcast_to", lambda x, shape: x.broadcast_to(shape), np.broadcast_to,
         broadcast_to_inputs(), may_alias=True),
    # sum_to returns its input itself when there is nothing to sum (as broadcast_to does)
    case("sum_to", lambda x, shape: x.sum_to(shape), _ref_sum_to, sum_to_inputs(),
         may_alias=True),
    case("squeeze", lambda x, axis: x.squeeze(axis), np.squeeze, squeeze_inputs(),
         may_alias=True),
    case("expand_dims", lambda x, axis: x.expand_dims(axis), np.expand_dims,
         expand_dims_inputs(), may_alias=True),
    case("getitem_basic", _getitem, _getitem, basic_index(), may_alias=True),
    case("getitem_int_array", _getitem, _getitem, int_array_index()),
    case("getitem_bool_mask", _getitem, _getitem, bool_mask_index()),
    case("concatenate", lambda *a: tg.concatenate(a[:-1], axis=a[-1]),
         lambda *a: np.concatenate(a[:-1], axis=a[-1]), concatenate_inputs()),
    case("stack", lambda *a: tg.stack(a[:-1], axis=a[-1]),
         lambda *a: np.stack(a[:-1], axis=a[-1]), stack_inputs()),
    case("unsqueeze", lambda x, d: x.unsqueeze(d), np.expand_dims, expand_dims_inputs(),
         may_alias=True),
    case("flatten", lambda x, s, e: x.flatten(s, e), _ref_flatten, flatten_inputs(),
         may_alias=True),
    case("view", lambda x, shape: x.view(shape), np.reshape,
         reshape_inputs().filter(lambda a: a[0].numpy().flags.c_contiguous), may_alias=True),
    case("expand", lambda x, shape: x.expand(*shape), np.broadcast_to, broadcast_to_inputs(),
         may_alias=True),
    case("repeat", lambda x, reps: x.repeat(*reps), np.tile, repeat_inputs()),
    case("flip", lambda x, dims: x.flip(dims), lambda x, dims: np.flip(x, dims),
         flip_inputs()),
    case("roll", lambda x, shifts, dims: x.roll(shifts, dims), np.roll, roll_inputs()),
    case("pad", lambda x, pad, mode: tg.nn.functional.pad(x, pad, mode), _ref_pad,
         pad_inputs()),
    case("tril", lambda x, k: x.tril(k), np.tril, tri_inputs()),
    case("triu", lambda x, k: x.triu(k), np.triu, tri_inputs()),
    case("gather", lambda x, dim, index: x.gather(dim, index), _ref_gather, gather_inputs()),
    case("index_select", lambda x, dim, index: x.index_select(dim, index),
         lambda x, dim, index: np.take(x, index, axis=dim), index_select_inputs()),
    case("split", lambda x, size, dim: x.split(size, dim),
         lambda x, size, dim: tuple(np.split(x, range(size, x.shape[dim], size), axis=dim)),
         split_inputs(), may_alias=True, out_shape=None),
    case("chunk", lambda x, chunks, dim: x.chunk(chunks, dim),
         lambda x, chunks, dim: tuple(np.split(x, range(-(-x.shape[dim] // chunks),
                                                         x.shape[dim],
                                                         -(-x.shape[dim] // chunks)), axis=dim)),
         split_inputs(), may_alias=True, out_shape=None),
    case("unbind", lambda x, dim: x.unbind(dim),
         lambda x, dim: tuple(np.moveaxis(x, dim, 0)),
         S.tensors(S.shapes(min_dims=1)).flatmap(
             lambda x: st.tuples(st.just(x), st.integers(-x.ndim, x.ndim - 1))),
         may_alias=True, out_shape=None),
    case("clone", lambda x: x.clone(), np.copy, S.tensors()),
    # (a transposed view is rarely contiguous, so contiguous() mostly records a Contiguous
    # node; when it is, x itself comes back, as in PyTorch)
    case("contiguous", lambda x: x.mT.contiguous(), lambda x: np.ascontiguousarray(x.swapaxes(
        -1, -2)), S.tensors(S.shapes(min_dims=2)), may_alias=True),
]


@pytest.mark.parametrize("name, op, ref, inputs, options", CASES)
def test_op(name, op, ref, inputs, options):
    tg.testing.check_op(op, *inputs, ref=ref, name=name, **options)


# -- boolean masks must fit the dims they index (numpy and PyTorch raise IndexError) ---------

@pytest.mark.parametrize("requires_grad", [False, True])
@pytest.mark.parametrize("shape, index, words", [
    ((10, 2), lambda m: m([True, False]), r"mask of shape \(2,\) does not match the indexed "
                                          r"dim 0 of shape \(10,\) \(tensor shape \(10, 2\)\)"),
    ((10, 2), lambda m: m(np.ones((2, 10), bool)), r"mask of shape \(2, 10\) does not match "
                                                   r"the indexed dims 0..1 of shape \(10, 2\)"),
    ((10, 2), lambda m: m(np.ones((10, 2, 1), bool)), r"mask of shape \(10, 2, 1\) indexes 3 "
                                                      r"dims from dim 0, but the tensor has 2"),
    ((10, 2), lambda m: (slice(None), m([True, False, True])),
     r"mask of shape \(3,\) does not match the indexed dim 1 of shape \(2,\)"),
    ((4, 3, 2), lambda m: (Ellipsis, m([True, False, True])),
     r"mask of shape \(3,\) does not match the indexed dim 2 of shape \(2,\)"),
    ((4, 3, 2), lambda m: (None, 0, m([True, False])),
     r"mask of shape \(2,\) does not match the indexed dim 1 of shape \(3,\)"),
])
def test_a_boolean_mask_of_the_wrong_shape_is_an_index_error(shape, index, words,
                                                             requires_grad):
    # (it used to become positions: a[[True, False]] on shape (10, 2) was one row)
    for as_tensor in (tg.tensor, np.array, list):
        x = tg.Tensor(np.zeros(shape), requires_grad=requires_grad)
        with pytest.raises(IndexError, match="getitem: a boolean " + words):
            x[index(as_tensor)]
    x = tg.Tensor(np.zeros(shape))
    with pytest.raises(IndexError, match="__setitem__: a boolean " + words):
        x[index(tg.tensor)] = 1.0
    assert not x.numpy().any()


def _pytorch_index(arr, index):
    """numpy indexing with PyTorch's placement: where ints and arrays mix, ints go first."""
    if isinstance(index, tuple) and any(isinstance(i, int) for i in index) and any(
            isinstance(i, np.ndarray) for i in index):
        return _torch_order(arr, index)
    return arr[index]


def test_boolean_masks_that_fit_index_as_numpy():
    a = np.arange(20.0).reshape(10, 2)
    b = np.arange(24.0).reshape(4, 3, 2)
    rows, cols = a[:, 0] % 4 == 0, np.array([True, False])
    for arr, index in ((a, rows), (a, a > 7), (a, (slice(None), cols)), (b, (Ellipsis, cols)),
                       (b, (b[:, 0, 0] > 5, slice(1, None))), (a, True), (a, False),
                       (b, (None, b[:, 0, 0] > 5, None, 1)), (a, np.ones(10, bool).tolist())):
        x = tg.Tensor(arr.copy(), requires_grad=True)
        idx = tuple(tg.tensor(i) if isinstance(i, np.ndarray) else i for i in index) \
            if isinstance(index, tuple) else index
        out = x[idx]
        # (None, mask, None, 1) is PyTorch's (1, 3, 1, 2), not numpy's (3, 1, 1, 2)
        want = _pytorch_index(arr, index)
        np.testing.assert_array_equal(out.numpy(), want)
        out.sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), np.isin(np.arange(arr.size),
                                                           want).reshape(arr.shape))
    x = tg.Tensor(a.copy())
    x[tg.tensor(rows)] = -1.0
    np.testing.assert_array_equal(x.numpy()[rows], -1.0)


# -- PyTorch's placement where ints and array indices mix -----------------------------------

def _torch_order(x, index):
    """The int parts first, then the rest: PyTorch's meaning of a mixed index, in numpy."""
    first = tuple(j for i in index for j in (
        [i] if isinstance(i, (int, slice)) or i is None or i is Ellipsis else
        [slice(None)] * (i.ndim if np.asarray(i).dtype.kind == "b" else 1)))
    then = tuple(slice(None) if i is None or isinstance(i, slice) else i
                 for i in index if not isinstance(i, int))
    return x[first][then]


MIXED = [  # (index, the shape PyTorch 2.13 gives for x of shape (3, 4, 5, 2))
    ((0, slice(None), np.array([1, 3])), (4, 2, 2)),
    ((slice(None), 0, slice(None), np.array([1, 0])), (3, 5, 2)),
    ((np.array([0, 2]), slice(None), 1), (2, 4, 2)),
    ((1, np.array([[0], [2]]), slice(None), np.array([1, 0])), (2, 2, 5)),
    ((np.array([0, 2]), 0, np.array([1, 3])), (2, 2)),
    ((slice(1, 3), 2, np.array([4, 0, 1])), (2, 3, 2)),
]


@pytest.mark.parametrize("index, shape", MIXED, ids=[str(i) for i in range(len(MIXED))])
def test_ints_mixed_with_array_indices_index_first(index, shape):
    x = tg.Tensor(np.arange(120.0).reshape(3, 4, 5, 2))
    got = x[index]
    assert got.shape == shape
    np.testing.assert_array_equal(got.numpy(), _torch_order(x.numpy(), index))
    # a 0-d integer tensor is an int there too (PyTorch's rule)
    as_tensors = tuple(tg.tensor(i) if isinstance(i, int) else i for i in index)
    assert x[as_tensors].shape == shape
    # the same placement for writes: the value has the indexed shape
    value = np.arange(1.0, np.prod(shape) + 1).reshape(shape)
    y = tg.zeros(3, 4, 5, 2, dtype=tg.float64)
    y[index] = tg.tensor(value)
    ref = np.zeros((3, 4, 5, 2))
    view = ref[tuple(i if isinstance(i, (int, slice)) else slice(None) for i in index)]
    view[tuple(slice(None) if isinstance(i, slice) else i for i in index
               if not isinstance(i, int))] = value
    np.testing.assert_array_equal(y.numpy(), ref)


def test_mixed_index_gradient():
    x = tg.tensor(np.arange(24.0).reshape(2, 3, 4), dtype=tg.float64, requires_grad=True)
    tg.testing.check_op(lambda t: t[1, :, np.array([3, 0, 3])],
                        st.just(x), ref=lambda a: a[1][:, [3, 0, 3]], out_shape=None,
                        max_examples=1, name="mixed_index")


# -- pad with negative widths (crops), t, unflatten, roll without dims, view(dtype) ----------

@st.composite
def crop_pad_inputs(draw):
    """(x, widths, mode): widths for the last dim or two, some negative (crops)."""
    x = draw(S.tensors(S.shapes(min_dims=2, max_dims=3, min_side=3, max_side=4)))
    mode = draw(st.sampled_from(["constant", "reflect", "replicate", "circular"]))
    widths = []
    for axis in (-1, -2)[:draw(st.integers(1, 2))]:
        n = x.shape[axis]
        lo, hi = draw(st.integers(-2, 2)), draw(st.integers(-2, 2))
        hi = max(hi, 1 - n - min(lo, 0))  # the crops leave at least one element
        if mode == "reflect":
            lo, hi = min(lo, n - 1), min(hi, n - 1)
        if mode == "circular":  # the cropped size must hold the padding
            left = n - max(-lo, 0) - max(-hi, 0)
            lo, hi = min(lo, left), min(hi, left)
        widths += [lo, hi]
    return x, tuple(widths), mode


def _np_pad(x, widths, mode):
    """numpy's pad with PyTorch's negative widths: crop after padding, before for circular."""
    grow, crop = [(0, 0)] * x.ndim, [(0, 0)] * x.ndim
    for k in range(len(widths) // 2):
        lo, hi = widths[2 * k], widths[2 * k + 1]
        grow[-1 - k], crop[-1 - k] = (max(lo, 0), max(hi, 0)), (max(-lo, 0), max(-hi, 0))

    def cut(a):
        return a[tuple(slice(lo, n - hi) for (lo, hi), n in zip(crop, a.shape))]

    how = {"constant": "constant", "reflect": "reflect", "replicate": "edge",
           "circular": "wrap"}[mode]
    if mode == "circular":
        return np.pad(cut(x), grow, mode=how)
    return cut(np.pad(x, grow, mode=how))


def test_pad_with_negative_widths():
    tg.testing.check_op(lambda x, w, m: tg.nn.functional.pad(x, w, mode=m), crop_pad_inputs(),
                        ref=_np_pad, out_shape=None, may_alias=True, name="pad_crop")


def test_pad_crop_pins():
    # PyTorch 2.13 on a row 0..4: reflect/replicate pad the whole row then crop; circular
    # crops first, then wraps what is left
    row = tg.arange(5.0).reshape(1, 1, 1, 5)
    F = tg.nn.functional
    np.testing.assert_array_equal(F.pad(row, (3, -3), mode="reflect").numpy().ravel(),
                                  [3, 2, 1, 0, 1])
    np.testing.assert_array_equal(F.pad(row, (-1, 2), mode="reflect").numpy().ravel(),
                                  [1, 2, 3, 4, 3, 2])
    np.testing.assert_array_equal(F.pad(row, (3, -3), mode="replicate").numpy().ravel(),
                                  [0, 0, 0, 0, 1])
    np.testing.assert_array_equal(F.pad(row, (1, -2), mode="circular").numpy().ravel(),
                                  [2, 0, 1, 2])
    np.testing.assert_array_equal(F.pad(row, (-2, 1), value=7).numpy().ravel(), [2, 3, 4, 7])
    assert F.pad(row, (0, -5)).shape == (1, 1, 1, 0)
    # PyTorch reads memory it never wrote for circular padding beyond the cropped input; here
    # that is refused
    with pytest.raises(RuntimeError, match="circular padding"):
        F.pad(row, (3, -3), mode="circular")
    with pytest.raises(NotImplementedError, match="mode must be"):
        F.pad(row, (1, 1), mode="typo")
    with pytest.raises(RuntimeError, match="even number of widths"):
        F.pad(tg.ones(3, 3), (2, 0, 2))
    with pytest.raises(RuntimeError, match="negative size"):
        F.pad(row, (-3, -3))


def test_t_unflatten_roll_view_dtype():
    x = tg.arange(6.0).reshape(2, 3)
    assert x.t().shape == (3, 2) and tg.t(tg.ones(3)).shape == (3,)
    with pytest.raises(RuntimeError, match="at most 2 dims"):
        tg.ones(2, 2, 2).t()
    assert tg.ones(4, 6).unflatten(1, (3, -1)).shape == (4, 3, 2)
    with pytest.raises(RuntimeError, match="do not split dim"):
        tg.ones(4, 6).unflatten(1, (4, 2))
    # PyTorch 2.13: roll((1,)) without dims rolls the flattened tensor; two shifts need dims
    np.testing.assert_array_equal(x.roll((1,)).numpy(), [[5, 0, 1], [2, 3, 4]])
    with pytest.raises(RuntimeError, match="give one shift"):
        x.roll((1, 2))
    # view(dtype) reinterprets the bytes; the last dim scales with the item size
    f = tg.ones(3, 4)
    assert f.view(tg.int32).numpy()[0, 0] == np.float32(1.0).view(np.int32)
    assert f.view(tg.int16).shape == (3, 8) and f.view(tg.float64).shape == (3, 2)
    with pytest.raises(RuntimeError, match="whole number"):
        tg.ones(3, 3).view(tg.float64)


def test_shape_errors_are_pytorchs_classes():
    # PyTorch: RuntimeError for shapes and arguments, IndexError for dims out of range; each
    # is also a ValueError here, numpy's class
    x = tg.ones(3, 4)
    for bad, cls in [(lambda: x.reshape(-1, -1, 2), RuntimeError),
                     (lambda: x.permute(0, 2), IndexError),
                     (lambda: x.permute(0, 0), RuntimeError),
                     (lambda: x.flip((0, 0)), RuntimeError), (lambda: x.squeeze(5), IndexError),
                     (lambda: x.expand(4, 1), RuntimeError), (lambda: x.sum(5), IndexError),
                     (lambda: x.unsqueeze(3), IndexError)]:
        with pytest.raises(cls):
            bad()
        with pytest.raises(ValueError):
            bad()


def test_unbind_of_a_0d_tensor_is_refused():
    with pytest.raises(IndexError, match="unbind: a 0-d tensor"):
        tg.tensor(1.0).unbind()



@st.composite
def _many_rows(draw):
    """index_select with 64 or more indices (IndexAdd's sorted path), repeats and negative
    indices among them, on axis 0 or 1."""
    size, n = draw(st.integers(1, 5)), draw(st.integers(64, 90))
    axis = draw(st.sampled_from([0, 1]))
    index = np.array(draw(st.lists(st.integers(-size, size - 1), min_size=n, max_size=n)))
    shape = (size, 2) if axis == 0 else (2, size)
    return draw(S.tensors(shape)), axis, index


def test_index_select_with_many_indices_sums_repeats_into_one_row():
    tg.testing.check_op(tg.index_select, _many_rows(),
                        ref=lambda x, axis, index: np.take(x, index, axis=axis),
                        out_shape=None, name="index_select_many", second_order=False)


def test_index_add_with_many_rows_is_np_add_at():
    from tinygrad_reg.ops.shape import _add_rows

    rng = np.random.default_rng(2)
    for size, n in [(3, 200), (50, 64), (7, 63)]:
        index = rng.integers(-size, size, n)
        rows = rng.standard_normal((n, 4))
        want = np.zeros((size, 4))
        np.add.at(want, index, rows)
        got = np.zeros((size, 4))
        _add_rows(got, index, rows)
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-14)
    with pytest.raises(IndexError):
        _add_rows(np.zeros((3, 4)), np.arange(70) % 4, np.ones((70, 4)))
