"""tg.jit's generated replay: each lowered op writes exactly what its forward returns (the same
bits, dtype, shape and memory order), buffers are shared only by arrays whose lives do not
overlap, and nothing a caller holds (results, .grad, views of them) is overwritten by the
next replay."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_reg as tg
from tinygrad_reg import nn, trace
from tinygrad_reg.jit import codegen
from tinygrad_reg.jit.plan import OpStep, _Stub
from tinygrad_reg.ops.activation import ReLU, ReLUBackward, Tanh, TanhBackward
from tinygrad_reg.ops.elementwise import Add, Div, Mul, Neg, Sub
from tinygrad_reg.ops.linalg import Linear, MatMul
from tinygrad_reg.ops.shape import SumTo, Transpose
from tinygrad_reg.regularization.noise import Dropout, Dropout2d

# values that exercise signs, zeros of both signs, NaN and infinities
SPECIAL = [0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 1e-30, np.inf, -np.inf, np.nan, 3.0, -7.0]


def arrays(shape, dtype, draw, order="C"):
    vals = draw(st.lists(st.sampled_from(SPECIAL) | st.floats(-5, 5, width=32),
                         min_size=int(np.prod(shape)), max_size=int(np.prod(shape))))
    a = np.array(vals, dtype=dtype).reshape(shape)
    return np.asfortranarray(a) if order == "F" else a


def lowered(cls, ins, attrs=None):
    """Run the lowering of ``cls`` on ``ins`` and the op's forward; return both results."""
    attrs = attrs or {}
    with np.errstate(all="ignore"):
        ref = cls.forward(_Stub((True,) * len(ins)), *ins, **attrs)
        ref = np.asarray(ref)
        step = OpStep("op", cls, tuple((True, i) for i in range(len(ins))), attrs, (), len(ins),
                      (), (), (True,) * len(ins))
        low = codegen.lower(step, list(ins), ref)
        assert low is not None, f"{cls.__name__} was not lowered"
        ns = dict(codegen.NUMPY)
        fmt = {f"i{k}": f"i{k}" for k in range(len(ins))}
        for k, a in enumerate(ins):
            ns[f"i{k}"] = a
        for k, c in enumerate(low.consts):
            ns[f"c{k}"] = c
            fmt[f"c{k}"] = f"c{k}"
        for k, (shape, dtype) in enumerate(low.temps):
            ns[f"t{k}"] = np.empty(shape, dtype)
            fmt[f"t{k}"] = f"t{k}"
        fmt["o"] = "o"
        if not low.assigns:
            shape, dtype, order = codegen.layout(ref)
            ns["o"] = np.full(shape, 12345, dtype, order=order)  # (garbage in the buffer)
        for k, (shape, dtype) in enumerate(low.temps):  # (garbage in the temporaries too)
            ns[f"t{k}"] = np.full(shape, 7, dtype)
        for line in low.lines:
            exec(line.format(**fmt), ns)  # noqa: S102
        return ref, ns["o"]


def assert_same_bits(ref, got):
    """tg.jit's "bitwise" (docs/performance.md): the same dtype, shape and memory order, NaN
    at the same places, every other element the same bits (0.0 and -0.0 differ). Which NaN
    comes out where two NaNs meet (its sign and payload) is not compared: IEEE 754 leaves
    it open, and numpy's loops choose differently when the output is one of the inputs."""
    assert got.dtype == ref.dtype and got.shape == ref.shape
    assert got.flags.c_contiguous == ref.flags.c_contiguous
    assert got.flags.f_contiguous == ref.flags.f_contiguous
    nan_ref, nan_got = np.isnan(ref), np.isnan(got)
    assert np.array_equal(nan_got, nan_ref), "NaN at other places"
    assert got[~nan_got].tobytes() == ref[~nan_ref].tobytes()


dtypes = st.sampled_from([np.float32, np.float64])
small = st.integers(1, 4)


@given(st.data(), dtypes, st.sampled_from([Add, Sub, Mul, Div]), small, small,
       st.sampled_from(["same", "row", "col", "scalar"]), st.sampled_from(["C", "F"]))
def test_binary_elementwise_lowerings_give_the_forwards_bits(data, dtype, cls, m, n, bcast,
                                                             order):
    a = arrays((m, n), dtype, data.draw, order)
    b_shape = {"same": (m, n), "row": (n,), "col": (m, 1), "scalar": ()}[bcast]
    b = arrays(b_shape, dtype, data.draw)
    if data.draw(st.booleans()):
        a, b = b, a
    assert_same_bits(*lowered(cls, [a, b]))


@given(st.data(), dtypes, st.sampled_from([Neg, Tanh, ReLU]), small, small,
       st.sampled_from(["C", "F"]))
