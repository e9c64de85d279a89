"""Batch, layer and group normalization and embeddings: exact gradients through the statistics
(first and second order, by check_op), PyTorch's running statistics and state dict, train and
eval behaviour, and the errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_reg as tg
from tinygrad_reg import nn
from tinygrad_reg.nn import functional as F
from tinygrad_reg.ops.normalization import NormalizeBackward
from tinygrad_reg.testing import strategies as S


def _normalize(x, axes, eps=1e-5):
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(var + eps)


@st.composite
def bn_inputs(draw):
    shape = draw(st.sampled_from([(3, 2), (2, 3, 4), (2, 2, 2, 3), (1, 2, 2, 2)]))
    x = draw(S.distinct_arrays(shape, low=-3.0, high=3.0, gap=0.03).map(
        lambda a: tg.Tensor(a, requires_grad=True)))
    c = shape[1]
    return x, draw(S.tensors((c,), low=0.5, high=2.0)), draw(S.tensors((c,)))


def _ref_bn(x, w, b):
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    return _normalize(x, axes) * w.reshape(shape) + b.reshape(shape)


@st.composite
def ln_inputs(draw):
    shape = draw(st.sampled_from([(2, 3), (2, 2, 3), (3, 4)]))
    x = draw(S.distinct_arrays(shape, low=-3.0, high=3.0, gap=0.03).map(
        lambda a: tg.Tensor(a, requires_grad=True)))
    return x, draw(S.tensors(shape[-1:])), draw(S.tensors(shape[-1:]))


@st.composite
def gn_inputs(draw):
    shape = draw(st.sampled_from([(2, 4, 3), (1, 4, 2, 2), (2, 6)]))
    x = draw(S.distinct_arrays(shape, low=-3.0, high=3.0, gap=0.03).map(
        lambda a: tg.Tensor(a, requires_grad=True)))
    return x, draw(S.tensors((shape[1],))), draw(S.tensors((shape[1],)))


def _ref_gn(x, w, b, groups=2):
    n, c = x.shape[:2]
    y = _normalize(x.reshape(n, groups, -1), (2,)).reshape(x.shape)
    shape = (1, -1) + (1,) * (x.ndim - 2)
    return y * w.reshape(shape) + b.reshape(shape)


@st.composite
def grad_inputs(draw):
    """(g, x, axes) for Normalize's gradient node: any upstream g, distinct x."""
    shape, axes = draw(st.sampled_from([((3, 2), (0,)), ((2, 3, 4), (0, 2)),
                                        ((2, 2, 3), (2,)), ((2, 2, 2, 2), (0, 2, 3))]))
    x = draw(S.distinct_arrays(shape, low=-3.0, high=3.0, gap=0.03).map(
        lambda a: tg.Tensor(a, requires_grad=True)))
    return draw(S.tensors(shape)), x, axes


def _ref_normalize_grad(g, x, axes, eps=1e-5):
    xh = _normalize(x, axes, eps)
    s = 1.0 / np.sqrt(x.var(axis=axes, keepdims=True) + eps)
    return (g - g.mean(axis=axes, keepdims=True)
            - xh * (g * xh).mean(axis=axes, keepdims=True)) * s


def case(name, op, ref, *inputs, **options):
    return pytest.param(name, op, ref, inputs, options, id=name)


CASES = [
    # training-mode batch norm: the gradient flows through the batch statistics
    case("batch_norm", lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
         _ref_bn, bn_inputs()),
    case("layer_norm", lambda x, w, b: F.layer_norm(x, x.shape[-1:], w, b),
         lambda x, w, b: _normalize(x, (-1,)) * w + b, ln_inputs()),
    case("group_norm", lambda x, w, b: F.group_norm(x, 2, w, b), _ref_gn, gn_inputs()),
    # Normalize's gradient as one node: its own first and second derivatives (the third of
    # normalization) through g and x
    case("normalize_backward",
         lambda g, x, axes: NormalizeBackward.apply(g, x, axes=axes, eps=1e-5),
         _ref_normalize_grad, grad_inputs()),
    case("embedding", lambda w, idx: F.embedding(idx, w),
         lambda w, idx: w[idx],
         st.tuples(S.tensors((4, 3)), st.just(np.array([[0, 1, 3], [3, 3, 2]]))),
         out_shape=None),
]


@pytest.mark.parametrize("name, op, ref, inputs, options", CASES)
def test_op(name, op, ref, inputs, options):
    tg.testing.check_op(op, *inputs, ref=ref, name=name, **options)


