"""Minibatches: every example exactly once per epoch (property test), sizes, alignment of X
and y, reproducible shuffling, views without shuffling, bad arguments."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_reg as tg
from tinygrad_reg.data import batches


@given(n=st.integers(0, 60), batch_size=st.integers(1, 70), shuffle=st.booleans(),
       drop_last=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_an_epoch_visits_every_example_once(n, batch_size, shuffle, drop_last, seed):
    X = np.arange(n * 2).reshape(n, 2)  # row i is (2i, 2i+1): its index is recoverable
    y = np.arange(n) * 10
    seen = []
    sizes = []
    for Xb, yb in batches(X, y, batch_size, shuffle=shuffle, drop_last=drop_last,
                          generator=np.random.default_rng(seed)):
        assert isinstance(Xb, np.ndarray) and isinstance(yb, np.ndarray)
        idx = Xb[:, 0] // 2
        np.testing.assert_array_equal(yb, idx * 10)  # X and y stay aligned
        np.testing.assert_array_equal(Xb[:, 1], Xb[:, 0] + 1)
        seen.extend(idx.tolist())
        sizes.append(len(Xb))
    full, rest = divmod(n, batch_size)
    if drop_last:
        assert sizes == [batch_size] * full
        assert len(seen) == len(set(seen)) == full * batch_size
        assert set(seen) <= set(range(n))
    else:
        assert sizes == [batch_size] * full + ([rest] if rest else [])
        assert sorted(seen) == list(range(n))  # every example exactly once
    if not shuffle:
        assert seen == list(range(len(seen)))


def test_shuffle_is_reproducible_and_changes_between_epochs():
    X = np.arange(100).reshape(100, 1)
    y = np.arange(100)

    def order(gen):
        return np.concatenate([yb for _, yb in batches(X, y, 16, generator=gen)])

    a = order(np.random.default_rng(0))
    np.testing.assert_array_equal(a, order(np.random.default_rng(0)))
    gen = np.random.default_rng(0)
    first, second = order(gen), order(gen)
    assert not np.array_equal(first, second) and not np.array_equal(a, y)
    tg.manual_seed(3)
    c = order(None)
    tg.manual_seed(3)
    np.testing.assert_array_equal(c, order(None))  # the package generator


def test_no_shuffle_yields_views_in_order_and_shuffle_yields_copies():
    X = np.arange(20.0).reshape(10, 2)
    y = np.arange(10.0)
    out = list(batches(X, y, 4, shuffle=False))
    assert [len(b[0]) for b in out] == [4, 4, 2]
    assert all(np.shares_memory(Xb, X) and np.shares_memory(yb, y) for Xb, yb in out)
    out = list(batches(X, y, 4, generator=np.random.default_rng(0)))
    assert not any(np.shares_memory(Xb, X) for Xb, _ in out)


def test_accepts_tensors_and_multi_dim_examples():
    X = tg.Tensor(np.zeros((6, 2, 3)))
    y = tg.Tensor(np.ones((6, 1)))
    out = list(batches(X, y, 4, generator=np.random.default_rng(0)))
    assert [b[0].shape for b in out] == [(4, 2, 3), (2, 2, 3)]
    assert [b[1].shape for b in out] == [(4, 1), (2, 1)]


@pytest.mark.parametrize("args, pattern", [
    ((np.zeros((5, 2)), np.zeros(4), 2), r"X has 5 examples \(shape \(5, 2\)\) but y has 4"),
    ((np.zeros((5, 2)), np.zeros(5), 0), "batch_size must be a positive int, got 0"),
    ((np.zeros((5, 2)), np.zeros(5), -3), "batch_size must be a positive int, got -3"),
    ((np.zeros((5, 2)), np.zeros(5), 2.0), "batch_size must be a positive int, got 2.0"),
    ((np.zeros((5, 2)), np.zeros(5), True), "batch_size must be a positive int, got True"),
    ((np.float64(1.0), np.zeros(5), 2), "X must have at least one axis"),
])
def test_bad_arguments_fail_at_the_call(args, pattern):
    with pytest.raises(ValueError, match=pattern):
        batches(*args)  # no next(): checked eagerly
