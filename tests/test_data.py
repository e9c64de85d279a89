"""Minibatches: every example exactly once per epoch (property test), sizes, alignment of X
and y, reproducible shuffling, views without shuffling, bad arguments."""

from __future__ import annotations

import collections
import os

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


def show(batch):
    """A batch as plain Python: ("T", dtype, values) for a Tensor, containers by type."""
    if isinstance(batch, tg.Tensor):
        return ("T", str(batch.dtype), batch.tolist())
    if isinstance(batch, dict):
        return {k: show(v) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)) and not isinstance(batch, (str, bytes)):
        return (type(batch).__name__, [show(x) for x in batch])
    return (type(batch).__name__, batch)


Pair = collections.namedtuple("Pair", "x name")

# default_collate(samples) -> the batch, as PyTorch 2.13's torch.utils.data.default_collate
# gives it (printed by the same show(), torch dtypes written as numpy's)
PYTORCH_COLLATE = [
    (["a.png", "b.png"], ("list", [("str", "a.png"), ("str", "b.png")])),
    ([b"a", b"b"], ("list", [("bytes", b"a"), ("bytes", b"b")])),
    ([(np.ones(2), 1, 0.5, True, "f1"), (np.zeros(2), 2, 1.5, False, "f2")],
     ("list", [("T", "float64", [[1.0, 1.0], [0.0, 0.0]]), ("T", "int64", [1, 2]),
               ("T", "float64", [0.5, 1.5]), ("T", "bool", [True, False]),
               ("tuple", [("str", "f1"), ("str", "f2")])])),
    ([[1, 2.0], [3, 4.0]], ("list", [("T", "int64", [1, 3]), ("T", "float64", [2.0, 4.0])])),
    ([{"x": 1.0, "name": "a"}, {"x": 2.0, "name": "b"}],
     {"x": ("T", "float64", [1.0, 2.0]), "name": ("list", [("str", "a"), ("str", "b")])}),
    ([np.float32(1), np.float32(2)], ("T", "float32", [1.0, 2.0])),
    ([np.int16(1), np.int16(2)], ("T", "int16", [1, 2])),
    ([np.array(1.5), np.array(2.5)], ("T", "float64", [1.5, 2.5])),
    ([Pair(1, "a"), Pair(2, "b")], ("Pair", [("T", "int64", [1, 2]),
                                             ("tuple", [("str", "a"), ("str", "b")])])),
    ([1, 2.5], ("T", "float32", [1.0, 2.5])), ([True, 2], ("T", "int64", [1, 2])),
    ([True, False], ("T", "bool", [True, False])), ([2.5, 1], ("T", "float64", [2.5, 1.0])),
    ([np.array([1, 2], np.uint16)] * 2, ("T", "uint16", [[1, 2], [1, 2]])),
    ([(1, "a"), (2, "b")], ("list", [("T", "int64", [1, 2]),
                                     ("tuple", [("str", "a"), ("str", "b")])])),
]


@pytest.mark.parametrize("samples, want", PYTORCH_COLLATE)
def test_default_collate_equals_pytorchs(samples, want):
    # a string field (file names) raised TypeError; floats gave float32; tuples stayed tuples
    assert show(tg.data.default_collate(samples)) == want


@pytest.mark.parametrize("samples, error, words", [
    ([None, None], TypeError, "found NoneType; pass collate_fn="),
    ([np.array(["a", "b"]), np.array(["c", "d"])], TypeError, "an array of dtype <U1"),
    ([1 + 2j, 3j], TypeError, "found complex"),
    ([object(), object()], TypeError, "found object"),
    ([1, "a"], TypeError, "str among numbers"),
    ([2**63, 1], OverflowError, "does not fit in int64"),
    # zip would have dropped the third field, np.stack raised a bare numpy error
    ([[1, 2, 3], [3, 4]], RuntimeError, "example 0 has 3 fields but example 1 has 2"),
    ([np.ones(2), np.ones(3)], RuntimeError, r"got \(2,\) at entry 0 and \(3,\) at entry 1"),
    # (PyTorch drops "b" silently here)
    ([{"a": 1}, {"a": 2, "b": 3}], KeyError, r"example 1 has keys \['a', 'b'\]"),
])
def test_default_collate_refuses_what_it_cannot_batch(samples, error, words):
    with pytest.raises(error, match=words):
        tg.data.default_collate(samples)