def test_batch_norm_running_statistics_follow_pytorchs_formulas():
    rng = np.random.default_rng(0)
    for momentum in (0.1, None):
        bn = nn.BatchNorm2d(3, momentum=momentum, dtype=np.float64)
        mean, var = np.zeros(3), np.ones(3)
        for step in range(1, 4):
            x = rng.standard_normal((4, 3, 2, 5)) * step + step
            bn(tg.tensor(x))
            m = 0.1 if momentum is not None else 1.0 / step  # None: the cumulative average
            mean = (1 - m) * mean + m * x.mean(axis=(0, 2, 3))
            var = (1 - m) * var + m * x.var(axis=(0, 2, 3), ddof=1)  # unbiased, kept
            np.testing.assert_allclose(bn.running_mean.numpy(), mean, rtol=1e-13)
            np.testing.assert_allclose(bn.running_var.numpy(), var, rtol=1e-13)
            assert bn.num_batches_tracked.item() == step
        bn.eval()  # normalizes with the running statistics, and leaves them alone
        x = rng.standard_normal((2, 3, 2, 2))
        want = (x - mean.reshape(1, 3, 1, 1)) / np.sqrt(var.reshape(1, 3, 1, 1) + 1e-5)
        np.testing.assert_allclose(bn(tg.tensor(x)).numpy(), want, rtol=1e-12)
        assert bn.num_batches_tracked.item() == 3


def test_batch_norm_state_dict_has_pytorchs_keys_shapes_and_dtypes():
    sd = nn.BatchNorm2d(5).state_dict()
    assert [(k, v.shape, v.dtype) for k, v in sd.items()] == [
        ("weight", (5,), np.float32), ("bias", (5,), np.float32),
        ("running_mean", (5,), np.float32), ("running_var", (5,), np.float32),
        ("num_batches_tracked", (), np.int64)]
    assert list(nn.BatchNorm1d(4, affine=False).state_dict()) == [
        "running_mean", "running_var", "num_batches_tracked"]
    assert nn.BatchNorm1d(4, track_running_stats=False).state_dict().keys() == {"weight", "bias"}
    assert list(nn.LayerNorm((2, 3)).state_dict()) == ["weight", "bias"]
    assert nn.LayerNorm(3).weight.shape == (3,) and nn.GroupNorm(2, 6).bias.shape == (6,)
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2))
    assert list(model.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias",
                                        "1.running_mean", "1.running_var",
                                        "1.num_batches_tracked"]
    other = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2))
    model(tg.randn(2, 1, 4, 4))
    other.load_state_dict(model.state_dict())
    np.testing.assert_array_equal(other[1].running_mean.numpy(), model[1].running_mean.numpy())
    assert other[1].num_batches_tracked.item() == 1


def test_batch_norm_without_running_stats_uses_the_batch_in_eval_too():
    bn = nn.BatchNorm1d(2, track_running_stats=False, dtype=np.float64).eval()
    x = np.array([[1.0, 2.0], [3.0, 6.0]])
    np.testing.assert_allclose(bn(tg.tensor(x)).numpy(), _normalize(x, (0,)), rtol=1e-12)


def test_one_value_per_channel_is_refused_in_training_only():
    bn = nn.BatchNorm2d(3)
    with pytest.raises(ValueError, match=r"expected more than 1 value per channel when "
                                         r"training, got input of shape \(1, 3, 1, 1\)"):
        bn(tg.zeros(1, 3, 1, 1))
    bn(tg.randn(1, 3, 2, 2))  # one example with several pixels is fine
    bn.eval()(tg.zeros(1, 3, 1, 1))
    with pytest.raises(ValueError, match=r"BatchNorm1d: .* got input of shape \(1, 4\)"):
        nn.BatchNorm1d(4)(tg.zeros(1, 4))


