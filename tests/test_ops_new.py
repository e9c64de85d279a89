"""Exact values and conventions of the ops added for PyTorch habits: the derivative at every
kink and jump, zeros in products, erf against math.erf, and the losses against values that
PyTorch 2.13 (float64) gave once for the same inputs, pinned here (the suite never imports
PyTorch)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_reg as tg
from tinygrad_reg.nn import functional as F
from tinygrad_reg.ops import _erf


def t64(values, grad=True):
    return tg.Tensor(np.array(values, dtype=np.float64), requires_grad=grad)


def grad_of(fn, values):
    x = t64(values)
    out = fn(x)
    out.sum().backward()
    return out.data, x.grad.data


POINTS = [-3.0, -1.0, 0.0, 1.0, 3.0, 6.0, 10.0]

# value and gradient at POINTS, from PyTorch 2.13: the kinks are at 0, ±1, ±3, 6
PINNED = {
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.1),
                   [0.1, 0.1, 0.1, 1.0, 1.0, 1.0, 1.0]),
    "elu": (lambda x: F.elu(x, 1.5),
            [0.074680602551796, 0.551819161757164, 1.5, 1.0, 1.0, 1.0, 1.0]),
    # (by hand: PyTorch keeps celu's alpha in float32, which moves its values by 6e-8)
    "celu": (lambda x: F.celu(x, 0.7),
             [math.exp(-3 / 0.7), math.exp(-1 / 0.7), 1.0, 1.0, 1.0, 1.0, 1.0]),
    "selu": (F.selu, [0.087530612080265, 0.646768603034814, 1.758099340847376,
                      1.05070098735548, 1.05070098735548, 1.05070098735548, 1.05070098735548]),
    "relu": (F.relu, [0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0]),
    "hardtanh": (F.hardtanh, [0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0]),
    "relu6": (F.relu6, [0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0]),
    "hardsigmoid": (F.hardsigmoid, [0.0, 1 / 6, 1 / 6, 1 / 6, 0.0, 0.0, 0.0]),
    "hardswish": (F.hardswish, [0.0, 0.166666666666667, 0.5, 0.833333333333333, 1.0, 1.0,
                                1.0]),
    "softplus": (lambda x: F.softplus(x, beta=2.0, threshold=2.0),
                 [0.002472623156635, 0.119202922022118, 0.5, 0.880797077977882, 1.0, 1.0,
                  1.0]),
    "softsign": (F.softsign, [0.0625, 0.25, 1.0, 0.25, 0.0625, 0.020408163265306,
                              0.008264462809917]),
    "gelu": (F.gelu, [-0.011945647204184, -0.083315470587686, 0.5, 1.083315470587686,
                      1.011945647204184, 1.000000035468709, 1.0]),
    "silu": (F.silu, [-0.08810410601517, 0.072329488128513, 0.5, 0.927670511871487,
                      1.088104106015169, 1.012326432591525, 1.000408560208657]),
    "mish": (F.mish, [-0.093393114532321, 0.059216755877395, 0.6, 1.049036220099792,
                      1.021106910929444, 1.00013414050621, 1.000000078312982]),
    "logsigmoid": (F.logsigmoid, [0.952574126822433, 0.731058578630005, 0.5,
                                  0.268941421369995, 0.047425873177567, 0.002472623156635,
                                  4.5397868702e-05]),
    "abs": (tg.abs, [-1.0, -1.0, 0.0, 1.0, 1.0, 1.0, 1.0]),
    "sign": (tg.sign, [0.0] * 7),
    "floor": (tg.floor, [0.0] * 7),
    "round": (tg.round, [0.0] * 7),
}


@pytest.mark.parametrize("name", sorted(PINNED))
def test_gradient_at_kinks_matches_pytorch(name):
    fn, want = PINNED[name]
    _, g = grad_of(fn, POINTS)
    np.testing.assert_allclose(g, want, rtol=1e-12, atol=1e-14)


def test_selu_keeps_pytorchs_constants_and_values():
    out, _ = grad_of(F.selu, POINTS)
    np.testing.assert_allclose(out, [-1.670568728767112, -1.111330737812562, 0.0,
                                     1.05070098735548, 3.152102962066442, 6.304205924132883,
                                     10.507009873554804], rtol=1e-13)


def test_clamp_passes_the_gradient_at_its_bounds_and_hardtanh_does_not():
    # PyTorch 2.13's two conventions: clamp passes it on [min, max], hardtanh (and relu6)
    # strictly inside
    _, g = grad_of(lambda x: x.clamp(-1.0, 1.0), POINTS)
    np.testing.assert_array_equal(g, [0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0])
    _, g = grad_of(F.hardtanh, POINTS)
    np.testing.assert_array_equal(g, [0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0])


def test_tensor_bounds_in_clamp_send_the_gradient_to_the_winner():
    x, lo = t64([0.5, -2.0, 1.0]), t64([0.0, 0.0, 0.0])
    x.clamp(min=lo).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [1.0, 0.0, 1.0])
    np.testing.assert_array_equal(lo.grad.data, [0.0, 1.0, 0.0])


def test_softmax_of_a_scalar_is_one_with_zero_gradient():
    x = t64(2.5)
    for fn, want in ((tg.softmax, 1.0), (tg.log_softmax, 0.0)):
        y = fn(x)
        assert y.shape == () and y.item() == want
        (g,) = tg.grad(y, x)
        assert g.item() == 0.0


# -- products, scans and norms -----------------------------------------------------------------

def test_prod_and_cumprod_gradients_are_exact_at_zeros():
    values = [[2.0, 0.0, 3.0], [0.0, 0.0, 5.0], [1.5, 2.0, -1.0]]
    _, g = grad_of(lambda x: x.prod(1), values)
    np.testing.assert_array_equal(g, [[0.0, 6.0, 0.0], [0.0, 0.0, 0.0], [-2.0, -1.5, 3.0]])
    x = t64(values)
    (x.cumprod(1) * tg.tensor([1.0, 2.0, 3.0], dtype=np.float64)).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[1.0, 22.0, 0.0], [1.0, 0.0, 0.0],
                                                [-1.0, -1.5, 9.0]])


def test_second_derivatives_of_products_through_zeros():
    # d²/dx_0 dx_1 of (x0·x1·x2) = x2, also when x0 = x1 = 0
    x = t64([0.0, 0.0, 4.0])
    (g,) = tg.grad(x.prod(), x, create_graph=True)
    (h,) = tg.grad(g[1], x)
    np.testing.assert_array_equal(h.data, [4.0, 0.0, 0.0])
    x = t64([0.0, 0.0])
    (g,) = tg.grad(x.cumprod(0).sum(), x, create_graph=True)  # g = [1 + x1, x0]
    (h,) = tg.grad(g[1], x)
    np.testing.assert_array_equal(h.data, [1.0, 0.0])


def test_norm_has_gradient_zero_at_zero_and_std_at_zero_variance():
    for fn in (lambda x: x.norm(), lambda x: x.norm(3), lambda x: x.norm(np.inf),
               lambda x: x.norm(1), lambda x: x.std()):
        _, g = grad_of(fn, [0.0, 0.0, 0.0] if fn.__code__.co_names[-1] != "std" else [1.0] * 3)
        np.testing.assert_array_equal(g, [0.0, 0.0, 0.0])
    _, g = grad_of(lambda x: x.std(), [1.0, 1.0, 1.0])  # PyTorch gives 0, not NaN
    np.testing.assert_array_equal(g, [0.0, 0.0, 0.0])


def test_norm_values():
    x = t64([[3.0, -4.0], [1.0, 0.0]])
    assert x.norm().item() == pytest.approx(math.sqrt(26))
    np.testing.assert_allclose(x.norm(2, dim=1).data, [5.0, 1.0])
    np.testing.assert_allclose(x.norm(1, dim=0).data, [4.0, 4.0])
    np.testing.assert_allclose(x.norm(np.inf, dim=1).data, [4.0, 1.0])
    np.testing.assert_allclose(x.norm(-np.inf, dim=1).data, [3.0, 0.0])
    np.testing.assert_allclose(x.norm(0, dim=1).data, [2.0, 1.0])
    with pytest.raises(ValueError, match="p must be"):
        x.norm(-1)


# -- erf ----------------------------------------------------------------------------------------

ERF_POINTS = np.concatenate([np.linspace(-7, 7, 20001), [0.0, -0.0, 1e-300, -1e-300, 5e-324,
                                                          2.0, -2.0, 6.0, -6.0, 26.0],
                             np.logspace(-300, 0.8, 500), -np.logspace(-12, 0.8, 200)])


@pytest.mark.parametrize("impl", ["selected", "numpy"])
def test_erf_matches_math_erf_to_1e13(impl):
    fn = _erf.erf if impl == "selected" else _erf.erf_numpy
    got = fn(ERF_POINTS)
    want = np.array([math.erf(v) for v in ERF_POINTS])
    rel = np.abs(got - want) / np.maximum(np.abs(want), 1e-300)
    assert rel.max() < 1e-13, (rel.max(), ERF_POINTS[rel.argmax()])
    assert np.all(fn(np.array([np.inf, -np.inf])) == [1.0, -1.0])
    assert np.isnan(fn(np.array([np.nan]))).all()
    assert fn(np.ones(3, np.float32)).dtype == np.float32


def test_erf_gradient():
    _, g = grad_of(tg.erf, [0.0, 1.0, -2.0])
    np.testing.assert_allclose(g, 2 / math.sqrt(math.pi) * np.exp(-np.array([0.0, 1.0, 4.0])),
                               rtol=1e-14)


# -- losses against PyTorch's values --------------------------------------------------------------

Z = [[1.0, -0.5, 2.0, 0.25], [0.1, 0.2, -1.0, 3.0], [-2.0, 0.0, 0.5, 1.5]]
W = np.array([1.0, 2.0, 0.5, 1.5])


def test_cross_entropy_with_weight_ignore_index_and_label_smoothing():
    y = np.array([2, 0, -100])
    for reduction, want in (("mean", 2.330583324195692), ("sum", 3.495874986293537),
                            ("none", [0.494345402453632, 3.001529583839906, 0.0])):
        got = F.cross_entropy(t64(Z), y, weight=W, label_smoothing=0.1, reduction=reduction)
        np.testing.assert_allclose(got.data, want, rtol=1e-13)
    z = t64(Z)
    F.cross_entropy(z, y, weight=W, ignore_index=-100, label_smoothing=0.1).backward()
    np.testing.assert_allclose(z.grad.data, [
        [0.07018257820193, -0.013954647417033, -0.072252609191636, 0.016024678406739],
        [-0.583514758961444, 0.003305190941207, 0.002701978111163, 0.577507589909075],
        [0.0, 0.0, 0.0, 0.0]], rtol=1e-11, atol=1e-14)


def test_cross_entropy_plain_matches_pytorch():
    z = t64(Z)
    loss = F.cross_entropy(z, np.array([2, 0, 3]))
    assert loss.item() == pytest.approx(1.331261526553995, rel=1e-13)
    loss.backward()
    np.testing.assert_allclose(z.grad.data, [
        [0.075521082494432, 0.016851031231565, -0.128045747123162, 0.035673633397165],
        [-0.317161671038103, 0.017872450865629, 0.005383078753413, 0.293906141419061],
        [0.006208827477823, 0.045877374542218, 0.075639003251631, -0.127725205271671]],
        rtol=1e-11)


def test_cross_entropy_with_class_probabilities():
    z = t64(Z)
    t = t64([[0.1, 0.2, 0.3, 0.4], [1.0, 0.0, 0.0, 0.0], [0.25, 0.25, 0.25, 0.25]])
    loss = F.cross_entropy(z, t, weight=W, label_smoothing=0.2)
    assert loss.item() == pytest.approx(2.696101406804534, rel=1e-13)
    loss.backward()
    np.testing.assert_allclose(z.grad.data, [
        [0.051068019784707, -0.118936210960543, 0.208276149429381, -0.140407958253544],
        [-0.266353087923341, -0.014567259924423, -0.00268110064225, 0.283601448490014],
        [-0.075572298986054, -0.109319948488895, 0.052882087397872, 0.132010160077078]],
        rtol=1e-11)
    np.testing.assert_allclose(t.grad.data, [
        [0.395928302587191, 1.591856605174383, 0.064630817960262, 0.893892453880787],
        [0.806902005551845, 1.560470677770358, 0.550117669442589, 0.050353008327768],
        [1.06217891310416, 1.057691159541652, 0.197756123218746, 0.193268369656239]],
        rtol=1e-11)


def test_cross_entropy_over_extra_dims():
    z = tg.Tensor(np.sin(np.arange(24.0)).reshape(2, 3, 4), requires_grad=True)
    y = np.array([[0, 1, 2, 1], [2, 2, 0, -100]])
    loss = F.cross_entropy(z, y, label_smoothing=0.05)
    assert loss.item() == pytest.approx(1.118480877525487, rel=1e-13)
    loss.backward()
    np.testing.assert_allclose(z.grad.data[1, :, 3], 0.0)  # the ignored position
    np.testing.assert_allclose(z.grad.data[0, :, 0],
                               [-0.103743613513567, 0.013735599599357, 0.090008013914211],
                               rtol=1e-11)


def test_nll_loss_equals_cross_entropy_and_matches_pytorch():
    y = np.array([2, 0, -100])
    z = t64(Z)
    loss = F.nll_loss(z.log_softmax(1), y, weight=W)
    assert loss.item() == pytest.approx(2.17883205878027, rel=1e-13)
    assert loss.item() == pytest.approx(F.cross_entropy(t64(Z), y, weight=W).item(), rel=1e-14)
    loss.backward()
    np.testing.assert_allclose(z.grad.data[1], [-0.634323342076206, 0.035744901731259,
                                                0.010766157506826, 0.587812282838122],
                               rtol=1e-11)


def test_bce_with_logits_weight_and_pos_weight():
    x = t64([[0.5, -1.0, 2.0], [3.0, -0.2, 0.0]])
    t = [[1.0, 0.0, 1.0], [0.0, 1.0, 0.5]]
    loss = F.binary_cross_entropy_with_logits(x, t, weight=[[1.0], [3.0]],
                                              pos_weight=[2.0, 0.5, 1.0])
    assert loss.item() == pytest.approx(2.30179259456581, rel=1e-13)
    loss.backward()
    np.testing.assert_allclose(x.grad.data, [[-0.125846889599382, 0.044823570228333,
                                              -0.019867153670353],
                                             [0.476287063411217, -0.137458499328119, 0.0]],
                               rtol=1e-11, atol=1e-15)


@pytest.mark.parametrize("fn, values, grads", [
    (lambda a, b: F.huber_loss(a, b, reduction="none", delta=0.5),
     [0.0, 0.125, 0.375, 0.625, 0.225, 0.875], [0.0, 0.5, 0.5, 0.5, -0.5, 0.5]),
    (lambda a, b: F.smooth_l1_loss(a, b, reduction="none", beta=0.5),
     [0.0, 0.25, 0.75, 1.25, 0.45, 1.75], [0.0, 1.0, 1.0, 1.0, -1.0, 1.0]),
    (lambda a, b: F.l1_loss(a, b, reduction="none"),
     [0.0, 0.5, 1.0, 1.5, 0.7, 2.0], [0.0, 1.0, 1.0, 1.0, -1.0, 1.0]),
])
def test_robust_regression_losses_at_and_around_their_kinks(fn, values, grads):
    a = t64([0.0, 0.5, 1.0, 1.5, -0.7, 3.0])  # |d| = delta = beta = 0.5 at index 1
    out = fn(a, [0.0, 0.0, 0.0, 0.0, 0.0, 1.0])
    np.testing.assert_allclose(out.data, values, rtol=1e-14)
    out.sum().backward()
    np.testing.assert_allclose(a.grad.data, grads, rtol=1e-14)


def test_loss_modules_call_the_functions():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    z, y = rng.standard_normal((4, 5)), np.array([0, 4, 2, 2])
    pairs = [(tg.nn.MSELoss(), F.mse_loss, a), (tg.nn.L1Loss(reduction="sum"), F.l1_loss, a),
             (tg.nn.HuberLoss(delta=0.3), F.huber_loss, a),
             (tg.nn.SmoothL1Loss(beta=0.2), F.smooth_l1_loss, a)]
    for module, fn, pred in pairs:
        kw = {k: getattr(module, k) for k in ("reduction", "delta", "beta") if hasattr(module, k)}
        assert module(t64(pred), b).item() == fn(t64(pred), b, **kw).item()
    ce = tg.nn.CrossEntropyLoss(weight=W[:4].tolist() + [1.0], label_smoothing=0.1)
    assert ce(t64(z), y).item() == pytest.approx(
        F.cross_entropy(t64(z), y, weight=np.r_[W[:4], 1.0], label_smoothing=0.1).item(),
        rel=1e-6)
    assert list(ce.state_dict()) == ["weight"]  # a buffer, as in PyTorch
    bce = tg.nn.BCEWithLogitsLoss(pos_weight=[2.0, 1.0, 1.0])
    assert list(bce.state_dict()) == ["pos_weight"]
    p = 1 / (1 + np.exp(-a))
    assert tg.nn.BCELoss()(t64(p), (b > 0) * 1.0).item() == pytest.approx(
        F.binary_cross_entropy(t64(p), (b > 0) * 1.0).item())
    nll = tg.nn.NLLLoss(ignore_index=4)
    assert nll(t64(z).log_softmax(1), y).item() == pytest.approx(
        F.cross_entropy(t64(z), y, ignore_index=4).item())
    assert repr(tg.nn.CrossEntropyLoss(label_smoothing=0.1)) == \
        "CrossEntropyLoss(label_smoothing=0.1)"


def test_cross_entropy_refuses_float_labels_with_a_hint_to_call_long():
    z = t64(np.zeros((3, 4)))
    with pytest.raises(TypeError, match=r"whole numbers: call \.long\(\)"):
        F.cross_entropy(z, np.array([0.0, 1.0, 3.0], dtype=np.float32))
    with pytest.raises(TypeError, match=r"float target must have the logits' shape"):
        F.cross_entropy(z, np.array([0.5, 1.0, 3.0]))
    labels = tg.Tensor(np.array([0.0, 1.0, 3.0], dtype=np.float32))
    assert F.cross_entropy(z, labels.long()).item() == pytest.approx(math.log(4))
    with pytest.raises(ValueError, match=r"weight must have one entry per class, shape \(4,\)"):
        F.cross_entropy(z, np.array([0, 1, 3]), weight=[1.0, 2.0])
    with pytest.raises(ValueError, match="label_smoothing must be in"):
        F.cross_entropy(z, np.array([0, 1, 3]), label_smoothing=1.5)
    with pytest.raises(IndexError, match="label 7 is out of range for 4 classes"):
        F.cross_entropy(z, np.array([0, 7, 3]))
