"""tg.jit's guard rules: every Python value that reaches a kernel is compared between the two
traces, every Python decision read from a traced tensor is refused by name, and what a step
mutates outside its kernels (a schedule, an optimizer's state) is replayed or watched. Each
case runs a jitted step beside the same step in eager mode and asks for the same bits, or
for a JitError that names the op or object and says what to write instead."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_reg as tg
from tinygrad_reg import nn
from tinygrad_reg import regularization as R
from tinygrad_reg.jit import JitError


def bits(t):
    return np.ascontiguousarray(t.numpy() if isinstance(t, tg.Tensor) else t).tobytes()


def assert_same_params(m1, m2):
    for (name, p), q in zip(m1.named_parameters(), m2.parameters()):
        assert bits(p) == bits(q), name


def twins(make):
    """Two copies of a step (the same seeds): one run eagerly, one jitted."""
    first, second = make(), make()
    return first, second, tg.jit(second[-1])


# -- a: a constraint whose branch is data-dependent --------------------------------------

def test_max_norm_inside_the_step_is_applied_on_every_replay():
    # the rows start inside the ball (no projection on the two traced calls) and grow out of
    # it later: every replay must project them as eager mode does
    def make():
        tg.manual_seed(0)
        lin = nn.Linear(4, 3, dtype=np.float64, generator=np.random.default_rng(0))
        with tg.no_grad():
            lin.weight.mul_(0.1)
        opt = tg.optim.SGD(lin.parameters(), lr=0.2)

        def step(x):
            opt.zero_grad()
            loss = ((lin(x) - 10.0) ** 2).mean()
            loss.backward()
            opt.step()
            R.max_norm_(lin, 1.0)
            return loss
        return lin, step

    (l1, s1), (l2, _), step = twins(make)
    x = tg.tensor(np.linspace(-1, 1, 20).reshape(5, 4))
    norms = []
    for _ in range(12):
        assert bits(s1(x)) == bits(step(x))
        assert_same_params(l1, l2)
        norms.append(np.linalg.norm(l1.weight.numpy(), axis=1).max())
    assert max(norms[:2]) < 1.0 and norms[-1] == pytest.approx(1.0)  # (the case at stake)
    assert step.replays == 10


# -- b: a learning-rate schedule stepped inside the step ---------------------------------

@pytest.mark.parametrize("schedule", ["step", "cosine", "lambda"])
def test_a_schedule_stepped_inside_the_step_advances_on_every_replay(schedule):
    def make():
        tg.manual_seed(0)
        lin = nn.Linear(3, 2)
        opt = tg.optim.SGD(lin.parameters(), lr=0.1, momentum=0.5)
        sched = {"step": lambda: tg.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.7),
                 "cosine": lambda: tg.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=5),
                 "lambda": lambda: tg.optim.lr_scheduler.LambdaLR(opt, lambda e: 1 / (e + 1))
                 }[schedule]()

        def step(x):
            opt.zero_grad()
            loss = (lin(x) ** 2).sum()
            loss.backward()
            opt.step()
            sched.step()
            return loss
        return lin, opt, sched, step

    (l1, o1, sc1, s1), (l2, o2, sc2, _), step = twins(make)
    x = tg.ones(4, 3)
    for _ in range(8):
        assert bits(s1(x)) == bits(step(x))
        assert o1.param_groups[0]["lr"] == o2.param_groups[0]["lr"]
    assert_same_params(l1, l2)
    assert sc1.last_epoch == sc2.last_epoch == 8
    assert step.replays == 6


# -- c: BatchNorm's cumulative average --------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batch_norm_with_a_cumulative_average_replays_its_running_statistics(dtype):
    def make():
        tg.manual_seed(0)
        model = nn.Sequential(nn.Linear(3, 4, dtype=dtype), nn.BatchNorm1d(4, momentum=None,
                                                                           dtype=dtype))
        opt = tg.optim.SGD(model.parameters(), lr=0.1)

        def step(x):
            opt.zero_grad()
            loss = (model(x) ** 2).mean()
            loss.backward()
            opt.step()
            return loss
        return model, step

    (m1, s1), (m2, _), step = twins(make)
    rng = np.random.default_rng(3)
    for _ in range(7):
        x = tg.tensor(rng.standard_normal((6, 3)).astype(dtype))
        assert bits(s1(x)) == bits(step(x))
    for k, v in m1.state_dict().items():
        assert v.tobytes() == m2.state_dict()[k].tobytes(), k
    assert int(m2[1].num_batches_tracked.numpy()) == 7 and step.replays == 5


def test_the_cumulative_average_keeps_its_eager_values():
    # running = (1 - 1/n)·running + (1/n)·batch: values from PyTorch 2.13 (which rounds the
    # batch statistics in another order: agreement to the last bit or two of float32)
    rng = np.random.default_rng(11)
    bn = nn.BatchNorm1d(3, momentum=None)
    for _ in range(6):
        bn(tg.tensor(rng.standard_normal((5, 3)).astype(np.float32) * 3 + 1))
    np.testing.assert_allclose(bn.running_mean.numpy(),
                               [1.1927435398101807, 0.6132073402404785, 1.2701798677444458],
                               rtol=3e-7)
    np.testing.assert_allclose(bn.running_var.numpy(),
                               [7.163337230682373, 6.954873561859131, 4.232649803161621],
                               rtol=3e-7)
    assert int(bn.num_batches_tracked.numpy()) == 6


# -- d: numbers bound into in-place kernels ---------------------------------------------

def test_a_python_number_that_changes_between_traces_is_refused_by_name():
    lin = nn.Linear(3, 2)
    coefs = iter([0.5, 0.25, 0.125, 0.0625])

    def step(x):
        lin.zero_grad()
        (lin(x) ** 2).sum().backward()
        coef = next(coefs)  # a number from Python state, new on every call
        for p in lin.parameters():
            p.grad.mul_(coef)
        return lin.weight.grad

    jitted = tg.jit(step)
    jitted(tg.ones(2, 3))
    with pytest.raises(JitError, match=r"mul_ .* 0\.5 in one call and 0\.25 in the next.*"
                                       r"Tensor"):
        jitted(tg.ones(2, 3))


def test_hand_written_clipping_with_tensor_ops_replays():
    def make():
        tg.manual_seed(0)
        lin = nn.Linear(3, 2)
        opt = tg.optim.SGD(lin.parameters(), lr=0.1)

        def step(x):
            opt.zero_grad()
            loss = (lin(x) ** 2).sum()
            loss.backward()
            with tg.no_grad():
                total = sum((p.grad ** 2).sum() for p in lin.parameters()).sqrt()
                coef = (1.0 / (total + 1e-6)).clamp(max=1.0)  # a Tensor: computed each call
                for p in lin.parameters():
                    p.grad.mul_(coef)
            opt.step()
            return loss
        return lin, step

    (l1, s1), (l2, _), step = twins(make)
    rng = np.random.default_rng(0)
    for k in range(6):
        x = tg.tensor(rng.standard_normal((4, 3)).astype(np.float32) * (0.01 if k < 2 else 3))
        assert bits(s1(x)) == bits(step(x))
        assert_same_params(l1, l2)
    assert step.replays == 4


def test_clipping_with_item_is_refused_by_name():
    lin = nn.Linear(3, 2)

    def step(x):
        lin.zero_grad()
        (lin(x) ** 2).sum().backward()
        total = sum((p.grad ** 2).sum() for p in lin.parameters()).sqrt().item()
        if total > 1.0:
            for p in lin.parameters():
                p.grad.mul_(1.0 / total)
        return lin.weight.grad

    with pytest.raises(JitError, match=r"Tensor\.item\(\) .*Sqrt.*outside the jitted function"):
        tg.jit(step)(tg.ones(2, 3))


@pytest.mark.parametrize("read, name", [
    (lambda t: bool(t.sum() > 0), r"bool\(\) of a tensor"),
    (lambda t: float(t.sum()), r"float\(\) of a tensor"),
    (lambda t: int(t.sum()), r"int\(\) of a tensor"),
    (lambda t: t.sum().item(), r"Tensor\.item\(\)"),
    (lambda t: t.tolist(), r"Tensor\.tolist\(\)"),
    (lambda t: range(t.long().sum()), r"a tensor used as an int"),
    (lambda t: (t > 0).any() and 1, r"bool\(\) of a tensor"),
])
def test_python_reads_of_a_traced_tensor_are_refused_by_name(read, name):
    def f(x):
        read(x)
        return x * 2.0

    with pytest.raises(JitError, match=name + r" .*tg\.where"):
        tg.jit(f)(tg.ones(3))
    assert read(tg.ones(3)) is not None  # eager mode reads as before


def test_python_reads_outside_a_trace_are_unchanged():
    t = tg.tensor([2.5])
    assert t.item() == 2.5 and float(t) == 2.5 and int(t) == 2 and bool(t)
    step = tg.jit(lambda x: x * 2.0)
    for _ in range(3):
        out = step(tg.ones(1))
    assert out.item() == 2.0  # a result, read after the call


# -- e: an optimizer's state replaced between calls -------------------------------------

@pytest.mark.parametrize("change", ["clear", "pop_one", "new_dict", "reassign"])
def test_an_optimizer_state_replaced_between_calls_is_seen(change):
    def make():
        tg.manual_seed(0)
        lin = nn.Linear(3, 2)
        opt = tg.optim.Adam(lin.parameters(), lr=0.05)

        def step(x):
            opt.zero_grad()
            loss = (lin(x) ** 2).sum()
            loss.backward()
            opt.step()
            return loss
        return lin, opt, step

    (l1, o1, s1), (l2, o2, _), step = twins(make)
    x = tg.ones(4, 3)
    for k in range(8):
        if k == 5:
            for o, lin in ((o1, l1), (o2, l2)):
                if change == "clear":
                    o.state.clear()
                elif change == "pop_one":
                    o.state.pop(lin.weight)
                elif change == "new_dict":
                    o.state[lin.bias] = {}
                else:
                    o.state = {}
        assert bits(s1(x)) == bits(step(x))
        assert_same_params(l1, l2)
    assert o2.state[l2.weight]["step"] == o1.state[l1.weight]["step"]


# -- f: number arguments are told apart by their bits -----------------------------------

@pytest.mark.filterwarnings("ignore:divide by zero")
def test_minus_zero_and_nan_arguments_get_their_own_plans():
    step = tg.jit(lambda x, s: x / s)
    x = tg.tensor([1.0, -2.0])
    for _ in range(3):
        assert bits(step(x, 0.0)) == bits(tg.tensor([np.inf, -np.inf]))
    for _ in range(3):
        assert bits(step(x, -0.0)) == bits(tg.tensor([-np.inf, np.inf]))
    assert step.traces == 4 and step.replays == 2
    for _ in range(3):
        step(x, float("nan"))  # one plan: a NaN argument equals itself
    assert step.traces == 6 and step.replays == 3


@pytest.mark.filterwarnings("ignore:divide by zero")
def test_constants_are_compared_by_their_bits():
    # a constant that flips the sign of a zero between the traces is not the same constant
    signs = iter([0.0, -0.0, -0.0])

    def f(x):
        return x / tg.tensor(next(signs))

    step = tg.jit(f)
    step(tg.ones(2))
    with pytest.raises(JitError, match="Div's input 1 .* changed between two calls"):
        step(tg.ones(2))

    # and so is a number bound into a kernel
    scales = iter([0.0, -0.0, -0.0])

    def g(x):
        return x.clone().mul_(next(scales))

    step = tg.jit(g)
    step(tg.ones(2))
    with pytest.raises(JitError, match=r"mul_ .* binds 0\.0 in one call and -0\.0 in the next"):
        step(tg.ones(2))


# -- 13: what the step does itself must replay ------------------------------------------

@pytest.mark.parametrize("opt_name", ["SGD", "Adam"])
def test_zero_grad_without_set_to_none_replays_bitwise(opt_name):
    def make():
        tg.manual_seed(0)
        model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
        opt = getattr(tg.optim, opt_name)(model.parameters(), lr=0.05)

        def step(x):
            opt.zero_grad(set_to_none=False)
            loss = (model(x) ** 2).mean()
            loss.backward()
            opt.step()
            return loss
        return model, step

    (m1, s1), (m2, _), step = twins(make)
    rng = np.random.default_rng(1)
    held = []
    for _ in range(7):
        x = tg.tensor(rng.standard_normal((5, 3)).astype(np.float32))
        assert bits(s1(x)) == bits(step(x))
        for p, q in zip(m1.parameters(), m2.parameters()):
            assert bits(p) == bits(q) and bits(p.grad) == bits(q.grad)
        held.append(m2[0].weight.grad)
    # (the first call has no .grad to zero: it is traced again once, then replayed)
    assert step.traces == 3 and step.replays == 4
    # as in eager mode, the next zero_grad zeroed the .grad a caller held
    assert not held[-2].numpy().any() and held[-1].numpy().any()


def test_tg_randn_and_rand_inside_the_step_replay_from_the_same_stream():
    def make():
        tg.manual_seed(0)
        lin = nn.Linear(3, 2)
        opt = tg.optim.SGD(lin.parameters(), lr=0.05)

        def step(x):
            opt.zero_grad()
            noisy = x + 0.1 * tg.randn(*x.shape) + tg.rand(x.shape[0], 1)
            loss = (lin(noisy) ** 2).mean()
            loss.backward()
            opt.step()
            return loss, tg.randint(0, 10, (3,), generator=gen)
        gen = np.random.default_rng(4)
        return lin, step

    (l1, s1), (l2, _), step = twins(make)
    tg.manual_seed(5)
    eager = [tuple(bits(t) for t in s1(tg.ones(4, 3))) for _ in range(6)]
    tg.manual_seed(5)
    jitted = [tuple(bits(t) for t in step(tg.ones(4, 3))) for _ in range(6)]
    assert eager == jitted and step.replays == 4
    assert_same_params(l1, l2)


def test_a_generator_made_anew_on_every_call_is_refused():
    def f(x):
        return x + tg.randn(2, generator=np.random.default_rng())

    step = tg.jit(f)
    step(tg.ones(2))
    with pytest.raises(JitError, match=r"randn .*binds a Generator"):
        step(tg.ones(2))


# -- the first call may differ from the rest; the second and third may not ---------------

def test_python_control_flow_is_still_refused_after_a_third_trace():
    state = {"calls": 0}

    def f(x):
        state["calls"] += 1
        return x.exp() if state["calls"] % 2 else x.sin()

    step = tg.jit(f)
    step(tg.ones(2))
    with pytest.raises(JitError, match="ran other kernels than the first"):
        step(tg.ones(2))  # no state carried from the first call: refused at once


# -- check= rewinds what the replay changed before it runs the eager step ----------------

def test_check_rewinds_schedules_and_gradients_between_the_replay_and_eager_run():
    def make():
        tg.manual_seed(0)
        model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4, momentum=None), nn.Tanh(),
                              nn.Linear(4, 1))
        opt = tg.optim.Adam(model.parameters(), lr=0.05)
        sched = tg.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.8)

        def step(x):
            opt.zero_grad(set_to_none=False)
            loss = (model(x) ** 2).mean()
            loss.backward()
            opt.step()
            sched.step()
            return loss
        return model, opt, step

    (m1, o1, s1), (m2, o2, s2) = make(), make()
    checked = tg.jit(s2, check=4)
    rng = np.random.default_rng(2)
    for _ in range(8):
        x = tg.tensor(rng.standard_normal((5, 3)).astype(np.float32))
        assert bits(s1(x)) == bits(checked(x))
        assert o1.param_groups[0]["lr"] == o2.param_groups[0]["lr"]
    for k, v in m1.state_dict().items():
        assert v.tobytes() == m2.state_dict()[k].tobytes(), k
    assert checked.traces == 3 and checked.replays == 5
