"""Dropout and the L1 / L2 / elastic-net penalties: gradients against finite differences,
exact conventions, statistics of the mask, bad arguments, and the tutorial's network."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_reg as tg
from tinygrad_reg import regularization as R
from tinygrad_reg.autograd import iter_graph
from tinygrad_reg.nn import functional as F
from tinygrad_reg.testing import gradcheck, gradgradcheck


def t64(a, grad=True):
    return tg.Tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)
finite = st.floats(-3, 3, allow_nan=False, allow_infinity=False)


@st.composite
def away_from_zero(draw, shape):
    """Values sign · uniform(0.05, 3): L1's kink at 0 stays out of finite differences."""
    mag = draw(hnp.arrays(np.float64, shape, elements=st.floats(0.05, 3)))
    sign = draw(hnp.arrays(np.bool_, shape))
    return np.where(sign, mag, -mag)


@st.composite
def weight_lists(draw, kink_free=False):
    n = draw(st.integers(1, 3))
    out = []
    for _ in range(n):
        shape = draw(shapes)
        arr = (draw(away_from_zero(shape)) if kink_free
               else draw(hnp.arrays(np.float64, shape, elements=finite)))
        out.append(arr)
    return out


# -- dropout: gradients ------------------------------------------------------------------

@settings(deadline=None)
@given(data=hnp.arrays(np.float64, shapes, elements=finite),
       p=st.sampled_from([0.0, 0.1, 0.5, 0.8, 1.0]), seed=st.integers(0, 2**16))
def test_dropout_gradcheck_with_fixed_mask(data, p, seed):
    x = t64(data)

    def fn(t):  # the same seed on every evaluation gives the same mask
        return F.dropout(t, p, generator=np.random.default_rng(seed))

    assert gradcheck(fn, [x])
    assert gradgradcheck(fn, [x])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("p", [0.1, 0.25, 0.5, 0.9])
def test_dropout_backward_is_mask_over_keep_exactly(dtype, p):
    rng = np.random.default_rng(7)
    x = tg.Tensor(rng.uniform(0.5, 2.0, (50, 40)).astype(dtype), requires_grad=True)
    out = F.dropout(x, p, generator=np.random.default_rng(3))
    mask = out.numpy() != 0  # x has no zeros, so the kept units are exactly the non-zeros
    keep = 1.0 - p
    assert 0 < mask.sum() < mask.size
    assert np.array_equal(out.numpy(), x.numpy() * mask / keep)
    g = rng.standard_normal(out.shape).astype(dtype)
    out.backward(tg.Tensor(g))
    assert x.grad.dtype == dtype and out.dtype == dtype
    assert np.array_equal(x.grad.numpy(), g * mask / keep)


def test_dropout_double_backward_reuses_the_mask():
    x = t64(np.random.default_rng(0).uniform(1, 2, (6, 5)))
    out = F.dropout(x, 0.4, generator=np.random.default_rng(5))
    mask = out.numpy() != 0
    v = t64(np.random.default_rng(1).standard_normal((6, 5)))
    (gx,) = tg.grad(out, [x], v, create_graph=True)
    assert np.array_equal(gx.numpy(), v.numpy() * mask / 0.6)
    (gv,) = tg.grad(gx.sum(), [v])  # d(gx)/dv is again mask/(1-p)
    assert np.array_equal(gv.numpy(), np.ones((6, 5)) * mask / 0.6)


def test_dropout_is_one_node_carrying_p_with_a_bool_mask():
    x = tg.Tensor(np.ones((4, 3), np.float32), requires_grad=True)
    out = F.dropout(x, keep_prob=0.8, generator=np.random.default_rng(0))
    nodes = iter_graph([out])
    assert [n.name for n in nodes] == ["Dropout"]
    assert out.grad_fn.attrs == {"p": 0.2}  # written short, and 1 - p is exactly keep_prob
    mask = out.grad_fn.inputs[1]
    assert mask.dtype == np.bool_ and mask.shape == (4, 3) and not mask.requires_grad
    assert np.array_equal(out.numpy(), np.float32(1) * mask.numpy() / 0.8)


def test_keep_prob_is_one_minus_p():
    x = t64(np.random.default_rng(0).uniform(1, 2, (30, 30)))
    a = F.dropout(x, keep_prob=0.7, generator=np.random.default_rng(9))
    b = F.dropout(x, p=0.3, generator=np.random.default_rng(9))
    assert np.array_equal(a.numpy(), b.numpy())
    assert F.dropout(x, generator=np.random.default_rng(9)).grad_fn.attrs["p"] == 0.5


