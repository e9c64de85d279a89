"""Losses: gradients against finite differences, stability at extreme inputs, exact gradient
conventions, reductions, shape checks, and a network trained far past the tutorial's crash."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_reg as tg
from tinygrad_reg.autograd import iter_graph
from tinygrad_reg.nn import functional as F
from tinygrad_reg.testing import strategies as S


def t64(a, grad=True):
    return tg.Tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


shapes = hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=4)
reductions = st.sampled_from(["mean", "sum", "none"])


@st.composite
def pairs(draw, pred, target):
    shape = draw(shapes)
    return (draw(hnp.arrays(np.float64, shape, elements=pred)),
            draw(hnp.arrays(np.float64, shape, elements=target)))


# -- gradient checks: every loss through tg.testing.check_op -----------------------------------

@st.composite
def loss_pair(draw, pred=None, target=None, margin_from=None):
    """(pred, target, reduction) of one shape; with ``margin_from`` d, |pred - target| keeps
    0.1 away from each kink point in d (the regression losses' kinks)."""
    shape = draw(shapes)
    t = draw(S.tensors(shape, **(target or {})))
    if margin_from is None:
        x = draw(S.tensors(shape, **(pred or {})))
    else:
        offset = draw(S.tensors(shape, avoid=margin_from, low=-2.0, high=2.0))
        x = tg.Tensor(t.numpy() + offset.numpy(), requires_grad=True)
    return x, t, draw(reductions)


@st.composite
def class_inputs(draw, probs=False, extra_dim=False):
    """(logits, target, weight, ignore_index, label_smoothing, reduction)."""
    n, c = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    shape = (n, c) + ((draw(st.integers(1, 3)),) if extra_dim else ())
    z = draw(S.tensors(shape, low=-5.0, high=5.0))
    index_shape = shape[:1] + shape[2:]
    weight = draw(st.one_of(st.none(), hnp.arrays(np.float64, (c,),
                                                  elements=st.floats(0.2, 2.0))))
    eps = draw(st.sampled_from([0.0, 0.1]))
    if probs:
        raw = draw(hnp.arrays(np.float64, shape, elements=st.floats(0.1, 1.0)))
        t = tg.Tensor(raw / raw.sum(axis=1, keepdims=True), requires_grad=True)
        return z, t, weight, -100, eps, draw(reductions)
    labels = draw(hnp.arrays(np.int64, index_shape, elements=st.integers(-1, c - 1)))
    labels[labels.reshape(-1)[:1].shape and (0,) * labels.ndim] = 0  # one real label at least
    return z, labels, weight, -1, eps, draw(reductions)


def _ref_cross_entropy(z, target, weight, ignore_index, eps, reduction):
    """PyTorch's formulas, written again with numpy (see CrossEntropy's docstring)."""
    c = z.shape[1]
    w = np.ones(c) if weight is None else weight
    wb = w.reshape((1, c) + (1,) * (z.ndim - 2))
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    if target.dtype.kind == "f":
        a = wb * ((1 - eps) * target + eps / c)
        loss = -(a * logp).sum(axis=1)
        return {"mean": loss.sum() / loss.size, "sum": loss.sum(), "none": loss}[reduction]
    keep = target != ignore_index
    safe = np.where(keep, target, 0)
    picked = np.take_along_axis(logp, np.expand_dims(safe, 1), 1).squeeze(1)
    nll = -w[safe] * picked * keep
    smooth = -(logp * wb).sum(axis=1) * keep
    loss = (1 - eps) * nll + eps / c * smooth
    denom = (w[safe] * keep).sum()
    return {"mean": loss.sum() / denom, "sum": loss.sum(), "none": loss}[reduction]


def _ref_nll(x, target, weight, ignore_index, eps, reduction):
    w = np.ones(x.shape[1]) if weight is None else weight
    keep = target != ignore_index
    safe = np.where(keep, target, 0)
    picked = np.take_along_axis(x, np.expand_dims(safe, 1), 1).squeeze(1)
    loss = -w[safe] * picked * keep
    return {"mean": loss.sum() / (w[safe] * keep).sum(), "sum": loss.sum(),
            "none": loss}[reduction]


def _weight_for(z):
    """Per-row weights that broadcast to z's shape, and a pos_weight along its last dim."""
    return _W[:z.shape[0]].reshape((z.shape[0],) + (1,) * (z.ndim - 1))


def _ref_bce_logits(z, y, reduction, w=1.0, p=1.0):
    sp = np.logaddexp(0, z)
    loss = w * ((1 - y) * sp + p * y * np.logaddexp(0, -z))
    return {"mean": loss.mean(), "sum": loss.sum(), "none": loss}[reduction]


def _ref_bce(p, y, reduction):
    loss = -(y * np.log(p) + (1 - y) * np.log1p(-p))
    return {"mean": loss.mean(), "sum": loss.sum(), "none": loss}[reduction]


def _reduced(fn):
    def ref(x, y, reduction, *args):
        loss = fn(x - y, *args)
        return {"mean": loss.mean(), "sum": loss.sum(), "none": loss}[reduction]
    return ref


def _huber(d, delta):
    return np.where(np.abs(d) <= delta, 0.5 * d * d, delta * (np.abs(d) - 0.5 * delta))


def _smooth_l1(d, beta):
    return np.where(np.abs(d) < beta, 0.5 * d * d / beta, np.abs(d) - 0.5 * beta)


def case(name, op, ref, *inputs, **options):
    return pytest.param(name, op, ref, inputs, options, id=name)


_W = np.array([[0.5], [2.0], [1.0], [1.5]])
LOSS_CASES = [
    case("bce_with_logits", lambda z, y, r: F.binary_cross_entropy_with_logits(z, y,
                                                                               reduction=r),
         _ref_bce_logits, loss_pair({"low": -6.0, "high": 6.0}, {"low": 0.0, "high": 1.0})),
    case("bce_with_logits_weighted",
         lambda z, y, r: F.binary_cross_entropy_with_logits(
             z, y, weight=_weight_for(z), reduction=r, pos_weight=np.full(z.shape[-1], 3.0)),
         lambda z, y, r: _ref_bce_logits(z, y, r, _weight_for(z), 3.0),
         loss_pair({"low": -6.0, "high": 6.0}, {"low": 0.0, "high": 1.0})),
    case("bce", lambda p, y, r: F.binary_cross_entropy(p, y, reduction=r), _ref_bce,
         loss_pair({"low": 0.05, "high": 0.95}, {"low": 0.0, "high": 1.0})),
    case("cross_entropy", lambda z, t, w, i, e, r: F.cross_entropy(z, t, w, i, r, e),
         _ref_cross_entropy, class_inputs()),
    case("cross_entropy_extra_dim", lambda z, t, w, i, e, r: F.cross_entropy(z, t, w, i, r, e),
         _ref_cross_entropy, class_inputs(extra_dim=True)),
    case("cross_entropy_probs", lambda z, t, w, i, e, r: F.cross_entropy(z, t, w, i, r, e),
         _ref_cross_entropy, class_inputs(probs=True)),
    case("nll_loss", lambda z, t, w, i, e, r: F.nll_loss(z, t, w, i, r), _ref_nll,
         class_inputs()),
    case("mse", lambda x, y, r: F.mse_loss(x, y, r), _reduced(lambda d: d * d), loss_pair()),
    case("l1", lambda x, y, r: F.l1_loss(x, y, r), _reduced(np.abs),
         loss_pair(margin_from=[0.0])),
    case("huber", lambda x, y, r: F.huber_loss(x, y, r, delta=0.7),
         lambda x, y, r: _reduced(_huber)(x, y, r, 0.7),
         loss_pair(margin_from=[-0.7, 0.0, 0.7])),
    case("smooth_l1", lambda x, y, r: F.smooth_l1_loss(x, y, r, beta=0.7),
         lambda x, y, r: _reduced(_smooth_l1)(x, y, r, 0.7),
         loss_pair(margin_from=[-0.7, 0.0, 0.7])),
]


@pytest.mark.parametrize("name, op, ref, inputs, options", LOSS_CASES)
def test_loss_gradients(name, op, ref, inputs, options):
    tg.testing.check_op(op, *inputs, ref=ref, name=name, out_shape=None, **options)


def test_huber_and_smooth_l1_second_derivative_conventions_at_their_kinks():
    # |d| = delta: Huber takes the quadratic branch (second derivative 1); |d| = beta:
    # smooth L1 takes the linear one (0), as PyTorch's tests of <= and <
    for fn, want in ((lambda x: F.huber_loss(x, np.zeros(2), "sum", delta=0.5), 1.0),
                     (lambda x: F.smooth_l1_loss(x, np.zeros(2), "sum", beta=0.5), 0.0)):
        x = t64([0.5, -0.5])
        (g,) = tg.grad(fn(x), x, create_graph=True)
        (h,) = tg.grad(g.sum(), x)
        np.testing.assert_array_equal(h.numpy(), [want, want])


# -- binary cross-entropy from logits ----------------------------------------------------

def test_bce_with_logits_is_finite_and_exact_at_plus_minus_1000():
    z = t64([[1000.0], [-1000.0], [1000.0], [-1000.0], [0.0]])
    y = np.array([[1.0], [0.0], [0.0], [1.0], [1.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warning either
        loss = F.binary_cross_entropy_with_logits(z, y, reduction="none")
        per = loss.numpy().ravel()
        assert np.array_equal(per[:4], [0.0, 0.0, 1000.0, 1000.0])
        assert per[4] == pytest.approx(np.log(2.0), rel=1e-15)
        mean = F.binary_cross_entropy_with_logits(z, y)
        mean.backward()
    assert np.all(np.isfinite(z.grad.numpy()))
    assert np.array_equal(z.grad.numpy(), (np.array([[1.0], [0.0], [1.0], [0.0], [0.5]]) - y) / 5)


def test_bce_with_logits_gradient_is_exactly_sigmoid_minus_y_over_m():
    rng = np.random.default_rng(0)
    m = 200
    z = t64(rng.standard_normal((m, 1)) * 4)
    y = (rng.random((m, 1)) < 0.5).astype(np.float64)
    F.binary_cross_entropy_with_logits(z, y).backward()
    assert np.array_equal(z.grad.numpy(), (tg.sigmoid(tg.Tensor(z.numpy())).numpy() - y) / m)
    np.testing.assert_allclose(z.grad.numpy(), (_sigmoid(z.numpy()) - y) / m, rtol=1e-14, atol=0)


def test_bce_with_logits_matches_the_textbook_formula():
    rng = np.random.default_rng(1)
    z, y = rng.standard_normal((7, 3)) * 3, rng.random((7, 3))
    a = _sigmoid(z)
    want = -(y * np.log(a) + (1 - y) * np.log(1 - a))
    got = F.binary_cross_entropy_with_logits(t64(z), y, reduction="none")
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-12)
    assert F.binary_cross_entropy_with_logits(t64(z), y, "sum").item() == pytest.approx(
        want.sum(), rel=1e-12)
    assert F.binary_cross_entropy_with_logits(t64(z), y).item() == pytest.approx(
        want.mean(), rel=1e-12)


# -- binary cross-entropy on probabilities -----------------------------------------------

def test_bce_on_probabilities_matches_the_tutorial_inside_0_1():
    rng = np.random.default_rng(2)
    p, y = rng.uniform(0.01, 0.99, (6, 2)), rng.random((6, 2))
    want = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    loss = F.binary_cross_entropy(t64(p), y)
    assert loss.item() == pytest.approx(want, rel=1e-13)


def test_bce_on_probabilities_of_exactly_0_and_1_is_finite_clamped():
    p = t64([0.0, 1.0, 0.0, 1.0])
    y = np.array([1.0, 0.0, 0.0, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the tutorial's log(0) crash and its warning are gone
        loss = F.binary_cross_entropy(p, y, reduction="none")
        assert np.array_equal(loss.numpy(), [100.0, 100.0, 0.0, 0.0])  # logs clamped at -100
        total = F.binary_cross_entropy(p, y, reduction="sum")
        total.backward()
    assert np.all(np.isfinite(p.grad.numpy()))
    # (p - y) / max(p(1 - p), 1e-12): pushes the wrong extremes back hard, the right ones not
    assert np.array_equal(p.grad.numpy(), [-1e12, 1e12, 0.0, 0.0])


def test_bce_on_probabilities_target_gradient_is_finite_at_the_clamp():
    p, y = t64([0.0, 0.5, 1.0]), t64([0.3, 0.3, 0.3])
    F.binary_cross_entropy(p, y, reduction="sum").backward()
    # d/dy = clamped log(1-p) - clamped log(p)
    np.testing.assert_allclose(y.grad.numpy(), [100.0, 0.0, -100.0], atol=1e-15)


def test_bce_on_probabilities_rejects_values_outside_0_1():
    with pytest.raises(ValueError, match=r"\[-0.5, 1.5\]"):
        F.binary_cross_entropy(t64([-0.5, 1.5]), np.zeros(2))


# -- cross-entropy -----------------------------------------------------------------------

def test_cross_entropy_equals_negative_log_softmax_at_the_label():
    rng = np.random.default_rng(3)
    z, labels = rng.standard_normal((5, 4)), np.array([0, 3, 1, 1, 2])
    lsm = tg.log_softmax(tg.Tensor(z), axis=1).numpy()
    want = -lsm[np.arange(5), labels]
    got = F.cross_entropy(t64(z), labels, reduction="none")
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-13)
    assert F.cross_entropy(t64(z), labels).item() == pytest.approx(want.mean(), rel=1e-13)
    assert F.cross_entropy(t64(z), tg.Tensor(labels), "sum").item() == pytest.approx(
        want.sum(), rel=1e-13)


def test_cross_entropy_gradient_is_softmax_minus_onehot_over_n_and_stable():
    z = t64([[1000.0, -1000.0, 0.0], [0.0, 0.0, 0.0]])
    labels = np.array([1, 2])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = F.cross_entropy(z, labels)
        loss.backward()
    assert loss.item() == pytest.approx((2000.0 + np.log(3.0)) / 2, rel=1e-15)
    want = np.array([[1.0, -1.0, 0.0], [1 / 3, 1 / 3, -2 / 3]]) / 2
    np.testing.assert_allclose(z.grad.numpy(), want, rtol=1e-15, atol=1e-300)


# -- masked logits (-inf), pinned against PyTorch 2.13 -------------------------------------------

NAN, INF = float("nan"), float("inf")
MASKED = [[-INF, 0.0, 0.0], [1.0, -INF, 2.0]]  # class 0 masked in row 0, class 1 in row 1
LABELS = np.array([1, 2])
SECOND = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])  # weights of the gradient's sum

# cross_entropy(MASKED, LABELS, **kwargs) in float64, from PyTorch 2.13: (loss, gradient,
# gradient of Σ SECOND·gradient). Without smoothing the masked classes cost nothing; with it
# the loss is inf; the gradient is finite either way
MASKED_CROSS_ENTROPY = {
    "plain": ({}, 0.5032044340390841,
              [[0.0, -0.25, 0.25], [0.13447071068499755, 0.0, -0.13447071068499755]],
              [[0.0, -0.125, 0.125], [-0.19661193324148193, 0.0, 0.1966119332414817]]),
    "label_smoothing": ({"label_smoothing": 0.1}, INF,
                        [[-0.016666666666666666, -0.21666666666666667, 0.23333333333333334],
                         [0.11780404401833089, -0.016666666666666666, -0.10113737735166423]],
                        [[0.0, -0.125, 0.125], [-0.19661193324148193, 0.0, 0.1966119332414817]]),
    "weight": ({"weight": [1.0, 2.0, 3.0]}, 0.4652158847349119,
               [[0.0, -0.2, 0.2], [0.16136485282199708, 0.0, -0.16136485282199708]],
               [[0.0, -0.09999999999999998, 0.10000000000000009],
                [-0.23593431988977825, 0.0, 0.23593431988977825]]),
    "ignore_index_2": ({"ignore_index": 2}, 0.6931471805599453,
                       [[0.0, -0.5, 0.5], [0.0, 0.0, 0.0]], [[0.0, -0.25, 0.25], [0.0, 0.0, 0.0]]),
    "ignore_index_1": ({"ignore_index": 1}, 0.31326168751822286,
                       [[0.0, 0.0, 0.0], [0.2689414213699951, 0.0, -0.2689414213699951]],
                       [[0.0, 0.0, 0.0], [-0.39322386648296387, 0.0, 0.3932238664829634]]),
    "none": ({"reduction": "none"}, [0.6931471805599453, 0.31326168751822286],
             [[0.0, -0.5, 0.5], [0.2689414213699951, 0.0, -0.2689414213699951]],
             [[0.0, -0.25, 0.25], [-0.39322386648296387, 0.0, 0.3932238664829634]]),
    "sum": ({"reduction": "sum"}, 1.0064088680781682,
            [[0.0, -0.5, 0.5], [0.2689414213699951, 0.0, -0.2689414213699951]],
            [[0.0, -0.25, 0.25], [-0.39322386648296387, 0.0, 0.3932238664829634]]),
    "none_smoothing_weight": ({"reduction": "none", "label_smoothing": 0.2,
                               "weight": [1.0, 2.0, 3.0]}, [INF, INF],
                              [[-0.06666666666666667, -0.7333333333333334, 0.8],
                               [0.6863693131693198, -0.13333333333333333, -0.5530359798359863]],
                              [[0.0, -0.5, 0.5], [-1.1010268261522984, 0.0, 1.1010268261522993]]),
    "sum_smoothing_ignore": ({"reduction": "sum", "label_smoothing": 0.2, "ignore_index": 1},
                             INF,
                             [[0.0, 0.0, 0.0],
                              [0.20227475470332845, -0.06666666666666667, -0.1356080880366618]],
                             [[0.0, 0.0, 0.0], [-0.39322386648296387, 0.0, 0.3932238664829634]]),
}


def _loss_and_derivatives(fn, logits, second=SECOND):
    z = t64(logits)
    loss = fn(z)
    (g,) = tg.grad(loss.sum(), z, create_graph=True)
    (h,) = tg.grad((g * tg.Tensor(second)).sum(), z)
    return loss.numpy(), g.numpy(), h.numpy()


@pytest.mark.parametrize("case", list(MASKED_CROSS_ENTROPY))
def test_cross_entropy_of_masked_logits_matches_pytorch(case):
    kwargs, want_loss, want_grad, want_second = MASKED_CROSS_ENTROPY[case]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no 0 · -inf left anywhere
        loss, grad, second = _loss_and_derivatives(
            lambda z: F.cross_entropy(z, LABELS, **kwargs), MASKED)
    np.testing.assert_allclose(loss, want_loss, rtol=1e-15)
    np.testing.assert_allclose(grad, want_grad, rtol=1e-15, atol=1e-17)
    np.testing.assert_allclose(second, want_second, rtol=1e-13, atol=1e-16)
    if "label_smoothing" not in kwargs:  # the same through log_softmax and nll_loss
        loss, grad, second = _loss_and_derivatives(
            lambda z: F.nll_loss(F.log_softmax(z, 1), LABELS, **kwargs), MASKED)
        np.testing.assert_allclose(loss, want_loss, rtol=1e-15)
        np.testing.assert_allclose(grad, want_grad, rtol=1e-15, atol=1e-17)
        np.testing.assert_allclose(second, want_second, rtol=1e-13, atol=1e-16)


def test_cross_entropy_of_masked_logits_in_float32_and_through_the_module():
    # PyTorch 2.13, float32: 0.5032044053077698; its gradient is the float64 one rounded to
    # float32 (to 1 unit in the last place: [0.13447071611881256, 0, -0.13447070121765137])
    for loss_fn in (F.cross_entropy, tg.nn.CrossEntropyLoss(),
                    lambda z, y: F.nll_loss(F.log_softmax(z, 1), y)):
        z = tg.Tensor(np.array(MASKED, dtype=np.float32), requires_grad=True)
        loss = loss_fn(z, LABELS)
        loss.backward()
        assert loss.dtype == np.float32
        np.testing.assert_allclose(loss.item(), 0.5032044053077698, rtol=1e-7)
        np.testing.assert_allclose(z.grad.numpy(), MASKED_CROSS_ENTROPY["plain"][2], rtol=3e-7,
                                   atol=0)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the nan results: 0/0, 0 · inf
def test_cross_entropy_edges_of_masked_and_ignored_targets_match_pytorch():
    # PyTorch 2.13, float64. A target on a masked class: inf, with a finite gradient
    for fn in (F.cross_entropy, lambda z, y: F.nll_loss(F.log_softmax(z, 1), y)):
        loss, grad, _ = _loss_and_derivatives(lambda z, fn=fn: fn(z, np.array([0, 2])), MASKED)
        assert loss == INF
        np.testing.assert_allclose(grad, [[-0.5, 0.25, 0.25],
                                          [0.13447071068499755, 0.0, -0.13447071068499755]],
                                   rtol=1e-15)
    # class probabilities: a zero probability on a masked class is 0 · -inf = nan (PyTorch
    # sums every class), while the gradient stays finite
    z = t64(MASKED)
    with np.errstate(invalid="ignore"):
        loss = F.cross_entropy(z, np.array([[0.0, 0.5, 0.5], [0.2, 0.0, 0.8]]))
    loss.backward()
    assert np.isnan(loss.item())
    np.testing.assert_allclose(z.grad.numpy(), [[0.0, 0.0, 0.0],
                                             [0.034470710684997546, 0.0, -0.034470710684997574]],
                               rtol=1e-14, atol=1e-17)
    # every target ignored: the mean is 0/0 = nan, and the gradient is 0 (not nan)
    for fn in (lambda z: F.cross_entropy(z, np.array([1, 1]), ignore_index=1),
               lambda z: F.nll_loss(F.log_softmax(z, 1), np.array([1, 1]), ignore_index=1),
               lambda z: F.nll_loss(z, np.array([1, 1]), ignore_index=1)):
        z = t64(MASKED)
        loss = fn(z)
        loss.backward()
        assert np.isnan(loss.item())
        np.testing.assert_array_equal(z.grad.numpy(), np.zeros((2, 3)))
    # total weight 0 (both targets weigh 0): nan, and nan in the rows that were not ignored
    # (nll_loss: only at the targets)
    z = t64(MASKED)
    loss = F.cross_entropy(z, np.array([1, 1]), weight=[1.0, 0.0, 3.0])
    loss.backward()
    assert np.isnan(loss.item()) and np.isnan(z.grad.numpy()).all()
    z = t64(MASKED)  # ... with smoothing too (inf · the smoothing terms, then inf - inf)
    loss = F.cross_entropy(z, LABELS, weight=[1.0, 0.0, 3.0], ignore_index=2,
                           label_smoothing=0.1)
    loss.backward()
    assert np.isnan(loss.item())
    np.testing.assert_array_equal(z.grad.numpy(), [[NAN, NAN, NAN], [0.0, 0.0, 0.0]])
    x = t64([[-1.0, -2.0, -3.0], [-4.0, -5.0, -6.0]])
    loss = F.nll_loss(x, np.array([1, 1]), weight=[1.0, 0.0, 3.0])
    loss.backward()
    assert np.isnan(loss.item())
    np.testing.assert_array_equal(x.grad.numpy(), [[0.0, NAN, 0.0], [0.0, NAN, 0.0]])
    # an ignored row of all -inf: loss 0; its gradient is nan (softmax of that row is 0/0)
    z = t64([[-INF, 0.0, 0.0], [-INF, -INF, -INF]])
    with np.errstate(invalid="ignore"):
        loss = F.cross_entropy(z, np.array([1, 2]), ignore_index=2, reduction="none")
        loss.sum().backward()
    np.testing.assert_array_equal(loss.numpy(), [0.6931471805599453, 0.0])
    np.testing.assert_array_equal(z.grad.numpy(), [[0.0, -0.5, 0.5], [NAN, NAN, NAN]])


@st.composite
def masked_cross_entropy_inputs(draw):
    """(logits, mask, labels, weight, ignore_index, reduction, label_smoothing): some classes
    masked per row, never a row's label."""
    n, c = draw(st.integers(1, 4)), draw(st.integers(2, 4))
    z = draw(hnp.arrays(np.float64, (n, c), elements=st.floats(-3.0, 3.0)))
    labels = draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, c - 1)))
    mask = draw(hnp.arrays(bool, (n, c)))
    mask[np.arange(n), labels] = False
    weight = draw(st.one_of(st.none(), hnp.arrays(np.float64, (c,),
                                                  elements=st.floats(0.5, 2.0))))
    ignore = draw(st.sampled_from([-100, 0]))
    if (labels == ignore).all():
        ignore = -100  # something to divide by in the mean (all-ignored is pinned above)
    return (z, mask, labels, weight, ignore, draw(reductions),
            draw(st.sampled_from([0.0, 0.0, 0.1])))


