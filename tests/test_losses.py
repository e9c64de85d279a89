"""Losses: gradients against finite differences, stability at extreme inputs, exact gradient
conventions, reductions, shape checks, and a network trained far past the tutorial's crash."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
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
        x = tg.Tensor(t.data + offset.data, requires_grad=True)
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
        np.testing.assert_array_equal(h.data, [want, want])


# -- binary cross-entropy from logits ----------------------------------------------------

def test_bce_with_logits_is_finite_and_exact_at_plus_minus_1000():
    z = t64([[1000.0], [-1000.0], [1000.0], [-1000.0], [0.0]])
    y = np.array([[1.0], [0.0], [0.0], [1.0], [1.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warning either
        loss = F.binary_cross_entropy_with_logits(z, y, reduction="none")
        per = loss.data.ravel()
        assert np.array_equal(per[:4], [0.0, 0.0, 1000.0, 1000.0])
        assert per[4] == pytest.approx(np.log(2.0), rel=1e-15)
        mean = F.binary_cross_entropy_with_logits(z, y)
        mean.backward()
    assert np.all(np.isfinite(z.grad.data))
    assert np.array_equal(z.grad.data, (np.array([[1.0], [0.0], [1.0], [0.0], [0.5]]) - y) / 5)


def test_bce_with_logits_gradient_is_exactly_sigmoid_minus_y_over_m():
    rng = np.random.default_rng(0)
    m = 200
    z = t64(rng.standard_normal((m, 1)) * 4)
    y = (rng.random((m, 1)) < 0.5).astype(np.float64)
    F.binary_cross_entropy_with_logits(z, y).backward()
    assert np.array_equal(z.grad.data, (tg.sigmoid(tg.Tensor(z.data)).data - y) / m)
    np.testing.assert_allclose(z.grad.data, (_sigmoid(z.data) - y) / m, rtol=1e-14, atol=0)


def test_bce_with_logits_matches_the_textbook_formula():
    rng = np.random.default_rng(1)
    z, y = rng.standard_normal((7, 3)) * 3, rng.random((7, 3))
    a = _sigmoid(z)
    want = -(y * np.log(a) + (1 - y) * np.log(1 - a))
    got = F.binary_cross_entropy_with_logits(t64(z), y, reduction="none")
    np.testing.assert_allclose(got.data, want, rtol=1e-12)
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
        assert np.array_equal(loss.data, [100.0, 100.0, 0.0, 0.0])  # logs clamped at -100
        total = F.binary_cross_entropy(p, y, reduction="sum")
        total.backward()
    assert np.all(np.isfinite(p.grad.data))
    # (p - y) / max(p(1 - p), 1e-12): pushes the wrong extremes back hard, the right ones not
    assert np.array_equal(p.grad.data, [-1e12, 1e12, 0.0, 0.0])


def test_bce_on_probabilities_target_gradient_is_finite_at_the_clamp():
    p, y = t64([0.0, 0.5, 1.0]), t64([0.3, 0.3, 0.3])
    F.binary_cross_entropy(p, y, reduction="sum").backward()
    # d/dy = clamped log(1-p) - clamped log(p)
    np.testing.assert_allclose(y.grad.data, [100.0, 0.0, -100.0], atol=1e-15)


def test_bce_on_probabilities_rejects_values_outside_0_1():
    with pytest.raises(ValueError, match=r"\[-0.5, 1.5\]"):
        F.binary_cross_entropy(t64([-0.5, 1.5]), np.zeros(2))


# -- cross-entropy -----------------------------------------------------------------------

def test_cross_entropy_equals_negative_log_softmax_at_the_label():
    rng = np.random.default_rng(3)
    z, labels = rng.standard_normal((5, 4)), np.array([0, 3, 1, 1, 2])
    lsm = tg.log_softmax(tg.Tensor(z), axis=1).data
    want = -lsm[np.arange(5), labels]
    got = F.cross_entropy(t64(z), labels, reduction="none")
    np.testing.assert_allclose(got.data, want, rtol=1e-13)
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
    np.testing.assert_allclose(z.grad.data, want, rtol=1e-15, atol=1e-300)


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
    assert np.array_equal(x.grad.data, 2 * (x.data - y.data) / 4)
    assert np.array_equal(y.grad.data, -2 * (x.data - y.data) / 4)


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
    assert fn(t64(x), y, reduction="sum").item() == pytest.approx(none.data.sum(), rel=1e-14)
    mean = fn(t64(x), y)
    assert mean.shape == () and mean.item() == pytest.approx(none.data.mean(), rel=1e-14)
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
            assert np.all(np.isfinite(p.grad.data))
            p.data -= lr * p.grad.data
        return loss.item(), z.data

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
    saturated = tg.sigmoid(tg.Tensor(z)).data == 1.0
    assert np.any(saturated & (y == 1))  # the tutorial's (1 - y)·log(1 - a) is 0·log(0) here