# -- dropout: statistics -----------------------------------------------------------------

@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_keeps_one_minus_p_and_preserves_the_mean(p):
    n = 10**6
    x_np = np.random.default_rng(11).uniform(1.0, 2.0, n).astype(np.float32)
    out = F.dropout(tg.Tensor(x_np), p, generator=np.random.default_rng(12)).numpy()
    keep = 1.0 - p
    kept = np.count_nonzero(out) / n
    assert abs(kept - keep) <= 4 * np.sqrt(p * keep / n)
    # E[out] = mean(x); Var[out_i] = x_i² p / (1 - p)
    x64 = x_np.astype(np.float64)
    sd = np.sqrt(np.mean(x64**2) * p / keep / n)
    assert abs(out.astype(np.float64).mean() - x64.mean()) <= 4 * sd
    assert out.dtype == np.float32


def test_same_seed_same_mask_and_fresh_mask_per_call():
    x = tg.Tensor(np.ones((20, 20), np.float32))
    tg.manual_seed(123)
    a = F.dropout(x, 0.5).numpy()
    b = F.dropout(x, 0.5).numpy()
    tg.manual_seed(123)
    assert np.array_equal(F.dropout(x, 0.5).numpy(), a)
    assert not np.array_equal(a, b)  # a fresh mask each forward pass
    rng = np.random.default_rng(4)
    c = F.dropout(x, 0.5, generator=rng).numpy()
    assert np.array_equal(F.dropout(x, 0.5, generator=np.random.default_rng(4)).numpy(), c)
    assert R.dropout is F.dropout


def test_dropout_drops_under_no_grad_in_training_mode():
    x = tg.Tensor(np.ones((30, 30)), requires_grad=True)
    with tg.no_grad():
        out = F.dropout(x, 0.5, generator=np.random.default_rng(0))
    assert out.grad_fn is None and 0 < np.count_nonzero(out.numpy()) < out.numel()


# -- dropout: edge cases and bad arguments -----------------------------------------------

@pytest.mark.parametrize("kwargs", [dict(p=0.0), dict(keep_prob=1.0), dict(p=0.0, training=True),
                                    dict(p=0.5, training=False), dict(training=False),
                                    dict(keep_prob=0.2, training=False)])
def test_identity_cases_return_the_input_and_draw_nothing(kwargs):
    x = tg.Tensor(np.ones((3, 4)), requires_grad=True)
    rng = np.random.default_rng(0)
    before = rng.bit_generator.state
    out = F.dropout(x, generator=rng, **kwargs)
    assert out is x
    assert rng.bit_generator.state == before