def test_unary_lowerings_give_the_forwards_bits(data, dtype, cls, m, n, order):
    assert_same_bits(*lowered(cls, [arrays((m, n), dtype, data.draw, order)]))


@given(st.data(), dtypes, st.sampled_from([ReLUBackward, TanhBackward]), small, small)
def test_backward_op_lowerings_give_the_forwards_bits(data, dtype, cls, m, n):
    g = arrays((m, n), dtype, data.draw)
    x = arrays((m, n), dtype, data.draw)
    assert_same_bits(*lowered(cls, [g, x]))


@given(st.data(), dtypes, small, small, small, st.booleans(), st.booleans())
def test_linear_and_matmul_lowerings_give_the_forwards_bits(data, dtype, b, i, o, bias,
                                                            batched):
    x_shape = (2, b, i) if batched else (b, i)
    x = arrays(x_shape, dtype, data.draw)
    w = arrays((o, i), dtype, data.draw)
    ins = [x, w] + ([arrays((o,), dtype, data.draw)] if bias else [])
    assert_same_bits(*lowered(Linear, ins))
    assert_same_bits(*lowered(MatMul, [x, np.asfortranarray(w.T)]))


@given(st.data(), dtypes, small, small, st.sampled_from([0.2, 0.5, 0.9]), st.booleans())
def test_dropout_lowering_gives_the_forwards_bits(data, dtype, m, n, p, per_channel):
    x = arrays((m, n, 3), dtype, data.draw)
    mask = np.asarray(data.draw(st.lists(st.booleans(), min_size=m * n * (1 if per_channel else 3),
                                         max_size=m * n * (1 if per_channel else 3))))
    mask = mask.reshape((m, n, 1) if per_channel else (m, n, 3))
    assert_same_bits(*lowered(Dropout2d if per_channel else Dropout, [x, mask], {"p": p}))


@given(st.data(), dtypes, small, small, st.integers(1, 2))
def test_sum_to_and_transpose_lowerings_give_the_forwards_bits(data, dtype, m, n, lead):
    x = arrays((3,) * lead + (m, n), dtype, data.draw)
    assert_same_bits(*lowered(SumTo, [x], {"shape": (m, n)}))
    ref, got = lowered(Transpose, [x], {"axes": None})
    assert_same_bits(ref, got)
    assert np.shares_memory(got, x)  # a view, as the forward's


@given(st.data(), dtypes, small, st.sampled_from(["mean", "sum"]), st.sampled_from([1, 7]))
def test_loss_and_penalty_lowerings_give_the_forwards_bits(data, dtype, m, reduction, n):
    from tinygrad_reg.nn.losses import (
        BinaryCrossEntropyWithLogits,
        BinaryCrossEntropyWithLogitsBackward,
    )
    from tinygrad_reg.regularization.penalties import L2Penalty

    z = arrays((m, 1), dtype, data.draw)
    y = np.array(data.draw(st.lists(st.sampled_from([0.0, 1.0, 0.3]), min_size=m,
                                    max_size=m)), dtype=dtype).reshape(m, 1)
    g = arrays((), dtype, data.draw)
    assert_same_bits(*lowered(BinaryCrossEntropyWithLogits, [z, y], {"reduction": reduction}))
    assert_same_bits(*lowered(BinaryCrossEntropyWithLogitsBackward, [z, y, g], {"n": n}))
    ws = [arrays((m, 2), dtype, data.draw), arrays((3,), dtype, data.draw)]
    assert_same_bits(*lowered(L2Penalty, ws, {"lam": 0.37}))


def test_a_nan_made_from_two_nans_may_come_out_with_either_sign():
    # found by a random run: z = NaN makes max(z, 0) - z·y a NaN and log1p(exp(-|z|)) a
    # NaN of the other sign; the forward adds them into a fresh array and numpy keeps the
    # first one's sign, the lowering adds them into a buffer holding the first, where numpy
    # keeps the second's. Both are NaN where they should be: bitwise in tg.jit's sense
    from tinygrad_reg.nn.losses import BinaryCrossEntropyWithLogits

    for reduction in ("mean", "sum"):
        ref, got = lowered(BinaryCrossEntropyWithLogits, [np.array([[np.nan]]),
                                                          np.array([[0.0]])],
                           {"reduction": reduction})
        assert np.isnan(ref) and np.isnan(got)
        assert_same_bits(ref, got)