@pytest.mark.parametrize("call, err, words", [
    (lambda: nn.BatchNorm2d(3)(tg.zeros(2, 4, 2, 2)), ValueError,
     r"BatchNorm2d: the input has 4 channels \(dim 1 of shape \(2, 4, 2, 2\)\) but "
     r"num_features=3"),
    (lambda: nn.BatchNorm2d(3)(tg.zeros(2, 3, 2)), ValueError, "expected an input of 4 dims"),
    (lambda: nn.LayerNorm((3, 4))(tg.zeros(2, 4, 3)), ValueError,
     r"LayerNorm: expected an input whose last 2 dims are \(3, 4\) \(normalized_shape\), "
     r"got shape \(2, 4, 3\)"),
    (lambda: nn.LayerNorm(0), ValueError, "normalized_shape must be a positive int"),
    (lambda: nn.GroupNorm(4, 6), ValueError, "num_groups=4 must divide num_channels=6"),
    (lambda: nn.GroupNorm(2, 6)(tg.zeros(2, 4, 3)), ValueError, r"expected an input \(N, 6"),
    (lambda: nn.BatchNorm1d(3, momentum=2.0), ValueError, "momentum must be in"),
    (lambda: nn.BatchNorm1d(3, eps=0), ValueError, "eps must be a number > 0"),
    (lambda: nn.Embedding(4, 2)(tg.tensor([0, 4])), IndexError, r"must lie in \[0, 4\)"),
    (lambda: nn.Embedding(4, 2)(tg.tensor([0.0, 1.0])), TypeError, r"call \.long\(\)"),
    (lambda: nn.Embedding(4, 2, padding_idx=5), ValueError, "padding_idx=5 must be within"),
])
def test_bad_arguments_are_clear_errors(call, err, words):
    with pytest.raises(err, match=words):
        call()


def test_embedding_padding_row_starts_at_zero_and_gets_no_gradient():
    emb = nn.Embedding(5, 3, padding_idx=2, dtype=np.float64)
    assert not emb.weight.numpy()[2].any()
    out = emb(tg.tensor([[2, 0], [2, 4]]))
    assert out.shape == (2, 2, 3)
    out.sum().backward()
    np.testing.assert_array_equal(emb.weight.grad.numpy()[:, 0], [1.0, 0.0, 0.0, 0.0, 1.0])
    assert list(emb.state_dict()) == ["weight"]


@given(st.sampled_from([(3, 2), (4, 3, 5), (2, 3, 2, 2), (5, 2, 1, 3), (1, 2, 1)]),
       st.sampled_from([np.float32, np.float64]), st.booleans(), st.integers(0, 2**16))
def test_batch_moments_are_np_mean_and_var_bit_for_bit(shape, dtype, channel_major, seed):
    # batch norm's running statistics: one op, the very bits of x.mean() and x.var(ddof=1)
    from tinygrad_reg.ops.normalization import moments_kernel

    x = (np.random.default_rng(seed).standard_normal(shape) * 3 + 1).astype(dtype)
    if channel_major and x.ndim > 2:  # laid out as a convolution leaves it
        x = np.moveaxis(np.ascontiguousarray(np.moveaxis(x, 0, -1)), -1, 0)
    axes = (0,) + tuple(range(2, x.ndim))
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # (one value per channel: nan)
        got = moments_kernel(x, axes)
        want_var = np.var(x, axis=axes, ddof=1)
    assert got.dtype == dtype and got.shape == (3, shape[1])
    assert got[0].tobytes() == np.mean(x, axis=axes).tobytes()
    assert np.array_equal(got[1], want_var, equal_nan=True)
    assert got[1].tobytes() == want_var.tobytes() or np.isnan(want_var).all()
    assert got[2].tobytes() == np.var(x, axis=axes).tobytes()  # (what batch norm divides by)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_normalize_gradient_of_a_constant_upstream_gradient_is_exactly_zero(dtype):
    # dx = (g - mean(g) - x̂ · mean(g · x̂)) / σ is 0 for a constant g; the rounded mean of x
    # must not leak into it (times 1/σ³), even for data far from zero
    x = (1000.0 + np.random.default_rng(0).standard_normal((4, 3, 5)) * 0.01).astype(dtype)
    g = np.full_like(x, 2.0)
    dx = NormalizeBackward.apply(tg.tensor(g), tg.tensor(x), axes=(0, 2), eps=1e-5).numpy()
    assert dx.dtype == dtype and not dx.any()


def _channel_major(x):
    """x (N, C, H, W) through a 1×1 identity convolution: the same values, laid out
    channel-major (C, H, W, N) as a convolution leaves them, so batch norm takes its row paths
    (a channel's block contiguous: tinygrad_reg.ops.normalization._rows)."""
    c = x.shape[1]
    return F.conv2d(x, tg.tensor(np.eye(c, dtype=x.dtype).reshape(c, c, 1, 1)))


@st.composite
def bn4_inputs(draw):
    shape = draw(st.sampled_from([(2, 2, 2, 3), (3, 2, 1, 2), (2, 3, 2, 2)]))
    x = draw(S.distinct_arrays(shape, low=-3.0, high=3.0, gap=0.03).map(
        lambda a: tg.Tensor(a, requires_grad=True)))
    c = shape[1]
    return x, draw(S.tensors((c,), low=0.5, high=2.0)), draw(S.tensors((c,)))