def test_p_one_gives_zeros_and_zero_gradients_without_nan():
    x = tg.Tensor(np.full((5, 5), 3.0, np.float32), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no division-by-zero warning either
        out = F.dropout(x, 1.0, generator=np.random.default_rng(0))
        (out * 2.0).sum().backward()
    assert out.grad_fn.name == "Dropout"
    assert np.array_equal(out.numpy(), np.zeros((5, 5))) and out.dtype == np.float32
    assert np.array_equal(x.grad.numpy(), np.zeros((5, 5))) and x.grad.dtype == np.float32
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.array_equal(F.dropout(x, keep_prob=0.0).numpy(), np.zeros((5, 5)))


@pytest.mark.parametrize("kwargs, shown", [
    (dict(p=-0.1), "-0.1"), (dict(p=1.5), "1.5"), (dict(p=float("nan")), "nan"),
    (dict(p="0.5"), "'0.5'"), (dict(p=True), "True"), (dict(p=[0.5]), r"\[0.5\]"),
    (dict(keep_prob=2.0), "2.0"), (dict(keep_prob=-1), "-1"),
    (dict(keep_prob=float("nan")), "nan"), (dict(p=0.2, keep_prob=0.8), "0.2"),
])
def test_bad_probabilities_raise_value_error_with_the_value(kwargs, shown):
    x = tg.Tensor(np.ones(3))
    with pytest.raises(ValueError, match=shown):
        F.dropout(x, **kwargs)
    with pytest.raises(ValueError, match=shown):  # checked in eval mode too: a bug is a bug
        F.dropout(x, training=False, **kwargs)


def test_bad_generator_and_dtype():
    with pytest.raises(TypeError, match="Generator"):
        F.dropout(tg.Tensor(np.ones(3)), 0.5, generator=np.random.RandomState(0))
    with pytest.raises(TypeError, match="int64"):
        F.dropout(tg.Tensor(np.arange(3)), 0.5)


# -- penalties: gradients ----------------------------------------------------------------

@settings(deadline=None)
@given(ws=weight_lists(), lam=st.floats(0, 3))
def test_l2_penalty_gradcheck(ws, lam):
    ts = [t64(w) for w in ws]
    assert gradcheck(lambda *a: R.l2_penalty(list(a), lam), ts)
    assert gradgradcheck(lambda *a: R.l2_penalty(list(a), lam), ts)


@settings(deadline=None)
@given(ws=weight_lists(kink_free=True), lam=st.floats(0, 3))
def test_l1_penalty_gradcheck(ws, lam):
    ts = [t64(w) for w in ws]
    assert gradcheck(lambda *a: R.l1_penalty(list(a), lam), ts)
    assert gradgradcheck(lambda *a: R.l1_penalty(list(a), lam), ts)


@settings(deadline=None)
@given(ws=weight_lists(kink_free=True), l1=st.floats(0, 3), l2=st.floats(0, 3))
def test_elastic_net_penalty_gradcheck(ws, l1, l2):
    ts = [t64(w) for w in ws]
    assert gradcheck(lambda *a: R.elastic_net_penalty(list(a), l1, l2), ts)
    assert gradgradcheck(lambda *a: R.elastic_net_penalty(list(a), l1, l2), ts)


# -- penalties: exact conventions --------------------------------------------------------

def _weights(dtype=np.float64):
    rng = np.random.default_rng(0)
    ws = [rng.standard_normal((4, 3)), rng.standard_normal((2, 4)), rng.standard_normal((5,))]
    ws[0][1, 2] = 0.0  # an exact zero: L1's gradient there is 0
    return [tg.Tensor(w.astype(dtype), requires_grad=True) for w in ws]


def test_l2_value_and_gradient_is_exactly_lam_w():
    ws, lam = _weights(), 0.37
    pen = R.l2_penalty(ws, lam)
    want = lam / 2 * sum(float(np.sum(w.numpy()**2)) for w in ws)
    assert pen.shape == () and pen.item() == pytest.approx(want, rel=1e-14)
    pen.backward()
    for w in ws:  # the term PyTorch's SGD adds for weight_decay=lam, bit for bit
        assert np.array_equal(w.grad.numpy(), lam * w.numpy())


def test_l1_value_and_gradient_is_lam_sign_with_zero_at_zero():
    ws, lam = _weights(), 0.5
    pen = R.l1_penalty(ws, lam)
    assert pen.item() == pytest.approx(lam * sum(np.abs(w.numpy()).sum() for w in ws), rel=1e-14)
    pen.backward()
    for w in ws:
        assert np.array_equal(w.grad.numpy(), lam * np.sign(w.numpy()))
    assert ws[0].grad.numpy()[1, 2] == 0.0


def test_elastic_net_is_the_sum_of_l1_and_l2():
    ws = _weights()
    l1, l2 = 0.3, 0.7
    pen = R.elastic_net_penalty(ws, l1, l2)
    assert pen.grad_fn.attrs == {"l1": l1, "l2": l2}
    parts = R.l1_penalty(ws, l1).item() + R.l2_penalty(ws, l2).item()
    assert pen.item() == pytest.approx(parts, rel=1e-14)
    pen.backward()
    for w in ws:
        np.testing.assert_allclose(w.grad.numpy(), l1 * np.sign(w.numpy()) + l2 * w.numpy(),
                                   rtol=1e-15, atol=0)


@pytest.mark.parametrize("make, name, attrs", [
    (lambda ws: R.l2_penalty(ws, 0.1), "L2Penalty", {"lam": 0.1}),
    (lambda ws: R.l1_penalty(ws, 0.2), "L1Penalty", {"lam": 0.2}),
    (lambda ws: R.elastic_net_penalty(ws, 0.1, 0.2), "ElasticNetPenalty", {"l1": 0.1, "l2": 0.2}),
])
def test_each_penalty_is_one_node_over_all_its_inputs(make, name, attrs):
    ws = _weights()
    pen = make(ws)
    nodes = iter_graph([pen])
    assert [n.name for n in nodes] == [name]
    assert nodes[0].attrs == attrs
    assert all(a is b for a, b in zip(nodes[0].inputs, ws, strict=True))


@pytest.mark.parametrize("make", [
    lambda ws: R.l2_penalty(ws, 0.1), lambda ws: R.l1_penalty(ws, 0.2),
    lambda ws: R.elastic_net_penalty(ws, 0.1, 0.2)])
def test_penalties_keep_float32(make):
    ws = _weights(np.float32)
    pen = make(ws)
    assert pen.dtype == np.float32
    pen.backward()
    assert all(w.grad.dtype == np.float32 for w in ws)


def test_penalty_of_a_single_tensor_and_of_a_generator():
    w = t64([[1.0, -2.0], [3.0, 0.5]])
    assert R.l2_penalty(w, 2.0).item() == pytest.approx(1 + 4 + 9 + 0.25)
    assert R.l1_penalty((t for t in [w]), 1.0).item() == pytest.approx(6.5)


def test_penalty_skips_parameters_that_do_not_require_grad():
    a, b = t64(np.ones((2, 2))), t64(np.ones((2, 2)), grad=False)
    pen = R.l2_penalty([a, b], 1.0)
    assert pen.item() == pytest.approx(4.0)
    pen.backward()
    assert np.array_equal(a.grad.numpy(), np.ones((2, 2))) and b.grad is None


class _DuckModule:
    """Anything with parameters(): the penalties take its weight matrices only."""

    def __init__(self, params):
        self._params = params

    def parameters(self):
        return iter(self._params)


def test_module_penalty_covers_weight_matrices_only_each_once():
    w1, b1, w2, b2 = t64(np.ones((3, 2))), t64(np.ones(3)), t64(np.ones((1, 3))), t64(np.ones(1))
    mod = _DuckModule([w1, b1, w2, b2, w1])  # w1 shared twice: counted once
    pen = R.l2_penalty(mod, 2.0)
    assert pen.item() == pytest.approx(9.0)
    assert len(pen.grad_fn.inputs) == 2
    pen.backward()
    assert b1.grad is None and b2.grad is None
    assert np.array_equal(w1.grad.numpy(), 2 * np.ones((3, 2)))


def test_real_module_penalty_covers_linear_weights_not_biases():
    from tinygrad_reg.nn import Linear, ReLU, Sequential

    tg.manual_seed(0)
    model = Sequential(Linear(4, 3), ReLU(), Linear(3, 1))
    weights = [p for p in model.parameters() if p.ndim >= 2]
    biases = [p for p in model.parameters() if p.ndim < 2]
    assert len(weights) == 2 and len(biases) == 2
    pen = R.l2_penalty(model, 0.5)
    want = 0.25 * sum(float(np.sum(w.numpy()**2)) for w in weights)
    assert pen.item() == pytest.approx(want, rel=1e-6)
    pen.backward()
    for w in weights:
        assert np.array_equal(w.grad.numpy(), np.asarray(0.5, w.dtype) * w.numpy())
    assert all(b.grad is None for b in biases)


@pytest.mark.parametrize("lam", [-0.1, float("nan"), float("inf"), -float("inf"), "0.1", True,
                                 None])
def test_bad_coefficients_raise_value_error(lam):
    w = t64(np.ones((2, 2)))
    for call in (lambda: R.l2_penalty(w, lam), lambda: R.l1_penalty(w, lam),
                 lambda: R.elastic_net_penalty(w, lam, 0.1),
                 lambda: R.elastic_net_penalty(w, 0.1, lam)):
        with pytest.raises(ValueError, match=repr(lam).replace("(", r"\(").replace(")", r"\)")):
            call()


def test_bad_params():
    with pytest.raises(ValueError, match="empty"):
        R.l2_penalty([], 0.1)
    with pytest.raises(ValueError, match="l2_penalty: the module _DuckModule has no weights"):
        R.l2_penalty(_DuckModule([t64(np.ones(3))]), 0.1)
    with pytest.raises(TypeError, match=r"params\[1\] is a ndarray"):
        R.l1_penalty([t64(np.ones(2)), np.ones(2)], 0.1)
    with pytest.raises(ValueError, match="l1_penalty: the named parameters hold no weights"):
        R.l1_penalty([("0.bias", t64(np.ones((2, 2)))), ("w", t64(np.ones(2)))], 0.1)
    with pytest.raises(TypeError, match="float"):
        R.l2_penalty(3.0, 0.1)
    with pytest.raises(TypeError, match="int64"):
        R.l2_penalty(tg.Tensor(np.arange(4)), 0.1)


def test_zero_lam_is_a_zero_penalty_with_zero_gradient():
    w = t64(np.ones((2, 2)))
    pen = R.l2_penalty(w, 0)
    pen.backward()
    assert pen.item() == 0.0 and np.array_equal(w.grad.numpy(), np.zeros((2, 2)))


# -- conventions across frameworks -------------------------------------------------------

def test_sgd_step_with_l2_penalty_equals_pytorch_weight_decay_step():
    rng = np.random.default_rng(2)
    w0, x = rng.standard_normal((3, 4)), rng.standard_normal((5, 4))
    lr, wd = 0.1, 0.01
    w = t64(w0)
    loss = ((tg.Tensor(x) @ w.T) ** 2).mean()
    (g_data,) = tg.grad(loss, [w], retain_graph=True)
    (loss + R.l2_penalty(w, wd)).backward()
    # PyTorch's SGD with weight_decay=wd: d_p = grad + wd·p; p -= lr·d_p
    assert np.array_equal(w0 - lr * w.grad.numpy(), w0 - lr * (g_data.numpy() + wd * w0))


def test_tutorial_and_keras_conventions():
    ws, lam, m = _weights(), 0.7, 200
    sq = sum(float(np.sum(w.numpy()**2)) for w in ws)
    # the tutorial's λ/(2m)·ΣW² is l2_penalty(lam=λ/m)
    assert R.l2_penalty(ws, lam / m).item() == pytest.approx(lam / (2 * m) * sq, rel=1e-14)
    # Keras's l2(x) = x·ΣW² (no ½) is l2_penalty(lam=2x)
    assert R.l2_penalty(ws, 2 * lam).item() == pytest.approx(lam * sq, rel=1e-14)


# -- the tutorial's network --------------------------------------------------------------

def _relu(z):
    return np.maximum(z, 0)


def test_seed_network_gradients_match_the_hand_derivation():
    """[200, 100, 20, 1], ReLU, ReLU, sigmoid; examples as columns (the tutorial's layout);
    cost = BCE + λ/(2m)·ΣW² = BCE + l2_penalty(weights, lam=λ/m);
    dW[l] = (1/m)·dZ[l]·A[l-1]ᵀ + (λ/m)·W[l]."""
    rng = np.random.default_rng(0)
    dims, m, lam = [200, 100, 20, 1], 200, 0.7
    x = rng.standard_normal((dims[0], m))
    y = (rng.random((1, m)) < 0.5).astype(np.float64)
    ws = [rng.standard_normal((dims[i + 1], dims[i])) * np.sqrt(2.0 / dims[i]) for i in range(3)]
    bs = [rng.standard_normal((dims[i + 1], 1)) * 0.1 for i in range(3)]

    W = [t64(w) for w in ws]
    B = [t64(b) for b in bs]
    a = tg.Tensor(x)
    for i in range(2):
        a = (W[i] @ a + B[i]).relu()
    z3 = W[2] @ a + B[2]
    cost = F.binary_cross_entropy_with_logits(z3, y) + R.l2_penalty(W, lam / m)
    cost.backward()

    # by hand, as in the tutorial
    z1 = ws[0] @ x + bs[0]
    a1 = _relu(z1)
    z2 = ws[1] @ a1 + bs[1]
    a2 = _relu(z2)
    z3_np = ws[2] @ a2 + bs[2]
    a3 = 1 / (1 + np.exp(-z3_np))
    bce = -np.mean(y * np.log(a3) + (1 - y) * np.log(1 - a3))
    want_cost = bce + lam / (2 * m) * sum(np.sum(w**2) for w in ws)
    assert cost.item() == pytest.approx(want_cost, rel=1e-12)
    dz3 = a3 - y
    dz2 = (ws[2].T @ dz3) * (z2 > 0)
    dz1 = (ws[1].T @ dz2) * (z1 > 0)
    want = [(1 / m) * dz @ a_prev.T + (lam / m) * w
            for dz, a_prev, w in zip([dz1, dz2, dz3], [x, a1, a2], ws, strict=True)]
    for got, w in zip(W, want, strict=True):
        np.testing.assert_allclose(got.grad.numpy(), w, rtol=1e-10, atol=1e-10 * np.abs(w).max())
    for got, dz in zip(B, [dz1, dz2, dz3], strict=True):  # biases: no penalty term
        np.testing.assert_allclose(got.grad.numpy(), dz.mean(axis=1, keepdims=True), rtol=1e-10,
                                   atol=1e-12)
    # a factor-2 slip in the penalty (λ/m vs λ/(2m)) would be far outside the tolerance
    for w, g in zip(ws, want, strict=True):
        assert np.abs(lam / (2 * m) * w).max() > 1e6 * 1e-10 * np.abs(g).max()


def test_seed_network_as_modules_gradients_match_the_hand_derivation():
    """The same check through nn: Linear (weight (out, in), rows are examples), Sequential,
    ReLU; cost = BCE + l2_penalty(model, lam=λ/m), which covers the weights, not the biases.
    With rows as examples: dW[l] = (1/m)·dZ[l]ᵀ·A[l-1] + (λ/m)·W[l]."""
    from tinygrad_reg.nn import Linear, ReLU, Sequential

    rng = np.random.default_rng(1)
    dims, m, lam = [200, 100, 20, 1], 200, 0.7
    model = Sequential(Linear(200, 100, generator=rng, dtype=np.float64), ReLU(),
                       Linear(100, 20, generator=rng, dtype=np.float64), ReLU(),
                       Linear(20, 1, generator=rng, dtype=np.float64))
    layers = [mod for mod in model.modules() if isinstance(mod, Linear)]
    assert len(layers) == 3
    for layer in layers:  # biases that matter (they start at zero)
        layer.bias.data = rng.standard_normal(layer.bias.shape) * 0.1
    x = rng.standard_normal((m, dims[0]))
    y = (rng.random((m, 1)) < 0.5).astype(np.float64)
    cost = F.binary_cross_entropy_with_logits(model(tg.Tensor(x)), y) + R.l2_penalty(model,
                                                                                     lam / m)
    cost.backward()

    ws = [layer.weight.numpy() for layer in layers]
    bs = [layer.bias.numpy() for layer in layers]
    z1 = x @ ws[0].T + bs[0]
    a1 = _relu(z1)
    z2 = a1 @ ws[1].T + bs[1]
    a2 = _relu(z2)
    a3 = 1 / (1 + np.exp(-(a2 @ ws[2].T + bs[2])))
    dz3 = a3 - y
    dz2 = (dz3 @ ws[2]) * (z2 > 0)
    dz1 = (dz2 @ ws[1]) * (z1 > 0)
    for layer, dz, a_prev, w in zip(layers, [dz1, dz2, dz3], [x, a1, a2], ws, strict=True):
        want = (1 / m) * dz.T @ a_prev + (lam / m) * w
        np.testing.assert_allclose(layer.weight.grad.numpy(), want, rtol=1e-10,
                                   atol=1e-10 * np.abs(want).max())
        np.testing.assert_allclose(layer.bias.grad.numpy().reshape(-1), dz.mean(axis=0),
                                   rtol=1e-10, atol=1e-12)


def _twin_trajectories(make_opt_decay, make_opt_plain, wd, steps=15):
    """Train two identical networks: one with the optimizer's weight decay, one with the
    plain optimizer on loss + l2_penalty(all parameters, wd). Yields both parameter lists."""
    from tinygrad_reg.nn import Linear, ReLU, Sequential

    def net():
        rng = np.random.default_rng(5)
        return Sequential(Linear(5, 4, generator=rng, dtype=np.float64), ReLU(),
                          Linear(4, 1, generator=rng, dtype=np.float64))

    a, b = net(), net()
    opt_a, opt_b = make_opt_decay(a.parameters(), wd), make_opt_plain(b.parameters())
    rng = np.random.default_rng(6)
    x, y = tg.Tensor(rng.standard_normal((8, 5))), rng.standard_normal((8, 1))
    for _ in range(steps):
        opt_a.zero_grad()
        F.mse_loss(a(x), y).backward()
        opt_a.step()
        opt_b.zero_grad()
        params = list(b.parameters())  # biases too: weight_decay decays every parameter
        (F.mse_loss(b(x), y) + R.l2_penalty(params, wd)).backward()
        opt_b.step()
        yield list(a.parameters()), list(b.parameters())


@pytest.mark.parametrize("name", ["SGD", "SGD-momentum", "Adam"])
def test_coupled_weight_decay_is_exactly_an_l2_penalty(name):
    from tinygrad_reg import optim

    make = {"SGD": lambda ps, wd=0.0: optim.SGD(ps, lr=0.1, weight_decay=wd),
            "SGD-momentum": lambda ps, wd=0.0: optim.SGD(ps, lr=0.1, momentum=0.9,
                                                           weight_decay=wd),
            "Adam": lambda ps, wd=0.0: optim.Adam(ps, lr=0.01, weight_decay=wd)}[name]
    for pa, pb in _twin_trajectories(make, make, wd=0.05):
        for u, v in zip(pa, pb, strict=True):  # bit for bit, at every step
            assert np.array_equal(u.numpy(), v.numpy())


def test_decoupled_adamw_is_not_an_l2_penalty():
    from tinygrad_reg import optim

    traj = list(_twin_trajectories(lambda ps, wd: optim.AdamW(ps, lr=0.01, weight_decay=wd),
                                   lambda ps: optim.Adam(ps, lr=0.01), wd=0.05))
    pa, pb = traj[-1]
    assert max(np.abs(u.numpy() - v.numpy()).max() for u, v in zip(pa, pb, strict=True)) > 1e-6


# -- the dropout mask: drawn from the generator's bits, the same as from floats -------------

@given(st.integers(0, 2**32 - 1), st.integers(0, 3), st.sampled_from(
    [0.8, 0.5, 0.3, 1 - 2**-25, 1 - 2**-23, 2**-24, 3 * 2**-25, 1e-9, np.float32(0.9),
     np.float64(0.7)]) | st.floats(1e-6, 1.0, exclude_max=True),
       st.lists(st.integers(1, 7), min_size=0, max_size=3),
       st.sampled_from(["PCG64", "PCG64DXSM", "MT19937", "Philox"]))
def test_mask_from_bits_equals_the_float_draw_and_leaves_the_same_stream(seed, before, keep,
                                                                         shape, bits):
    from tinygrad_reg.regularization.noise import _draw_mask

    a = np.random.Generator(getattr(np.random, bits)(seed))
    b = np.random.Generator(getattr(np.random, bits)(seed))
    a.random(before, dtype=np.float32)  # (an odd count leaves half a 64-bit draw pending)
    b.random(before, dtype=np.float32)
    got = _draw_mask(a, tuple(shape), keep)
    want = np.asarray(b.random(tuple(shape), dtype=np.float32) < keep)
    assert got.dtype == want.dtype and got.shape == want.shape
    assert np.array_equal(got, want)
    assert np.array_equal(a.random(5, dtype=np.float32), b.random(5, dtype=np.float32))
    assert np.array_equal(a.random(3), b.random(3))


def test_mask_from_bits_at_the_threshold():
    from tinygrad_reg.regularization.noise import _keep_threshold

    # k·2⁻²⁴ < keep in float32: keep = 0.5 keeps k < 2²³ exactly; keep just above a float32
    # step rounds to it (the comparison happens in float32)
    assert _keep_threshold(0.5) == 2**23
    assert _keep_threshold(0.5 + 2**-30) == 2**23
    assert _keep_threshold(1 - 2**-25) == 2**24  # rounds to 1.0: every draw kept
    assert _keep_threshold(np.float64(0.5 + 2**-30)) == 2**23 + 1  # a float64 compares wider
    assert _keep_threshold(1e-12) == 1  # only k = 0


@pytest.mark.parametrize("keep", [0.8, 0.5, 1 - 2**-25, 1e-12, np.float64(0.7), 2**-24])
def test_kept_words_at_the_boundary_match_the_float_comparison(keep):
    from tinygrad_reg.regularization.noise import _keep_threshold, _kept

    t = _keep_threshold(keep)
    edge = [max(t * 256 - 1, 0), min(t * 256, 2**32 - 1), max(t * 256 - 256, 0), 0,
            2**32 - 1, min(t * 256 + 255, 2**32 - 1)]
    words = np.array(edge, dtype=np.uint32)
    floats = (words >> 8).astype(np.float32) * np.float32(2.0**-24)
    assert np.array_equal(_kept(words, keep), floats < keep)
