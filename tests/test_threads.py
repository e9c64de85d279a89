"""Grad mode, anomaly mode and the module scope are per thread; threads training their own
models do not disturb each other. (Before, each was a process-wide global: no_grad in one
thread stopped recording in every other one.)"""

from __future__ import annotations

import threading

import numpy as np

import tinygrad_reg as tg
from tinygrad_reg import nn, optim
from tinygrad_reg.autograd import iter_graph
from tinygrad_reg.nn.functional import binary_cross_entropy_with_logits
from tinygrad_reg.regularization import l2_penalty


def run_threads(*targets) -> list:
    """Run each target in its own thread; return their results (re-raising any error)."""
    results: list = [None] * len(targets)
    errors: list = []

    def wrap(i, fn):
        try:
            results[i] = fn()
        except BaseException as err:  # noqa: BLE001 - re-raised in the main thread
            errors.append(err)

    threads = [threading.Thread(target=wrap, args=(i, fn)) for i, fn in enumerate(targets)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    if errors:
        raise errors[0]
    return results


def test_no_grad_in_one_thread_does_not_stop_recording_in_another():
    inside, done = threading.Event(), threading.Event()

    def quiet():
        with tg.no_grad():
            inside.set()
            done.wait(10)
            return tg.is_grad_enabled()

    def busy():
        inside.wait(10)
        x = tg.Tensor(np.ones(2), requires_grad=True)
        y = (x * 2.0).sum()
        done.set()
        return y.requires_grad, tg.is_grad_enabled()

    quiet_mode, (recorded, mode) = run_threads(quiet, busy)
    assert quiet_mode is False and recorded and mode


def test_overlapping_no_grad_blocks_leave_grad_mode_on_everywhere():
    # A enters, B enters, A leaves, B leaves: with a process-wide flag B restored "off"
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()

    def a():
        with tg.no_grad():
            a_in.set()
            b_in.wait(10)
        a_out.set()
        return tg.is_grad_enabled()

    def b():
        a_in.wait(10)
        with tg.no_grad():
            b_in.set()
            a_out.wait(10)
        return tg.is_grad_enabled()

    assert run_threads(a, b) == [True, True]
    assert tg.is_grad_enabled()
    assert run_threads(tg.is_grad_enabled) == [True]


def test_a_new_thread_starts_with_grad_on_and_anomaly_off():
    with tg.no_grad(), tg.detect_anomaly():
        modes = run_threads(lambda: (tg.is_grad_enabled(), tg.is_anomaly_enabled()))
        assert not tg.is_grad_enabled() and tg.is_anomaly_enabled()
    assert modes == [(True, False)]


def test_set_grad_enabled_and_set_anomaly_enabled_as_calls_are_per_thread():
    def off():
        tg.set_grad_enabled(False)
        tg.set_anomaly_enabled(True)
        return tg.is_grad_enabled(), tg.is_anomaly_enabled()

    assert run_threads(off) == [(False, True)]
    assert tg.is_grad_enabled() and not tg.is_anomaly_enabled()


def test_set_grad_enabled_takes_effect_when_called_and_undoes_as_a_block():
    tg.set_grad_enabled(False)
    try:
        assert not tg.is_grad_enabled()
        with tg.set_grad_enabled(True):
            assert tg.is_grad_enabled()
        assert not tg.is_grad_enabled()
    finally:
        tg.set_grad_enabled(True)

    @tg.set_grad_enabled(False)
    def quiet():
        return tg.is_grad_enabled()

    assert tg.is_grad_enabled()  # decorating did not switch it off
    assert quiet() is False and tg.is_grad_enabled()


def test_module_scopes_of_concurrent_threads_do_not_mix():
    started = threading.Barrier(2)

    class Slow(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(2, 2, dtype=np.float64)

        def forward(self, x):
            started.wait(10)  # both threads are inside their module now
            return self.lin(x)

    m1, m2 = Slow(), Slow()

    def call(m):
        out = m(tg.Tensor(np.ones((1, 2))))
        return [n.scope for n in iter_graph([out])]

    s1, s2 = run_threads(lambda: call(m1), lambda: call(m2))
    assert s1 == [(m1, m1.lin)] and s2 == [(m2, m2.lin)]


def _train(seed: int, steps: int = 25) -> list[np.ndarray]:
    """The tutorial's recipe on a small problem: dropout, L2, SGD with momentum."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((64, 10))
    y = (X[:, :3].sum(axis=1, keepdims=True) > 0).astype(np.float64)
    model = nn.Sequential(nn.Linear(10, 16, generator=rng, dtype=np.float64), nn.ReLU(),
                          nn.Dropout(keep_prob=0.8, generator=rng),
                          nn.Linear(16, 1, generator=rng, dtype=np.float64))
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for _ in range(steps):
        opt.zero_grad()
        loss = binary_cross_entropy_with_logits(model(tg.Tensor(X)), y)
        loss = loss + l2_penalty(model, lam=1e-3)
        loss.backward()
        opt.step()
        with tg.no_grad():  # a bit of evaluation in the loop, switching modes often
            model.eval()
            model(tg.Tensor(X))
            model.train()
    return [p.numpy().copy() for p in model.parameters()]


def test_threads_training_their_own_models_match_sequential_runs_bitwise():
    seeds = [0, 1, 2, 3]
    alone = [_train(s) for s in seeds]
    together = run_threads(*[lambda s=s: _train(s) for s in seeds])
    for a, b in zip(alone, together):
        for p, q in zip(a, b):
            np.testing.assert_array_equal(p, q)
