"""Optimizers: 20-step trajectories against the textbook rules written out in numpy (float64,
1e-12), weight decay against l2_penalty, AdamW against Adam + L2, bad hyper-parameters, state
dicts, and the in-place contract."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_reg as tg
from tinygrad_reg import nn, optim
from tinygrad_reg.regularization import l2_penalty

STEPS = 20
RNG = np.random.default_rng(42)
X = RNG.normal(size=(8, 3))
Y = RNG.normal(size=(8, 2))
W0 = RNG.normal(size=(3, 2))
B0 = RNG.normal(size=2)


def loss_fn(w, b):
    """Least squares with a cubic term, so the gradient changes along the path:
    L = Σ(Xw + b - Y)² / (2n) + Σw⁴ / 4."""
    r = X @ w + b - Y
    return (r * r).sum() / (2 * len(X)) + (w * w * w * w).sum() / 4


def grads_np(w, b):
    """∂L/∂w and ∂L/∂b of :func:`loss_fn`, by hand."""
    r = X @ w + b - Y
    return X.T @ r / len(X) + w ** 3, r.sum(axis=0) / len(X)


def params():
    return [tg.Tensor(W0.copy(), requires_grad=True), tg.Tensor(B0.copy(), requires_grad=True)]


def run(make_opt, steps=STEPS, extra=None):
    """The parameters after each step of ``make_opt(params)`` on loss_fn (+ extra(params))."""
    ps = params()
    opt = make_opt(ps)
    path = []
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_fn(*ps)
        if extra is not None:
            loss = loss + extra(ps)
        loss.backward()
        opt.step()
        path.append([p.numpy().copy() for p in ps])
    return path


# -- the textbook rules, written out -------------------------------------------------------

def sgd_textbook(lr, momentum=0.0, nesterov=False, wd=0.0):
    ps = [W0.copy(), B0.copy()]
    bufs = [None, None]
    path = []
    for _ in range(STEPS):
        gs = grads_np(*ps)
        new = []
        for i, (p, g) in enumerate(zip(ps, gs, strict=True)):
            g = g + wd * p
            if momentum:
                bufs[i] = g.copy() if bufs[i] is None else momentum * bufs[i] + g
                g = g + momentum * bufs[i] if nesterov else bufs[i]
            new.append(p - lr * g)
        ps = new
        path.append([p.copy() for p in ps])
    return path


def adam_textbook(lr, betas=(0.9, 0.999), eps=1e-8, wd=0.0, decoupled=False):
    b1, b2 = betas
    ps = [W0.copy(), B0.copy()]
    ms = [np.zeros_like(p) for p in ps]
    vs = [np.zeros_like(p) for p in ps]
    path = []
    for t in range(1, STEPS + 1):
        gs = grads_np(*ps)
        new = []
        for i, (p, g) in enumerate(zip(ps, gs, strict=True)):
            if decoupled:
                p = p * (1 - lr * wd)
            else:
                g = g + wd * p
            ms[i] = b1 * ms[i] + (1 - b1) * g
            vs[i] = b2 * vs[i] + (1 - b2) * g * g
            m_hat = ms[i] / (1 - b1 ** t)
            v_hat = vs[i] / (1 - b2 ** t)
            new.append(p - lr * m_hat / (np.sqrt(v_hat) + eps))
        ps = new
        path.append([p.copy() for p in ps])
    return path


def assert_paths_equal(got, want, atol=1e-12):
    assert len(got) == len(want)
    for step, (g, w) in enumerate(zip(got, want, strict=True)):
        for i, (a, b) in enumerate(zip(g, w, strict=True)):
            np.testing.assert_allclose(a, b, rtol=0, atol=atol,
                                       err_msg=f"step {step + 1}, param {i}")


@pytest.mark.parametrize("kw", [
    dict(lr=0.1),
    dict(lr=0.05, momentum=0.9),
    dict(lr=0.05, momentum=0.5, nesterov=True),
    dict(lr=0.1, weight_decay=0.3),
    dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.1),
])
def test_sgd_follows_textbook(kw):
    got = run(lambda ps: optim.SGD(ps, **kw))
    want = sgd_textbook(kw["lr"], kw.get("momentum", 0.0), kw.get("nesterov", False),
                        kw.get("weight_decay", 0.0))
    assert_paths_equal(got, want)


@pytest.mark.parametrize("cls, kw", [
    (optim.Adam, dict(lr=0.05)),
    (optim.Adam, dict(lr=0.05, betas=(0.5, 0.9), eps=1e-3)),
    (optim.Adam, dict(lr=0.05, weight_decay=0.2)),
    (optim.AdamW, dict(lr=0.05)),  # AdamW's default weight_decay is 1e-2
    (optim.AdamW, dict(lr=0.05, betas=(0.8, 0.99), weight_decay=0.5)),
])
def test_adam_and_adamw_follow_textbook(cls, kw):
    got = run(lambda ps: cls(ps, **kw))
    wd = kw.get("weight_decay", 1e-2 if cls is optim.AdamW else 0.0)
    want = adam_textbook(kw["lr"], kw.get("betas", (0.9, 0.999)), kw.get("eps", 1e-8), wd,
                         decoupled=cls is optim.AdamW)
    assert_paths_equal(got, want)


def test_the_textbook_check_can_fail():
    # Adam without bias correction, or SGD's buffer starting at (1-μ)·g, must be caught
    got = run(lambda ps: optim.Adam(ps, lr=0.05))
    with pytest.raises(AssertionError):
        assert_paths_equal(got, adam_textbook(0.05, betas=(0.9, 0.99)))
    got = run(lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9), steps=1)
    assert not np.allclose(got[0][0], W0 - 0.05 * 0.1 * grads_np(W0, B0)[0])


# -- weight decay versus penalties -----------------------------------------------------------

def test_sgd_weight_decay_equals_l2_penalty_step_by_step():
    lam = 0.3
    decay = run(lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=lam))
    penalty = run(lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9),
                  extra=lambda ps: l2_penalty(ps, lam))
    assert_paths_equal(decay, penalty)


def test_adam_coupled_weight_decay_equals_l2_penalty():
    lam = 0.3
    decay = run(lambda ps: optim.Adam(ps, lr=0.05, weight_decay=lam))
    penalty = run(lambda ps: optim.Adam(ps, lr=0.05), extra=lambda ps: l2_penalty(ps, lam))
    assert_paths_equal(decay, penalty)


def test_adamw_differs_from_adam_plus_l2():
    lam = 0.3
    adamw = run(lambda ps: optim.AdamW(ps, lr=0.05, weight_decay=lam))
    adam_l2 = run(lambda ps: optim.Adam(ps, lr=0.05), extra=lambda ps: l2_penalty(ps, lam))
    diff = max(np.abs(a - b).max() for a, b in zip(adamw[-1], adam_l2[-1], strict=True))
    assert diff > 1e-3


# -- bad arguments ---------------------------------------------------------------------------

@pytest.mark.parametrize("make, pattern", [
    (lambda ps: optim.SGD(ps, lr=-1), "SGD: lr must be >= 0, got -1"),
    (lambda ps: optim.SGD(ps, lr=float("nan")), "SGD: lr must be finite"),
    (lambda ps: optim.SGD(ps, lr="big"), "SGD: lr must be a number"),
    (lambda ps: optim.SGD(ps, lr=0.1, momentum=-0.5), "momentum must be >= 0, got -0.5"),
    (lambda ps: optim.SGD(ps, lr=0.1, weight_decay=-1e-4), "weight_decay must be >= 0"),
    (lambda ps: optim.SGD(ps, lr=0.1, nesterov=True), "nesterov=True needs momentum > 0"),
    (lambda ps: optim.Adam(ps, lr=-1e-3), "Adam: lr must be >= 0"),
    (lambda ps: optim.Adam(ps, betas=(1.0, 0.9)), r"betas\[0\] must be in \[0, 1\), got 1.0"),
    (lambda ps: optim.Adam(ps, betas=(0.9, -0.1)), r"betas\[1\] must be in \[0, 1\)"),
    (lambda ps: optim.AdamW(ps, betas=(0.9, 1.0)), r"AdamW: betas\[1\] must be in \[0, 1\)"),
    (lambda ps: optim.Adam(ps, betas=0.9), "betas must be a pair"),
    (lambda ps: optim.Adam(ps, eps=-1e-8), "eps must be >= 0"),
    (lambda ps: optim.Adam(ps, weight_decay=-0.1), "weight_decay must be >= 0, got -0.1"),
    (lambda ps: optim.AdamW(ps, weight_decay=-0.1), "AdamW: weight_decay must be >= 0"),
    (lambda ps: optim.SGD([], lr=0.1), "empty parameter list"),
    (lambda ps: optim.Adam([ps[0], ps[1], ps[0]]),
     r"params\[2\] is the same tensor as params\[0\]"),
    (lambda ps: optim.SGD([ps[0] * 2], lr=0.1), "not a leaf tensor"),
])
def test_bad_hyper_parameters(make, pattern):
    with pytest.raises(ValueError, match=pattern):
        make(params())


def test_bad_param_types():
    with pytest.raises(TypeError, match="got a single Tensor"):
        optim.SGD(params()[0], lr=0.1)
    with pytest.raises(TypeError, match=r"params\[0\] is a tuple.*pass parameters\(\)"):
        optim.SGD(nn.Linear(2, 2).named_parameters(), lr=0.1)
    with pytest.raises(TypeError, match="only floating-point"):
        optim.SGD([tg.Tensor(np.arange(3))], lr=0.1)


# -- contract --------------------------------------------------------------------------------

def test_accepts_a_module_and_a_generator():
    lin = nn.Linear(3, 2)
    assert optim.SGD(lin, lr=0.1).params == list(lin.parameters())
    assert optim.Adam(lin.parameters()).params == list(lin.parameters())


@pytest.mark.parametrize("make", [
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1),
    lambda ps: optim.Adam(ps, weight_decay=0.1),
    lambda ps: optim.AdamW(ps),
])
def test_step_is_in_place_and_leaves_grad_alone(make):
    ps = params()
    opt = make(ps)
    arrays = [p.numpy() for p in ps]
    loss_fn(*ps).backward()
    grads = [p.grad.numpy().copy() for p in ps]
    opt.step()
    assert all(p.numpy() is a for p, a in zip(ps, arrays, strict=True))
    for p, g in zip(ps, grads, strict=True):
        np.testing.assert_array_equal(p.grad.numpy(), g)
    assert not np.array_equal(ps[0].numpy(), W0)


def test_params_without_grad_are_skipped_and_zero_grad_sets_none():
    ps = params()
    opt = optim.Adam(ps, lr=0.1)
    (ps[0] * ps[0]).sum().backward()
    assert ps[1].grad is None
    opt.step()
    np.testing.assert_array_equal(ps[1].numpy(), B0)
    assert not np.array_equal(ps[0].numpy(), W0)
    assert ps[1] not in opt.state and opt.state[ps[0]]["step"] == 1
    opt.zero_grad()
    assert ps[0].grad is None and ps[1].grad is None


@pytest.mark.parametrize("cls", [optim.SGD, optim.Adam, optim.AdamW])
def test_float32_parameters_stay_float32(cls):
    lin = nn.Linear(3, 2)
    opt = cls(lin, lr=0.01) if cls is optim.SGD else cls(lin)
    for _ in range(2):
        opt.zero_grad()
        lin(tg.Tensor(np.ones((4, 3), dtype=np.float32))).sum().backward()
        opt.step()
    assert all(p.dtype == np.float32 for p in lin.parameters())
    assert all(v.dtype == np.float32 for st in opt.state.values() for v in st.values()
               if isinstance(v, np.ndarray))


def test_learning_rate_is_a_plain_attribute():
    ps = params()
    opt = optim.SGD(ps, lr=0.1)
    opt.lr = 0.0  # a schedule may set it to anything, including 0
    loss_fn(*ps).backward()
    opt.step()
    np.testing.assert_array_equal(ps[0].numpy(), W0)


@pytest.mark.parametrize("make", [
    lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.1),
    lambda ps: optim.Adam(ps, lr=0.05, betas=(0.8, 0.95), weight_decay=0.1),
    lambda ps: optim.AdamW(ps, lr=0.05, weight_decay=0.2),
])
def test_state_dict_resumes_exactly(make, tmp_path):
    straight = run(make, steps=10)
    ps = params()
    opt = make(ps)
    for _ in range(5):
        opt.zero_grad()
        loss_fn(*ps).backward()
        opt.step()
    tg.save({"params": {str(i): p for i, p in enumerate(ps)}, "optim": opt}, tmp_path / "c")
    ckpt = tg.load(tmp_path / "c")
    ps2 = [tg.Tensor(ckpt["params"][str(i)], requires_grad=True) for i in range(2)]
    opt2 = type(opt)(ps2, lr=1.0)  # other hyper-parameters: the file restores them
    opt2.load_state_dict(ckpt["optim"])
    assert repr(opt2) == repr(opt)
    for _ in range(5):
        opt2.zero_grad()
        loss_fn(*ps2).backward()
        opt2.step()
    assert_paths_equal([[p.numpy() for p in ps2]], [straight[-1]], atol=0)


def test_load_state_dict_validates_before_changing_anything():
    ps = params()
    opt = optim.Adam(ps, lr=0.05)
    loss_fn(*ps).backward()
    opt.step()
    good = opt.state_dict()
    bad_shape = optim.Adam(params()).state_dict()
    bad_shape["state"] = {0: {"step": 1, "exp_avg": np.zeros((2, 2)),
                              "exp_avg_sq": np.zeros((3, 2))}}
    fresh_ps = params()
    fresh = optim.Adam(fresh_ps, lr=0.01)
    with pytest.raises(ValueError, match=r"state 0.exp_avg has shape \(2, 2\).*shape \(3, 2\)"):
        fresh.load_state_dict(bad_shape)
    group = good["param_groups"][0]
    with pytest.raises(ValueError, match="lr must be >= 0"):
        fresh.load_state_dict({"param_groups": [{**group, "lr": -1}], "state": good["state"]})
    with pytest.raises(KeyError, match="state for parameter 5, which no group lists"):
        fresh.load_state_dict({"param_groups": [group], "state": {5: {"step": 1}}})
    with pytest.raises(KeyError, match="unknown hyper-parameter 'momentum'"):
        fresh.load_state_dict({"param_groups": [{**group, "momentum": 0.9}], "state": {}})
    with pytest.raises(ValueError, match="has 1 parameters in the state but 2 here"):
        fresh.load_state_dict({"param_groups": [{**group, "params": [0]}], "state": {}})
    with pytest.raises(ValueError, match="the state has 2 parameter groups"):
        fresh.load_state_dict({"param_groups": [group, group], "state": {}})
    assert fresh.lr == 0.01 and fresh.state == {}
    fresh.load_state_dict(good)
    assert fresh.lr == 0.05 and fresh.state[fresh_ps[0]]["step"] == 1
    assert fresh.state[fresh_ps[0]]["exp_avg"] is not opt.state[ps[0]]["exp_avg"]  # copied


def test_state_dict_is_a_copy():
    ps = params()
    opt = optim.SGD(ps, lr=0.1, momentum=0.9)
    loss_fn(*ps).backward()
    opt.step()
    sd = opt.state_dict()
    sd["state"][0]["momentum_buffer"][...] = 0
    assert np.abs(opt.state[ps[0]]["momentum_buffer"]).sum() > 0
    # PyTorch's layout: state by parameter index, hyper-parameters per group
    assert sd["param_groups"] == [dict(lr=0.1, momentum=0.9, dampening=0.0, nesterov=False,
                                       weight_decay=0.0, maximize=False, params=[0, 1])]


def test_adam_bias_correction_first_step_is_lr_times_sign():
    # with bias correction, Adam's first step is lr·g/(|g| + eps), i.e. about lr·sign(g)
    p = tg.Tensor(np.array([3.0, -2.0, 0.5]), requires_grad=True)
    opt = optim.Adam([p], lr=0.1, eps=0.0)
    (p * tg.Tensor(np.array([1e-3, 5.0, -7.0]))).sum().backward()
    opt.step()
    np.testing.assert_allclose(p.numpy(), [3.0 - 0.1, -2.0 - 0.1, 0.5 + 0.1], rtol=0, atol=1e-15)
    assert math.isclose(opt.state[p]["exp_avg"][1], 0.5)


@pytest.mark.parametrize("make", [
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.1),
    lambda ps: optim.Adam(ps, lr=0.1, weight_decay=0.1),
])
def test_shared_scratch_buffers_across_sizes_and_dtypes(make):
    # one optimizer over params of several sizes and dtypes must equal one optimizer each
    rng = np.random.default_rng(0)
    arrays = [rng.normal(size=5).astype(np.float32), rng.normal(size=(3, 3)),
              rng.normal(size=2), rng.normal(size=(4, 2)).astype(np.float32)]

    def losses(ps):
        return sum(((p * p * p).sum() for p in ps), start=tg.Tensor(np.float32(0)))

    together = [tg.Tensor(a.copy(), requires_grad=True) for a in arrays]
    apart = [tg.Tensor(a.copy(), requires_grad=True) for a in arrays]
    opt = make(together)
    opts = [make([p]) for p in apart]
    for _ in range(5):
        for o in [opt, *opts]:
            o.zero_grad()
        losses(together).backward()
        losses(apart).backward()
        opt.step()
        for o in opts:
            o.step()
    for a, b in zip(together, apart, strict=True):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a.numpy(), b.numpy())
