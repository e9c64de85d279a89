"""tg.jit and positions taken from a tensor's values (x[idx], x[mask], masked_select, y[m] = v,
index_add's index...): those ops hold the positions as constants, so a replay would keep the
traced ones while the data moves on. Two traces that happen to agree (the same mask twice)
used to build such a replay, and later calls gave silently wrong numbers; now the trace
refuses when the index tensor is an argument or made by the function's kernels, and a
constant index made in the function still replays."""

from __future__ import annotations

import pytest

import tinygrad_reg as tg
from tinygrad_reg.jit import JitError

X = tg.tensor([1.0, 2.0, 3.0])


def _set(x, m):
    y = x.clone()
    y[m] = 0.0
    return y.sum()


CASES = {
    "x[idx]": (lambda x, i: x[i].sum(), [[0, 1], [0, 1], [2, 2]]),
    "x[mask]": (lambda x, m: x[m].sum(), [[True, True, False]] * 2 + [[False, True, True]]),
    "x[nonzero]": (lambda x, m: x[m.nonzero()[:, 0]].sum(),
                   [[True, True, False]] * 2 + [[False, True, True]]),
    "x[x > t]": (lambda x, t: x[x > t.sum()].sum(), [[1.0, 0, 0]] * 2 + [[3.0, 0, 0]]),
    "masked_select": (lambda x, m: x.masked_select(m).sum(),
                      [[True, True, False]] * 2 + [[False, True, True]]),
    "y[m] = v": (_set, [[True, False, False]] * 2 + [[False, False, True]]),
    "masked_scatter": (lambda x, m: x.masked_scatter(m, tg.tensor([1.0, 2.0])).sum(),
                       [[True, True, False]] * 2 + [[False, True, True]]),
    "index_add": (lambda x, i: x.index_add(0, i, tg.ones(2)).sum(), [[0, 1], [0, 1], [2, 2]]),
    "quantile's q": (lambda x, q: x.quantile(q).sum(), [[0.5], [0.5], [0.9]]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_positions_from_an_argument_or_a_kernel_are_refused_never_replayed_stale(name):
    fn, calls = CASES[name]
    step = tg.jit(fn)
    for values in calls:  # the third call's index differs from the first two's
        with pytest.raises(JitError, match=r"takes positions from the values of a tensor"):
            step(X, tg.tensor(values))
        assert fn(X, tg.tensor(values)).numpy() is not None  # (eager runs as before)


def test_the_message_says_what_to_write_instead():
    with pytest.raises(JitError, match=r"x\[t\] with a tensor t.*an argument.*index_select"
                                       r".*tg\.where"):
        tg.jit(lambda x, i: x[i].sum())(X, tg.tensor([0, 1]))


def test_a_constant_index_made_in_the_function_still_replays():
    def f(x, m):
        return x[tg.tensor([0, 2])].sum() * m.sum()

    step = tg.jit(f)
    for values in ([1.0, 0, 0], [1.0, 0, 0], [3.0, 0, 0], [0.5, 1, 0]):
        m = tg.tensor(values)
        assert step(X, m).item() == f(X, m).item()
    assert step.replays == 2


def test_index_ops_that_take_the_index_as_a_tensor_replay_correctly():
    def f(x, i, m):
        return x.index_select(0, i).sum() + x.gather(0, i).sum() + tg.where(m, x, 0.0).sum()

    step = tg.jit(f)
    for i, m in (([0, 1], [True, True, False]), ([0, 1], [True, True, False]),
                 ([2, 2], [False, True, True]), ([1, 0], [True, False, True])):
        args = (X, tg.tensor(i), tg.tensor(m))
        assert step(*args).item() == f(*args).item()


def test_a_constant_index_changed_in_place_between_calls_makes_the_step_trace_again():
    # a mask the function reads from outside (a closure, a module attribute) may be written
    # in place between calls (copy_, or through .numpy()): the replay holds only while its
    # values are the traced ones
    m = tg.tensor([True, True, False])
    step = tg.jit(lambda x: x[m].sum())
    assert [step(X).item() for _ in range(3)] == [3.0, 3.0, 3.0] and step.replays == 1
    m.copy_(tg.tensor([False, True, True]))
    assert [step(X).item() for _ in range(3)] == [5.0, 5.0, 5.0]  # (traced twice again)
    assert step.traces == 4 and step.replays == 2
    m.numpy()[0] = True
    assert step(X).item() == 6.0 == X[m].sum().item()


def test_onnx_export_of_an_index_from_an_input_says_what_to_write():
    # (ONNX export traces twice with other inputs and refuses an index that follows them;
    # with dynamic_batch=False it used to advise dynamic_batch=False again)
    import io
    import warnings

    pytest.importorskip("onnx")

    class M(tg.nn.Module):
        def forward(self, x, idx):
            return x[idx] * 2

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(tg.onnx.ExportError, match=r"GetItem has an attribute that depends "
                                                      r"on the input.*index_select"):
            tg.onnx.export(M().eval(), (X, tg.tensor([0, 1])), io.BytesIO(),
                           dynamic_batch=False)