@pytest.mark.parametrize("ref, got", [
    (np.array([0.0, 1.0]), np.array([-0.0, 1.0])),  # the sign of a zero
    (np.array([np.nan, 1.0]), np.array([1.0, np.nan])),  # NaN elsewhere
    (np.array([np.nan, 1.0]), np.array([np.inf, 1.0])),
    (np.array([1.0, 2.0]), np.array([1.0, np.nextafter(2.0, 3.0)])),  # one ulp
    (np.array([1.0, 2.0], np.float32), np.array([1.0, 2.0])),  # the dtype
    (np.ones((2, 2)), np.asfortranarray(np.ones((2, 2)))),  # the memory order
])
def test_bitwise_sees_every_other_difference(ref, got):
    from tinygrad_reg.jit import same_bits

    with pytest.raises(AssertionError):
        assert_same_bits(ref, got)
    if ref.flags.c_contiguous == got.flags.c_contiguous:  # (check= compares values only)
        assert not same_bits(ref, got)
    assert same_bits(np.array([np.nan, -0.0]), -np.array([np.nan, 0.0]))


@pytest.mark.parametrize("later", [dict(momentum=0.9), dict(weight_decay=0.01),
                                   dict(maximize=True), dict(lr=0.05)])
def test_a_jitted_sgd_step_follows_hyperparameters_set_after_the_trace(later):
    # plain SGD is written inline in the replay; momentum and weight decay set later take
    # the optimizer's own update, with its state, as eager mode does
    def make():
        tg.manual_seed(0)
        lin = nn.Linear(4, 2)
        opt = tg.optim.SGD(lin.parameters(), lr=0.1)

        def step(x):
            opt.zero_grad()
            loss = (lin(x) ** 2).mean()
            loss.backward()
            opt.step()
            return loss
        return lin, opt, step

    (l1, o1, s1), (l2, o2, s2) = make(), make()
    jitted = tg.jit(s2)
    x = tg.tensor(np.linspace(-1, 1, 12).reshape(3, 4).astype(np.float32))
    for k in range(8):
        if k == 4:
            for o in (o1, o2):
                o.param_groups[0].update(later)
        assert jitted(x).numpy().tobytes() == s1(x).numpy().tobytes()
        for p, q in zip(l1.parameters(), l2.parameters()):
            assert p.numpy().tobytes() == q.numpy().tobytes()
    assert jitted.replays == 6
    assert "prep(" in jitted.code


def test_lowerings_refuse_what_they_do_not_reproduce():
    def low(cls, ins, attrs=None):
        ref = np.asarray(cls.forward(_Stub((True,) * len(ins)), *ins, **(attrs or {})))
        step = OpStep("op", cls, (), attrs or {}, (), 0, (), (), ())
        return codegen.lower(step, ins, ref)

    f32, f64 = np.ones((2, 3), np.float32), np.ones((2, 3))
    assert low(Linear, [f32, f32, np.ones(2)]) is None  # a bias that promotes the dtype
    assert low(MatMul, [np.ones(3), np.ones(3)]) is None  # vector @ vector: a scalar
    assert low(Dropout, [f64, f64 > 0], {"p": 1.0}) is None  # everything dropped
    assert low(SumTo, [np.ones((2, 3), np.int64)], {"shape": (3,)}) is None  # int sums widen
    assert low(TanhBackward, [np.ones(3), np.ones((2, 3))]) is None  # broadcast
    assert low(Add, [f64, f64]) is not None


# -- plans: buffers and what leaves a replay --------------------------------------------

def test_results_and_grads_a_caller_holds_survive_the_next_replay():
    w = tg.tensor(np.linspace(-1, 1, 12).reshape(4, 3), requires_grad=True)

    def f(x):
        w.grad = None
        h = (x @ w).relu()
        loss = (h * h).sum()
        loss.backward()
        return loss, h, h.T, (h + 1.0).reshape(-1)

    def eager(x):
        w.grad = None
        return tuple(t.numpy().copy() for t in f(x)) + (w.grad.numpy().copy(),)

    step = tg.jit(f)
    xs = [tg.tensor(np.full((2, 4), v)) for v in (0.5, -0.25, 1.5, 2.0, -1.0)]
    held = []
    for x in xs:
        out = step(x)
        held.append((out, w.grad))
    assert step.replays == 3
    for (out, grad), x in zip(held, xs):
        want = eager(x)
        for t, v in zip(out + (grad,), want):
            assert np.array_equal(t.numpy(), v)


