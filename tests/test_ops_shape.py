"""Property tests for the shape ops: one registry entry per op (see opcheck.py)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from opcheck import OpCase, check_op

import tinygrad_reg as tg
from tinygrad_reg.testing import strategies as S


@st.composite
def reshape_inputs(draw):
    x = draw(S.arrays(S.shapes()))
    dims = list(draw(st.permutations(x.shape)))
    for _ in range(draw(st.integers(0, 2))):  # insert size-1 axes
        dims.insert(draw(st.integers(0, len(dims))), 1)
    if dims and draw(st.booleans()):
        dims[draw(st.integers(0, len(dims) - 1))] = -1
    return (x,), {"shape": tuple(dims)}


@st.composite
def transpose_inputs(draw):
    x = draw(S.arrays(S.shapes()))
    return (x,), {"axes": draw(st.one_of(st.none(), st.permutations(range(x.ndim)).map(tuple)))}


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
    return (draw(S.arrays(small)),), {"shape": big}


@st.composite
def sum_to_inputs(draw):
    big, small = draw(broadcast_pair())
    return (draw(S.arrays(big)),), {"shape": small}


def _ref_sum_to(x, shape):
    lead = x.ndim - len(shape)
    x = x.sum(axis=tuple(range(lead)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and x.shape[i] != 1)
    return x.sum(axis=stretched, keepdims=True)


@st.composite
def squeeze_inputs(draw):
    x = draw(S.arrays(S.shapes()))
    ones = [i for i, n in enumerate(x.shape) if n == 1]
    axis = draw(st.one_of(st.none(), st.sampled_from(ones), st.just(tuple(ones)))
                if ones else st.none())
    return (x,), {"axis": axis}


@st.composite
def expand_dims_inputs(draw):
    x = draw(S.arrays(S.shapes()))
    return (x,), {"axis": draw(st.integers(-x.ndim - 1, x.ndim))}


@st.composite
def basic_index(draw):
    x = draw(S.arrays(S.shapes()))
    return (x,), {"index": draw(hnp.basic_indices(x.shape, allow_newaxis=True))}


@st.composite
def int_array_index(draw):
    x = draw(S.arrays(S.shapes(min_dims=1)))
    n = x.shape[0]
    picks = draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=4))
    first_axis = np.array(picks + [picks[0]])  # a repeated index, by construction
    index = draw(st.one_of(st.just(first_axis), hnp.integer_array_indices(x.shape)))
    return (x,), {"index": index}


@st.composite
def bool_mask_index(draw):
    x = draw(S.arrays(S.shapes(min_dims=1)))
    full = hnp.arrays(np.bool_, x.shape)
    leading = hnp.arrays(np.bool_, x.shape[:1]).map(lambda m: (m, Ellipsis))
    return (x,), {"index": draw(st.one_of(full, leading))}


def _getitem(x, index):
    return x[index]


@st.composite
def concatenate_inputs(draw):
    base = list(draw(S.shapes(min_dims=1)))
    axis = draw(st.integers(-len(base), len(base) - 1))
    xs = []
    for _ in range(draw(st.integers(1, 3))):
        base[axis] = draw(st.integers(1, 3))
        xs.append(draw(S.arrays(tuple(base))))
    return tuple(xs), {"axis": axis}


@st.composite
def stack_inputs(draw):
    shape = draw(S.shapes())
    xs = tuple(draw(S.arrays(shape)) for _ in range(draw(st.integers(1, 3))))
    return xs, {"axis": draw(st.integers(-len(shape) - 1, len(shape)))}


CASES = [
    OpCase("reshape", lambda x, shape: x.reshape(shape), np.reshape, reshape_inputs()),
    OpCase("transpose", _transpose, _transpose, transpose_inputs()),
    OpCase("broadcast_to", lambda x, shape: x.broadcast_to(shape), np.broadcast_to,
           broadcast_to_inputs()),
    OpCase("sum_to", lambda x, shape: x.sum_to(shape), _ref_sum_to, sum_to_inputs()),
    OpCase("squeeze", lambda x, axis: x.squeeze(axis), np.squeeze, squeeze_inputs()),
    OpCase("expand_dims", lambda x, axis: x.expand_dims(axis), np.expand_dims,
           expand_dims_inputs()),
    OpCase("getitem_basic", _getitem, _getitem, basic_index()),
    OpCase("getitem_int_array", _getitem, _getitem, int_array_index()),
    OpCase("getitem_bool_mask", _getitem, _getitem, bool_mask_index()),
    OpCase("concatenate", lambda *xs, axis: tg.concatenate(xs, axis=axis),
           lambda *xs, axis: np.concatenate(xs, axis=axis), concatenate_inputs()),
    OpCase("stack", lambda *xs, axis: tg.stack(xs, axis=axis),
           lambda *xs, axis: np.stack(xs, axis=axis), stack_inputs()),
]


@pytest.mark.parametrize("case", CASES, ids=repr)
@given(data=st.data())
def test_op(case, data):
    check_op(case, data)