@given(masked_cross_entropy_inputs())
def test_masking_a_class_with_minus_inf_is_dropping_it(inputs):
    """A -inf logit acts as a logit so negative that its exp is 0 (-1e4 here): the same loss
    without smoothing (inf with it), the same first and second derivatives, exactly."""
    z, mask, labels, weight, ignore, reduction, eps = inputs
    results = []
    for fill in (-np.inf, -1e4):
        results.append(_loss_and_derivatives(
            lambda t: F.cross_entropy(t, labels, weight=weight, ignore_index=ignore,
                                      reduction=reduction, label_smoothing=eps),
            np.where(mask, fill, z), second=np.arange(z.size, dtype=np.float64).reshape(
                z.shape)))
    (loss, grad, second), (stand_in, grad_in, second_in) = results
    np.testing.assert_array_equal(grad, grad_in)
    np.testing.assert_array_equal(second, second_in)
    if eps == 0.0:
        np.testing.assert_array_equal(loss, stand_in)
    else:  # a masked class in a kept row makes the smoothing term inf
        hit = (mask & (labels != ignore)[:, None]).any(axis=1)
        per_row = loss if reduction == "none" else None
        if per_row is not None:
            np.testing.assert_array_equal(per_row[hit], np.inf)
            np.testing.assert_array_equal(per_row[~hit], stand_in[~hit])
        else:
            assert loss == (np.inf if hit.any() else stand_in)