def test_a_dataset_with_file_names_batches_like_pytorch():
    class Files(tg.data.Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return np.full(2, i, np.float32), i % 2, f"img_{i}.png"

    batches_ = list(tg.data.DataLoader(Files(), batch_size=2))
    assert [show(b) for b in batches_][2] == (
        "list", [("T", "float32", [[4.0, 4.0]]), ("T", "int64", [0]),
                 ("tuple", [("str", "img_4.png")])])
    assert [b[2] for b in batches_] == [("img_0.png", "img_1.png"), ("img_2.png", "img_3.png"),
                                        ("img_4.png",)]
    # a TensorDataset's batches are lists too, as PyTorch's ([tensor([0, 1])])
    assert show(next(iter(tg.data.DataLoader(tg.data.TensorDataset(np.arange(4)), 2)))) == \
        ("list", [("T", "int64", [0, 1])])


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
    # PyTorch's checks of the worker arguments
    (lambda: tg.data.DataLoader(Squares(), num_workers=-1), ValueError,
     "num_workers option should be a non-negative int, got -1"),
    (lambda: tg.data.DataLoader(Squares(), num_workers=1.5), ValueError, "non-negative int"),
    (lambda: tg.data.DataLoader(Squares(), prefetch_factor=2), ValueError,
     "prefetch_factor option could only be specified in multiprocessing"),
    (lambda: tg.data.DataLoader(Squares(), num_workers=1, prefetch_factor=0), ValueError,
     "prefetch_factor must be a positive int"),
    (lambda: tg.data.DataLoader(Squares(), persistent_workers=True), ValueError,
     "persistent_workers option needs num_workers > 0"),
    (lambda: tg.data.DataLoader(Squares(), timeout=-1), ValueError,
     "timeout option should be non-negative"),
    (lambda: tg.data.DataLoader(Squares(), multiprocessing_context="spawn"), ValueError,
     "multiprocessing_context can only be used with multi-process loading"),
    (lambda: tg.data.DataLoader(Squares(), num_workers=1, multiprocessing_context="nope"),
     ValueError, "should specify a valid start method in"),
    (lambda: tg.data.DataLoader(Squares(), num_workers=1, worker_init_fn=3), TypeError,
     "worker_init_fn must be callable"),
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


# -- worker processes -------------------------------------------------------------------------

class Where(tg.data.Dataset):
    """Example i: its values, its index, and the worker (id, pid) that made it."""

    def __init__(self, n=23):
        self.n = n
        self.offset = 0

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        info = tg.data.get_worker_info()
        return (np.array([i, i * i], np.float64) + self.offset, i,
                -1 if info is None else info.id, os.getpid())


def epochs(loader, n=2):
    return [list(loader) for _ in range(n)]


def values(batch):
    """What a batch holds, without the worker and pid fields."""
    return batch[0].numpy().tolist(), batch[1].tolist()


@pytest.mark.parametrize("shuffle, drop_last", [(False, False), (True, False), (True, True)])
def test_four_workers_give_the_batches_of_one_process(shuffle, drop_last):
    # num_workers=4 raised ValueError
    kw = dict(batch_size=4, shuffle=shuffle, drop_last=drop_last)
    one = epochs(tg.data.DataLoader(Where(), generator=np.random.default_rng(7), **kw))
    four = epochs(tg.data.DataLoader(Where(), generator=np.random.default_rng(7),
                                     num_workers=4, **kw))
    assert [[values(b) for b in e] for e in four] == [[values(b) for b in e] for e in one]
    assert len(four[0]) == (5 if drop_last else 6)
    if shuffle:  # a fresh order each epoch, the same with or without workers
        assert values(four[0][0]) != values(four[1][0])
    for epoch in four:
        # batch k comes from worker k % 4, each a process of its own
        assert [set(b[2].tolist()) for b in epoch] == [{k % 4} for k in range(len(epoch))]
        pids = {k % 4: set(b[3].tolist()) for k, b in enumerate(epoch)}
        assert all(len(p) == 1 for p in pids.values())
        assert len(set.union(*pids.values()) | {os.getpid()}) == 5
    assert {b[2].tolist()[0] for b in one[0]} == {-1}  # num_workers=0: no worker info
    assert tg.data.get_worker_info() is None


def test_persistent_workers_and_prefetch_factor():
    loader = tg.data.DataLoader(Where(), batch_size=3, shuffle=True, num_workers=2,
                                persistent_workers=True, prefetch_factor=4,
                                generator=np.random.default_rng(1))
    assert loader.prefetch_factor == 4 and len(loader) == 8
    single = tg.data.DataLoader(Where(), batch_size=3, shuffle=True,
                                generator=np.random.default_rng(1))

    def session(loader):
        runs = epochs(loader, 2)
        it = iter(loader)  # an epoch dropped halfway must not disturb the next one
        first = next(it)
        del it
        return runs + [[first]] + epochs(loader, 1)

    runs, one = session(loader), session(single)
    assert [[values(b) for b in e] for e in runs] == [[values(b) for b in e] for e in one]
    pids = [{k % 2: b[3].tolist()[0] for k, b in enumerate(e)} for e in runs]
    assert pids[0] == pids[1] == pids[3]  # the same two processes every epoch
    assert tg.data.DataLoader(Where(), num_workers=2).prefetch_factor == 2  # PyTorch's default


class Noisy(tg.data.Dataset):
    """Random augmentation from the package generator, plus what the worker knows."""

    def __len__(self):
        return 8

    def __getitem__(self, i):
        info = tg.data.get_worker_info()
        return (tg.rand(1).numpy()[0] + self.offset, info.id, info.seed, info.num_workers,
                np.random.randint(0, 2**31))


def configure(worker_id):
    # PyTorch's pattern: worker_init_fn configures the worker's own copy of the dataset
    tg.data.get_worker_info().dataset.offset = 100.0 * (worker_id + 1)


def test_worker_seeds_and_worker_init_fn():
    def run(seed):
        loader = tg.data.DataLoader(Noisy(), batch_size=2, num_workers=2,
                                    worker_init_fn=configure,
                                    generator=np.random.default_rng(seed))
        return epochs(loader)

    a, b, c = run(0), run(0), run(1)
    assert [[show(x) for x in e] for e in a] == [[show(x) for x in e] for e in b]  # reproducible
    assert show(a[0][0]) != show(c[0][0])
    for epoch in a:
        first, second = epoch[0], epoch[1]
        assert first[1].tolist() == [0, 0] and second[1].tolist() == [1, 1]
        assert (first[0].numpy() // 100).tolist() == [1, 1]  # worker 0's offset
        assert (second[0].numpy() // 100).tolist() == [2, 2]
        assert second[2].tolist()[0] == first[2].tolist()[0] + 1  # seed = base seed + id
        assert first[3].tolist() == [2, 2]
        noise = [x[0].numpy() % 100 for x in epoch]
        assert not np.array_equal(noise[0], noise[1])  # the workers draw different numbers
    assert a[0][0][2].tolist() != a[1][0][2].tolist()  # a new base seed each epoch
    assert a[0][0][4].tolist() != a[0][1][4].tolist()  # numpy's global generator too


class Failing(tg.data.Dataset):
    def __len__(self):
        return 10

    def __getitem__(self, i):
        if i == 7:
            raise ValueError(f"cannot read example {i}")
        return i


class Dying(Failing):
    def __getitem__(self, i):
        if i == 5:
            os._exit(3)
        return i


def test_errors_in_workers_reach_the_main_process():
    loader = tg.data.DataLoader(Failing(), batch_size=2, num_workers=2)
    it = iter(loader)
    assert [next(it).tolist() for _ in range(3)] == [[0, 1], [2, 3], [4, 5]]
    with pytest.raises(ValueError, match=r"Caught ValueError in DataLoader worker process 1"
                                         r"[\s\S]*cannot read example 7"):
        next(it)
    with pytest.raises(RuntimeError, match=r"DataLoader worker \(pid \d+, exit code 3\) "
                                           r"exited unexpectedly"):
        list(tg.data.DataLoader(Dying(), batch_size=2, num_workers=2))

    def broken(worker_id):
        raise KeyError("no config")

    with pytest.raises(KeyError, match=r"worker process 0 \(in worker_init_fn\)") as caught:
        list(tg.data.DataLoader(Failing(), batch_size=2, num_workers=2, worker_init_fn=broken))
    assert str(caught.value).startswith("Caught KeyError")  # printed as text, not its repr


def test_workers_stop_when_the_loop_stops():
    loader = tg.data.DataLoader(Where(40), batch_size=2, num_workers=2)
    it = iter(loader)
    pids = {next(it)[3].tolist()[0], next(it)[3].tolist()[0]}
    assert len(pids) == 2
    del it  # a loop left with break
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_the_spawn_start_method():
    loader = tg.data.DataLoader(Where(7), batch_size=2, num_workers=2,
                                multiprocessing_context="spawn")
    got = list(loader)
    assert [values(b) for b in got] == [values(b) for b in tg.data.DataLoader(Where(7), 2)]
    with pytest.raises(RuntimeError, match="could not start with the 'spawn' start method .*"
                                           "module level"):
        list(tg.data.DataLoader(Where(7), batch_size=2, num_workers=1,
                                multiprocessing_context="spawn", worker_init_fn=lambda i: None))


class OutOfOrder(tg.data.Dataset):
    """Worker 0 cannot finish batch 0 before ``go`` is set: by worker 1 on its third batch
    (batch 5), when ``worker_sets``, else by whoever holds the dataset."""

    def __init__(self, ctx, worker_sets):
        self.go = ctx.Event()
        self.worker_sets = worker_sets

    def __len__(self):
        return 12

    def __getitem__(self, i):
        if i == 0:
            assert self.go.wait(timeout=60), "batch 0 waited for a minute"
        if i == 10 and self.worker_sets:
            self.go.set()
        return i


def test_batches_that_arrive_out_of_order_are_yielded_in_order():
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    loader = tg.data.DataLoader(OutOfOrder(ctx, True), batch_size=2, num_workers=2,
                                prefetch_factor=3, multiprocessing_context=ctx)
    # (batches 1 and 3 reach the main process before batch 0)
    assert [b.tolist() for b in loader] == [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9], [10, 11]]
    ds = OutOfOrder(ctx, False)
    unordered = tg.data.DataLoader(ds, batch_size=2, num_workers=2, in_order=False,
                                   multiprocessing_context=ctx)
    got = []
    for batch in unordered:  # as they come: worker 0 is stuck until the first batch is here
        got.append(batch.tolist())
        ds.go.set()
    assert got[0] in ([2, 3], [6, 7]) and sorted(got) == [[2 * k, 2 * k + 1] for k in range(6)]
