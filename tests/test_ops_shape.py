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


def case(name, op, ref, *inputs, **options):
    return pytest.param(name, op, ref, inputs, options, id=name)


CASES = [
    case("reshape", lambda x, shape: x.reshape(shape), np.reshape, reshape_inputs(),
         may_alias=True),
    case("transpose", _transpose, _transpose, transpose_inputs(), may_alias=True),
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
]


@pytest.mark.parametrize("name, op, ref, inputs, options", CASES)
def test_op(name, op, ref, inputs, options):
    tg.testing.check_op(op, *inputs, ref=ref, name=name, **options)
