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


# -- Dataset / TensorDataset / DataLoader (PyTorch's protocol) ---------------------------------

@given(n=st.integers(0, 40), batch_size=st.integers(1, 45), shuffle=st.booleans(),
       drop_last=st.booleans(), seed=st.integers(0, 2**32 - 1), fast=st.booleans())
def test_dataloader_epoch_visits_every_example_once(n, batch_size, shuffle, drop_last, seed,
                                                    fast):
    X = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    y = np.arange(n, dtype=np.int64)
    ds = tg.data.TensorDataset(X, y)
    # a custom collate forces the per-example path; both must give the same batches
    collate = None if fast else tg.data.default_collate
    loader = tg.data.DataLoader(ds, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last,
                                generator=np.random.default_rng(seed), collate_fn=collate)
    seen = []
    batches_ = list(loader)
    assert len(batches_) == len(loader)
    for xb, yb in batches_:
        assert isinstance(xb, tg.Tensor) and isinstance(yb, tg.Tensor)
        assert xb.dtype == np.float32 and yb.dtype == np.int64
        assert xb.shape[0] == yb.shape[0] <= batch_size
        np.testing.assert_array_equal(xb.numpy()[:, 0], yb.numpy() * 3)  # rows stay aligned
        seen.extend(yb.numpy().tolist())
    full = n // batch_size * batch_size if drop_last else n
    assert len(seen) == full and len(set(seen)) == full
    if drop_last:
        assert all(b[0].shape[0] == batch_size for b in batches_)
    if not shuffle:
        assert seen == list(range(full))


def test_dataloader_shuffle_is_reproducible_and_fresh_each_epoch():
    ds = tg.data.TensorDataset(np.arange(50))
    def epochs(seed):
        loader = tg.data.DataLoader(ds, batch_size=7, shuffle=True,
                                    generator=np.random.default_rng(seed))
        return [np.concatenate([b[0].numpy() for b in loader]) for _ in range(2)]
    a, b = epochs(3), epochs(3)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], a[1])
    assert sorted(a[0].tolist()) == list(range(50))


def test_dataloader_default_generator_follows_manual_seed():
    ds = tg.data.TensorDataset(np.arange(30))
    def order():
        tg.manual_seed(11)
        return np.concatenate([b[0].numpy() for b in tg.data.DataLoader(ds, 4, shuffle=True)])
    np.testing.assert_array_equal(order(), order())


def test_default_collate_follows_pytorch():
    c = tg.data.default_collate
    out = c([(np.ones(2), 1, 0.5, True), (np.zeros(2), 2, 1.5, False)])
    assert isinstance(out, tuple) and len(out) == 4
    np.testing.assert_array_equal(out[0].numpy(), [[1, 1], [0, 0]])
    assert out[1].dtype == np.int64 and out[1].tolist() == [1, 2]
    assert out[2].dtype == np.float32 and out[2].tolist() == [0.5, 1.5]
    assert out[3].dtype == np.bool_
    d = c([{"x": tg.tensor([1.0, 2.0]), "y": 3}, {"x": tg.tensor([3.0, 4.0]), "y": 4}])
    assert d["x"].shape == (2, 2) and d["y"].tolist() == [3, 4]
    lst = c([[1, 2.0], [3, 4.0]])
    assert isinstance(lst, list) and lst[0].tolist() == [1, 3]
    with pytest.raises(TypeError, match="default_collate: cannot batch .* str"):
        c(["a", "b"])


class Squares(tg.data.Dataset):
    def __len__(self):
        return 10

    def __getitem__(self, i):
        return np.array([i, i * i], dtype=np.float64), i % 2


def test_a_map_style_dataset_and_a_custom_collate():
    loader = tg.data.DataLoader(Squares(), batch_size=4)
    xb, yb = next(iter(loader))
    np.testing.assert_array_equal(xb.numpy(), [[0, 0], [1, 1], [2, 4], [3, 9]])
    assert yb.tolist() == [0, 1, 0, 1] and len(loader) == 3
    sizes = [len(b) for b in tg.data.DataLoader(Squares(), batch_size=4, collate_fn=list)]
    assert sizes == [4, 4, 2]


def test_tensor_dataset_indexing():
    ds = tg.data.TensorDataset(tg.arange(6).reshape(3, 2), np.array([7, 8, 9]))
    x, y = ds[1]
    assert x.tolist() == [2, 3] and y.item() == 8 and len(ds) == 3


@pytest.mark.parametrize("make, error, pattern", [
    (lambda: tg.data.TensorDataset(), ValueError, "at least one tensor"),
    (lambda: tg.data.TensorDataset(np.zeros(3), np.zeros(4)), ValueError,
     r"tensors\[0\] has 3 examples but tensors\[1\] has 4"),
    (lambda: tg.data.DataLoader(Squares(), batch_size=0), ValueError,
     "batch_size must be a positive int, got 0"),
    (lambda: tg.data.DataLoader(Squares(), batch_size=2.5), ValueError, "positive int"),
    (lambda: tg.data.DataLoader(Squares(), num_workers=2), ValueError, "num_workers > 0"),
    (lambda: tg.data.DataLoader(Squares(), sampler=[1]), TypeError, r"unexpected .*sampler"),
    (lambda: tg.data.DataLoader([1, 2], generator=3), TypeError, "numpy.random.Generator"),
    (lambda: tg.data.DataLoader(object()), TypeError, "__getitem__ and __len__"),
])
def test_bad_dataset_and_loader_arguments(make, error, pattern):
    with pytest.raises(error, match=pattern):
        make()


def test_the_old_batches_helper_still_works():
    X, y = np.arange(10).reshape(5, 2), np.arange(5)
    assert [len(b) for b, _ in batches(X, y, 2, shuffle=False)] == [2, 2, 1]