# softmax, log_softmax (dim 1) and logsumexp (dim 1) of rows with -inf, from PyTorch 2.13:
# (value, gradient of Σ U·out, gradient of Σ V·that gradient). A row that is all -inf gives
# nan for softmax and log_softmax (0/0) and -inf for logsumexp, each with a nan gradient
MASKED_ROWS = [[-INF, 0.0, 0.0], [1.0, -INF, 2.0], [-INF, -INF, -INF]]
U = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]])
V = np.array([[1.0, -1.0, 2.0]] * 3)
MASKED_ROW_OPS = {
    "softmax": (lambda z: F.softmax(z, 1),
                [[0.0, 0.5, 0.5], [0.26894142136999516, 0.0, 0.7310585786300049], [NAN] * 3],
                [[0.0, -0.25, 0.25], [-0.3932238664829639, 0.0, 0.3932238664829632],
                 [NAN] * 3],
                [[0.0, 0.0, 0.0], [0.18171549534589715, 0.0, -0.1817154953458957], [NAN] * 3]),
    "log_softmax": (lambda z: F.log_softmax(z, 1),
                    [[-INF, -0.6931471805599453, -0.6931471805599453],
                     [-1.3132616875182228, -INF, -0.31326168751822286], [NAN] * 3],
                    [[1.0, -1.0, 0.0], [-0.03412132054992656, 5.0, -4.965878679450073],
                     [NAN] * 3],
                    [[0.0, 4.5, -4.5], [2.949178998622227, 0.0, -2.9491789986222288],
                     [NAN] * 3]),
    "logsumexp": (lambda z: z.logsumexp(1), [0.6931471805599453, 2.313261687518223, -INF],
                  [[0.0, 0.5, 0.5], [1.0757656854799802, 0.0, 2.924234314520019], [NAN] * 3],
                  [[0.0, -0.75, 0.75], [-0.786447732965927, 0.0, 0.7864477329659278],
                   [NAN] * 3]),
}


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the all -inf row: -inf - -inf
@pytest.mark.parametrize("name", list(MASKED_ROW_OPS))
def test_softmax_log_softmax_and_logsumexp_of_masked_rows_match_pytorch(name):
    fn, want, want_grad, want_second = MASKED_ROW_OPS[name]
    z = t64(MASKED_ROWS)
    out = fn(z)
    upstream = tg.Tensor(U if out.ndim == 2 else U[:, 0])
    (g,) = tg.grad((out * upstream).sum(), z, create_graph=True)
    (h,) = tg.grad((g * tg.Tensor(V)).sum(), z)
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-15)
    np.testing.assert_allclose(g.numpy(), want_grad, rtol=1e-14, atol=1e-16)
    np.testing.assert_allclose(h.numpy(), want_second, rtol=1e-13, atol=1e-15)