def test_buffers_are_shared_only_by_arrays_whose_lives_do_not_overlap():
    # a long chain: many intermediates of one shape, few buffers, same bits as eager
    def make():
        tg.manual_seed(0)
        model = nn.Sequential(*[m for _ in range(6) for m in (nn.Linear(8, 8), nn.Tanh())])
        opt = tg.optim.SGD(model.parameters(), lr=0.1)

        def step(x):
            opt.zero_grad()
            loss = (model(x) * model(x)).mean()
            loss.backward()
            opt.step()
            return loss
        return model, step

    (m1, s1), (m2, s2) = make(), make()
    jitted = tg.jit(s2)
    rng = np.random.default_rng(0)
    for _ in range(6):
        x = tg.tensor(rng.standard_normal((5, 8)), dtype=tg.float32)
        assert s1(x).numpy().tobytes() == jitted(x).numpy().tobytes()
    for p, q in zip(m1.parameters(), m2.parameters()):
        assert p.numpy().tobytes() == q.numpy().tobytes()
    plan = next(iter(jitted._cache.values()))[0].plan
    n_lowered = plan.source.count("out=b")
    assert len(plan.layouts) < n_lowered / 3  # buffers are reused


def test_code_shows_the_replay():
    step = tg.jit(lambda x: (x * 2.0 + 1.0).relu())
    with pytest.raises(RuntimeError, match="traced"):
        step.code  # noqa: B018
    for _ in range(3):
        step(tg.ones(3))
    code = step.code
    assert code.startswith("def replay(A, B):")
    assert "multiply(" in code and "maximum(" in code and "# ReLU" in code


def test_a_view_keeps_its_buffer_alive():
    # h's last direct reader makes a view of it (a reshape, which stays where the trace ran
    # it); the view is read after two more products of h's shape, which must not be written
    # into h's buffer
    def f(x):
        h = x * 2.0
        v = h.reshape(9)
        a = x + 1.0
        b = a * 3.0
        return v * b.reshape(9)

    step = tg.jit(f)
    for k in range(4):
        x = tg.tensor(np.arange(9.0).reshape(3, 3) + k)
        assert np.array_equal(step(x).numpy(), f(x).numpy())
    assert step.replays == 2


def test_what_a_recorded_function_reads_is_never_a_buffer():
    # a kernel other than the engine's may keep what it reads (here: a log of the arrays);
    # each replay must hand it a new array, not a buffer the next replay overwrites
    from tinygrad_reg.autograd import modes

    log = []

    def keep(arr):
        log.append(arr)

    def f(x):
        h = x * 2.0
        if modes.mode() & modes.TRACE:
            trace.record(keep, (h._data,), None, "log")
        keep(h._data)
        return h + 1.0

    step = tg.jit(f)
    for k in range(4):
        step(tg.tensor([float(k), 1.0]))
    kept = [a.tolist() for a in log[-2:]]  # the two replays
    assert kept == [[4.0, 2.0], [6.0, 2.0]]


def test_kernels_never_move_past_a_write_to_what_they_read():
    # h = x * 2 is first read after x was changed in place: the replay must compute h from
    # the old x, as eager mode does, although kernels are moved next to their first reader
    def f(x, c):
        h = x * 2.0
        x.add_(c)
        g = (x * 3.0).tanh()
        return g * h

    def eager(x, c):
        x = x.clone()
        return f(x, c), x

    step = tg.jit(f)
    for v in (0.5, -1.0, 2.0, 0.25):
        x = tg.tensor(np.linspace(-1, 1, 6) * v)
        want, x_after = eager(x, tg.tensor(1.5))
        got = step(x, tg.tensor(1.5))
        assert np.array_equal(got.numpy(), want.numpy())
        assert np.array_equal(x.numpy(), x_after.numpy())
    assert step.replays == 2


def test_kernels_are_placed_next_to_their_first_reader():
    # the L2 term's gradient (lam·W) is computed where the engine first needs it, not where
    # the trace ran it (at the start of backward), so it does not hold a buffer meanwhile
    lin = nn.Linear(6, 4)
    opt = tg.optim.SGD(lin.parameters(), lr=0.1)

    def step(x):
        opt.zero_grad()
        from tinygrad_reg import regularization as R
        loss = lin(x).relu().sum() + R.l2_penalty(lin, 0.5)
        loss.backward()
        opt.step()
        return loss

    jitted = tg.jit(step)
    for _ in range(3):
        jitted(tg.ones(3, 6))
    lines = [ln.strip() for ln in jitted.code.splitlines() if not ln.strip().startswith("#")]
    weight = next(ln for ln in lines if ln.startswith("dot(s0, ")).split(", ")[1][:-2]  # cN
    lam_w = next(i for i, ln in enumerate(lines) if ln.startswith("multiply(")
                 and f", {weight}, out=" in ln)
    relu_backward = next(i for i, ln in enumerate(lines) if ln.startswith("greater("))
    assert lam_w > relu_backward  # the trace ran it before ReLU's backward
    assert lines[lam_w + 1].startswith("dot(")  # just before the product it is added to