def _bn_running(x, w, b):
    c = x.shape[1]
    rm, rv = tg.tensor(np.zeros(c, x.dtype)), tg.tensor(np.ones(c, x.dtype))
    return F.batch_norm(x, rm, rv, w, b, training=True)


@pytest.mark.parametrize("block", [None, 1])
@pytest.mark.parametrize("layout", ["C", "channel-major"])
def test_batch_norm_with_running_statistics_every_layout_and_block(layout, block, monkeypatch):
    # the training path with running statistics (the normalization reads BatchMoments'
    # statistics), in either layout: channel-major data takes the row paths, run block by
    # block of rows (one row per block with block=1); first and second derivatives
    from tinygrad_reg.ops import normalization

    if block is not None:
        monkeypatch.setattr(normalization, "_BLOCK", block)
    op = _bn_running if layout == "C" else (  # (the gradient coming back channel-major too)
        lambda x, w, b: _channel_major(_bn_running(_channel_major(x), w, b)))
    tg.testing.check_op(op, bn4_inputs(), ref=_ref_bn, name=f"batch_norm {layout}",
                        max_examples=15)


def test_batch_norm_row_blocks_give_the_same_bits(monkeypatch):
    # the blocks are a matter of speed: any block size gives the very bits of one block
    from tinygrad_reg.ops import normalization, windows

    rng = np.random.default_rng(0)
    x = windows.from_cm((rng.standard_normal((5, 3, 4, 6)) * 2 + 1).astype(np.float32))
    g = windows.from_cm(rng.standard_normal((5, 3, 4, 6)).astype(np.float32))
    axes = (0, 2, 3)

    def run():
        m = normalization.moments_kernel(x, axes)
        y, _, inv = normalization.normalize_kernel(x, axes, 1e-5, moments=m)
        return m, y, normalization.normalize_grad_from_output(g, y, axes, inv)

    whole = run()
    monkeypatch.setattr(normalization, "_BLOCK", 1)
    for a, b in zip(whole, run()):
        assert a.tobytes() == b.tobytes()
    assert whole[0][0].tobytes() == np.mean(x, axis=axes).tobytes()
    assert whole[0][2].tobytes() == np.var(x, axis=axes).tobytes()


@pytest.mark.parametrize("layout", ["C", "channel-major"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_batch_norm_gradient_of_a_constant_upstream_gradient_is_exactly_zero(layout, dtype):
    # the gradient from the saved x̂: Σ g·x̂ - mean(g)·Σ x̂ cancels exactly for a constant g
    # (here 1, so that g·x̂ is exact, as NormalizeBackward's own test has 2): the rounded mean
    # of x does not leak into dx, in either layout
    x0 = (1000.0 + np.random.default_rng(0).standard_normal((4, 3, 5, 2)) * 0.01).astype(dtype)
    x = tg.tensor(x0, requires_grad=True)
    w, b = tg.tensor(np.full(3, 0.5, dtype)), tg.tensor(np.zeros(3, dtype))
    h = x if layout == "C" else _channel_major(x)
    y = _bn_running(h, w, b)
    if layout != "C":
        y = _channel_major(y)
    (y * 2.0).sum().backward()
    assert x.grad.dtype == dtype and not x.grad.numpy().any()


def test_batch_norm_affine_node_exports_to_onnx(tmp_path):
    # batch norm without running statistics normalizes with the batch's in eval mode too,
    # through the affine node (ChannelAffine: Mul and Add of the reshaped weight and bias)
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    tg.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3, track_running_stats=False))
    with tg.no_grad():  # (a weight and a bias that show: not PyTorch's ones and zeros)
        model[1].weight.mul_(tg.tensor([0.5, 2.0, -1.0]))
        model[1].bias.add_(tg.tensor([0.25, -1.5, 3.0]))
    model.eval()
    x = tg.tensor(np.random.default_rng(0).standard_normal((4, 2, 6, 6)).astype(np.float32))
    path = str(tmp_path / "bn.onnx")
    tg.onnx.export(model, x, path)
    sess = ort.InferenceSession(path)
    got = sess.run(None, {sess.get_inputs()[0].name: x.numpy()})[0]
    np.testing.assert_allclose(got, model(x).numpy(), rtol=1e-5, atol=1e-5)