def test_cross_entropy_bad_labels():
    z = t64(np.zeros((3, 4)))
    with pytest.raises(IndexError, match="label 4"):
        F.cross_entropy(z, np.array([0, 4, 1]))
    with pytest.raises(IndexError, match="label -1"):
        F.cross_entropy(z, np.array([0, -1, 1]))
    with pytest.raises(TypeError, match="integer"):
        F.cross_entropy(z, np.array([0.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match=r"\(3, 4\).*\(2,\)"):
        F.cross_entropy(z, np.array([0, 1]))
    # one unbatched example, (C,) logits and a 0-d label, is PyTorch's (C,) case
    assert F.cross_entropy(t64(np.zeros(4)), np.array(1)).item() == pytest.approx(np.log(4))
    with pytest.raises(ValueError, match=r"logits \(4,\) and target \(2,\)"):
        F.cross_entropy(t64(np.zeros(4)), np.array([1, 2]))


# -- mean squared error ------------------------------------------------------------------

def test_mse_value_and_gradients():
    x, y = t64([[1.0, 2.0], [3.0, 4.0]]), t64([[1.5, 2.0], [2.0, 0.0]])
    loss = F.mse_loss(x, y)
    assert loss.item() == pytest.approx((0.25 + 0 + 1 + 16) / 4)
    loss.backward()
    assert np.array_equal(x.grad.numpy(), 2 * (x.numpy() - y.numpy()) / 4)
    assert np.array_equal(y.grad.numpy(), -2 * (x.numpy() - y.numpy()) / 4)


# -- shared conventions: reductions, shapes, dtypes, nodes --------------------------------

LOSSES = [
    ("binary_cross_entropy_with_logits", "BinaryCrossEntropyWithLogits", lambda s: s),
    ("binary_cross_entropy", "BinaryCrossEntropy", lambda s: _sigmoid(s)),
    ("mse_loss", "MeanSquaredError", lambda s: s),
]


@pytest.mark.parametrize("name, node, pred", LOSSES)
def test_reductions_relate_and_each_loss_is_one_node(name, node, pred):
    rng = np.random.default_rng(4)
    x, y = pred(rng.standard_normal((6, 3))), rng.random((6, 3))
    fn = getattr(F, name)
    none = fn(t64(x), y, reduction="none")
    assert none.shape == (6, 3)
    assert fn(t64(x), y, reduction="sum").item() == pytest.approx(none.numpy().sum(), rel=1e-14)
    mean = fn(t64(x), y)
    assert mean.shape == () and mean.item() == pytest.approx(none.numpy().mean(), rel=1e-14)
    assert [n.name for n in iter_graph([mean])] == [node]
    assert mean.grad_fn.attrs == {"reduction": "mean"}
    with pytest.raises(ValueError, match="'avg'"):
        fn(t64(x), y, reduction="avg")


@pytest.mark.parametrize("name, node, pred", LOSSES)
def test_shape_mismatch_is_an_error_naming_both_shapes(name, node, pred):
    fn = getattr(F, name)
    with pytest.raises(ValueError, match=r"\(5, 1\).*\(5,\)"):
        fn(t64(np.full((5, 1), 0.5)), np.full(5, 0.5))
    with pytest.raises(ValueError, match=r"\(5,\).*\(5, 1\)"):
        fn(t64(np.full(5, 0.5)), tg.Tensor(np.full((5, 1), 0.5)))


@pytest.mark.parametrize("name, node, pred", LOSSES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_float32_stays_float32(name, node, pred, reduction):
    rng = np.random.default_rng(5)
    x = tg.Tensor(pred(rng.standard_normal((4, 2))).astype(np.float32), requires_grad=True)
    y = rng.random((4, 2))  # a float64 target is taken in the prediction's dtype
    loss = getattr(F, name)(x, y, reduction=reduction)
    assert loss.dtype == np.float32
    loss.sum().backward()
    assert x.grad.dtype == np.float32


def test_cross_entropy_float32_stays_float32():
    z = tg.Tensor(np.random.default_rng(6).standard_normal((4, 3)).astype(np.float32),
                  requires_grad=True)
    loss = F.cross_entropy(z, np.array([0, 1, 2, 0]))
    assert loss.dtype == np.float32 and [n.name for n in iter_graph([loss])] == ["CrossEntropy"]
    loss.backward()
    assert z.grad.dtype == np.float32


def test_integer_and_bool_targets_are_accepted_as_labels():
    z = t64([[0.3], [-0.2]])
    a = F.binary_cross_entropy_with_logits(z, np.array([[1], [0]]))
    b = F.binary_cross_entropy_with_logits(z, tg.Tensor(np.array([[True], [False]])))
    c = F.binary_cross_entropy_with_logits(z, np.array([[1.0], [0.0]]))
    assert a.item() == b.item() == c.item()


def test_functional_face_reexports_the_one_definition():
    from tinygrad_reg import ops, regularization

    assert F.relu is ops.relu and F.sigmoid is ops.sigmoid and F.tanh is ops.tanh
    assert F.softmax is ops.softmax and F.log_softmax is ops.log_softmax
    assert F.dropout is regularization.dropout


# -- the tutorial's unregularized network, trained until it would have crashed ------------

def test_training_the_seed_network_far_stays_finite():
    """[200, 100, 20, 1] with ReLU, ReLU and a sigmoid output read through the logits, plain
    full-batch gradient descent on a separable batch of m = 200. Loss and every gradient stay
    finite until the training loss is below 1e-3. Then the output layer is scaled by 4 (on
    separable data, longer training grows the margins this way; we jump there directly) so that
    sigmoid rounds to exactly 1, where the tutorial's hand-written cost took log(0): training
    goes on, finite, and the clamped probability form is finite too."""
    rng = np.random.default_rng(0)
    dims, m = [200, 100, 20, 1], 200
    x = rng.standard_normal((m, dims[0]))
    y = (x[:, :1] + 0.5 * x[:, 1:2] > 0).astype(np.float64)
    params = []
    for i in range(3):
        params.append(t64(rng.standard_normal((dims[i], dims[i + 1])) * np.sqrt(2 / dims[i])))
        params.append(t64(np.zeros(dims[i + 1])))
    xt = tg.Tensor(x)

    def step(lr):
        a = xt
        for i in range(2):
            a = (a @ params[2 * i] + params[2 * i + 1]).relu()
        z = a @ params[4] + params[5]
        loss = F.binary_cross_entropy_with_logits(z, y)
        probs_loss = F.binary_cross_entropy(z.sigmoid().detach(), y)  # the tutorial's form
        for p in params:
            p.grad = None
        loss.backward()
        assert np.isfinite(loss.item()) and np.isfinite(probs_loss.item())
        for p in params:
            assert np.all(np.isfinite(p.grad.numpy()))
            p.data -= lr * p.grad.numpy()
        return loss.item(), z.numpy()

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow or divide-by-zero anywhere
        losses = []
        for _ in range(1000):
            loss, z = step(0.5)
            losses.append(loss)
            if loss < 1e-3:
                break
        assert losses[-1] < 1e-3, losses[-1]
        assert losses[-1] < 0.01 * losses[0]
        params[4].data *= 4.0
        params[5].data *= 4.0
        for _ in range(10):
            loss, z = step(0.5)
            assert loss < 1e-3
    saturated = tg.sigmoid(tg.Tensor(z)).numpy() == 1.0
    assert np.any(saturated & (y == 1))  # the tutorial's (1 - y)·log(1 - a) is 0·log(0) here

# -- losses against PyTorch 2.13's values (float64), pinned -----------------------------------

Z = [[1.0, -0.5, 2.0, 0.25], [0.1, 0.2, -1.0, 3.0], [-2.0, 0.0, 0.5, 1.5]]


W = np.array([1.0, 2.0, 0.5, 1.5])


def test_cross_entropy_with_weight_ignore_index_and_label_smoothing():
    y = np.array([2, 0, -100])
    for reduction, want in (("mean", 2.330583324195692), ("sum", 3.495874986293537),
                            ("none", [0.494345402453632, 3.001529583839906, 0.0])):
        got = F.cross_entropy(t64(Z), y, weight=W, label_smoothing=0.1, reduction=reduction)
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-13)
    z = t64(Z)
    F.cross_entropy(z, y, weight=W, ignore_index=-100, label_smoothing=0.1).backward()
    np.testing.assert_allclose(z.grad.numpy(), [
        [0.07018257820193, -0.013954647417033, -0.072252609191636, 0.016024678406739],
        [-0.583514758961444, 0.003305190941207, 0.002701978111163, 0.577507589909075],
        [0.0, 0.0, 0.0, 0.0]], rtol=1e-11, atol=1e-14)


def test_cross_entropy_plain_matches_pytorch():
    z = t64(Z)
    loss = F.cross_entropy(z, np.array([2, 0, 3]))
    assert loss.item() == pytest.approx(1.331261526553995, rel=1e-13)
    loss.backward()
    np.testing.assert_allclose(z.grad.numpy(), [
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
    np.testing.assert_allclose(z.grad.numpy(), [
        [0.051068019784707, -0.118936210960543, 0.208276149429381, -0.140407958253544],
        [-0.266353087923341, -0.014567259924423, -0.00268110064225, 0.283601448490014],
        [-0.075572298986054, -0.109319948488895, 0.052882087397872, 0.132010160077078]],
        rtol=1e-11)
    np.testing.assert_allclose(t.grad.numpy(), [
        [0.395928302587191, 1.591856605174383, 0.064630817960262, 0.893892453880787],
        [0.806902005551845, 1.560470677770358, 0.550117669442589, 0.050353008327768],
        [1.06217891310416, 1.057691159541652, 0.197756123218746, 0.193268369656239]],
        rtol=1e-11)


@given(st.integers(1, 6), st.integers(1, 6), st.sampled_from([np.float32, np.float64]),
       reductions, st.data())
def test_cross_entropy_fast_path_gives_the_general_paths_bits(n, c, dtype, reduction, data):
    # (N, C) logits with indices and no weight take a shorter forward (log p at the targets
    # only) and keep the softmax for the backward; a weight of ones takes the general path,
    # the same arithmetic: loss and gradient must agree to the bit, -inf logits and ignored
    # targets included
    z = data.draw(hnp.arrays(dtype, (n, c), elements=st.one_of(
        st.floats(-30, 30, width=32), st.just(-math.inf))))
    y = np.asarray(data.draw(st.lists(st.sampled_from(list(range(c)) + [-100]),
                                      min_size=n, max_size=n)))
    results = []
    for weight in (None, tg.tensor(np.ones(c, dtype))):
        zt = tg.Tensor(z, requires_grad=True)
        with np.errstate(all="ignore"):
            loss = F.cross_entropy(zt, tg.tensor(y), weight=weight, reduction=reduction)
            loss.sum().backward()
        results.append((loss.numpy(), zt.grad.numpy()))
    (l1, g1), (l2, g2) = results
    assert l1.dtype == l2.dtype == dtype and g1.dtype == g2.dtype == dtype
    np.testing.assert_array_equal(l1, l2)
    np.testing.assert_array_equal(g1, g2)


def test_cross_entropy_over_extra_dims():
    z = tg.Tensor(np.sin(np.arange(24.0)).reshape(2, 3, 4), requires_grad=True)
    y = np.array([[0, 1, 2, 1], [2, 2, 0, -100]])
    loss = F.cross_entropy(z, y, label_smoothing=0.05)
    assert loss.item() == pytest.approx(1.118480877525487, rel=1e-13)
    loss.backward()
    np.testing.assert_allclose(z.grad.numpy()[1, :, 3], 0.0)  # the ignored position
    np.testing.assert_allclose(z.grad.numpy()[0, :, 0],
                               [-0.103743613513567, 0.013735599599357, 0.090008013914211],
                               rtol=1e-11)


def test_nll_loss_equals_cross_entropy_and_matches_pytorch():
    y = np.array([2, 0, -100])
    z = t64(Z)
    loss = F.nll_loss(z.log_softmax(1), y, weight=W)
    assert loss.item() == pytest.approx(2.17883205878027, rel=1e-13)
    assert loss.item() == pytest.approx(F.cross_entropy(t64(Z), y, weight=W).item(), rel=1e-14)
    loss.backward()
    np.testing.assert_allclose(z.grad.numpy()[1], [-0.634323342076206, 0.035744901731259,
                                                0.010766157506826, 0.587812282838122],
                               rtol=1e-11)


def test_bce_with_logits_weight_and_pos_weight():
    x = t64([[0.5, -1.0, 2.0], [3.0, -0.2, 0.0]])
    t = [[1.0, 0.0, 1.0], [0.0, 1.0, 0.5]]
    loss = F.binary_cross_entropy_with_logits(x, t, weight=[[1.0], [3.0]],
                                              pos_weight=[2.0, 0.5, 1.0])
    assert loss.item() == pytest.approx(2.30179259456581, rel=1e-13)
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), [[-0.125846889599382, 0.044823570228333,
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
    np.testing.assert_allclose(out.numpy(), values, rtol=1e-14)
    out.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), grads, rtol=1e-14)


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

