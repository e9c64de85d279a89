"""sort, argsort and topk: values and gradients through ``tg.testing.check_op`` against numpy
(values drawn apart, so no tie makes the order ambiguous), and the conventions pinned
exactly: stable order of ties in both directions, nan as the largest value, topk's order
among ties, 0-d tensors, bad k."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import strategies as st

import tinygrad_reg as tg
from tinygrad_reg.testing import strategies as S


@st.composite
def distinct(draw, max_dims=3):
    """(x, dim): x of 1 to ``max_dims`` dims with pairwise distinct values, and a dim of it."""
    shape = draw(S.shapes(min_dims=1, max_dims=max_dims))
    x = tg.Tensor(draw(S.distinct_arrays(shape)), requires_grad=True)
    return x, draw(st.integers(-x.ndim, x.ndim - 1))


def _sorted(x, dim, descending=False):
    order = np.argsort(-x if descending else x, axis=dim, kind="stable")
    return np.take_along_axis(x, order, dim), order.astype(np.int64)


def _topk(x, k, dim, largest):
    values, order = _sorted(x, dim, largest)
    keep = (slice(None),) * (dim % x.ndim) + (slice(0, k),)
    return values[keep], order[keep]


@pytest.mark.parametrize("descending", [False, True])
def test_sort(descending):
    tg.testing.check_op(lambda x, d: x.sort(d, descending), distinct(),
                        ref=lambda x, d: _sorted(x, d, descending), name="sort")


@pytest.mark.parametrize("largest", [True, False])
def test_topk(largest):
    @st.composite
    def inputs(draw):
        x, d = draw(distinct())
        return x, draw(st.integers(0, x.shape[d])), d

    tg.testing.check_op(lambda x, k, d: x.topk(k, d, largest), inputs(),
                        ref=lambda x, k, d: _topk(x, k, d, largest), name="topk")


def test_argsort_matches_numpy_stable_order():
    x = np.array([[3, 1, 2, 1], [0, 0, 5, -1]], dtype=np.float32)
    np.testing.assert_array_equal(tg.argsort(tg.Tensor(x)).numpy(),
                                  np.argsort(x, axis=-1, kind="stable"))
    assert tg.Tensor(x).argsort(0, descending=True).dtype == np.int64


def test_ties_keep_their_order_in_both_directions():
    # PyTorch 2.13 with stable=True: ascending [0 0 ... 1 1 ...] at [0 2 4 ...], [1 3 5 ...];
    # descending puts the ones first, each run of equal values in its original order
    x = tg.tensor([0.0, 1.0] * 4)
    up, down = x.sort(), x.sort(descending=True)
    np.testing.assert_array_equal(up.indices.numpy(), [0, 2, 4, 6, 1, 3, 5, 7])
    np.testing.assert_array_equal(down.indices.numpy(), [1, 3, 5, 7, 0, 2, 4, 6])
    np.testing.assert_array_equal(down.values.numpy(), [1, 1, 1, 1, 0, 0, 0, 0])


def test_nan_sorts_as_the_largest_value():
    # PyTorch 2.13: sort([1, nan, 0, -inf, 3]) -> [-inf, 0, 1, 3, nan] at [3, 2, 0, 4, 1], and
    # descending -> [nan, 3, 1, 0, -inf] at [1, 4, 0, 2, 3]
    x = tg.tensor([1.0, np.nan, 0.0, -np.inf, 3.0])
    np.testing.assert_array_equal(x.sort().indices.numpy(), [3, 2, 0, 4, 1])
    np.testing.assert_array_equal(x.sort(descending=True).indices.numpy(), [1, 4, 0, 2, 3])
    np.testing.assert_array_equal(x.sort(descending=True).values.numpy(),
                                  [np.nan, 3, 1, 0, -np.inf])


def test_topk_ties_give_the_earliest_positions():
    # PyTorch leaves the order among ties open (2.13 gives [12, 8, 5]); here: earliest first
    x = tg.tensor([1, 1, 0, 1, 0, 1, 0, 0, 1, 0, 0, 0, 1, 0])
    values, indices = x.topk(3)
    np.testing.assert_array_equal(values.numpy(), [1, 1, 1])
    np.testing.assert_array_equal(indices.numpy(), [0, 1, 3])
    np.testing.assert_array_equal(x.topk(3, largest=False).indices.numpy(), [2, 4, 6])


def test_sort_gradient_goes_back_to_where_each_value_came_from():
    x = tg.tensor([3.0, 1.0, 2.0], requires_grad=True)
    values, _ = x.sort(descending=True)
    (values * tg.tensor([1.0, 10.0, 100.0])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 100.0, 10.0])


def test_zero_d_and_empty():
    v, i = tg.tensor(2.5).sort()
    assert v.shape == () and i.shape == () and i.item() == 0 and v.item() == 2.5
    v, i = tg.tensor(2.5).topk(1)
    assert v.shape == () and i.item() == 0
    v, i = tg.zeros(0, 5).sort(0)
    assert v.shape == (0, 5) and i.dtype == np.int64
    assert tg.tensor(2.5).argsort().shape == ()


def test_named_results_and_dim_aliases():
    x = tg.tensor([[2.0, 1.0], [0.0, 3.0]])
    r = x.sort(axis=0)
    assert r.values is r[0] and r.indices is r[1]
    np.testing.assert_array_equal(r.indices.numpy(), [[1, 0], [0, 1]])
    np.testing.assert_array_equal(tg.topk(x, 1, axis=0).indices.numpy(), [[0, 1]])


def test_bad_k_and_dim():
    x = tg.ones(4)
    with pytest.raises(RuntimeError, match="k=5 is out of range"):
        x.topk(5)
    with pytest.raises(ValueError, match="k=-1"):
        x.topk(-1)
    with pytest.raises(IndexError, match="dim 1 is out of range"):
        x.sort(1)
