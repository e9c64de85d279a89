"""Property tests for the activations: one case per op, each run through the public
``tg.testing.check_op`` against a numpy reference."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import strategies as st

import tinygrad_reg as tg
from tinygrad_reg.nn import functional as F
from tinygrad_reg.testing import strategies as S

_SELU_ALPHA, _SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
_erf = np.vectorize(math.erf, otypes=[np.float64])


@st.composite
def along_axis(draw):
    """(x, axis): a tensor of at least one dim and a (possibly negative) axis of it."""
    x = draw(S.tensors(S.shapes(min_dims=1), low=-5.0, high=5.0))
    return x, draw(st.integers(-x.ndim, x.ndim - 1))


def _softmax(x, axis):
    e = np.exp(x)
    return e / e.sum(axis=axis, keepdims=True)


def _log_softmax(x, axis):
    return x - np.log(np.exp(x).sum(axis=axis, keepdims=True))


def case(name, op, ref, *inputs, **options):
    return pytest.param(name, op, ref, inputs, options, id=name)


CASES = [
    case("relu", tg.relu, lambda x: np.maximum(x, 0.0), S.tensors(avoid=[0.0])),  # the kink
    case("sigmoid", tg.sigmoid, lambda x: 1.0 / (1.0 + np.exp(-x)),
         S.tensors(low=-6.0, high=6.0)),
    case("tanh", tg.tanh, np.tanh, S.tensors()),
    case("softmax", lambda x, axis: x.softmax(axis), _softmax, along_axis()),
    case("softmin", lambda x, axis: F.softmin(x, axis), lambda x, axis: _softmax(-x, axis),
         along_axis()),
    case("Softmin", lambda x, axis: tg.nn.Softmin(axis)(x), lambda x, axis: _softmax(-x, axis),
         along_axis()),
    case("log_softmax", lambda x, axis: x.log_softmax(axis), _log_softmax, along_axis()),
    case("softmax_0d", lambda x: x.softmax(), lambda x: np.ones_like(x),
         S.tensors(shape=())),
    case("leaky_relu", lambda x: F.leaky_relu(x, 0.1), lambda x: np.where(x > 0, x, 0.1 * x),
         S.tensors(avoid=[0.0])),
    case("elu", lambda x: F.elu(x, 1.5), lambda x: np.where(x > 0, x, 1.5 * np.expm1(x)),
         S.tensors(avoid=[0.0])),
    case("celu", lambda x: F.celu(x, 0.7),
         lambda x: np.maximum(x, 0) + np.minimum(0, 0.7 * np.expm1(x / 0.7)),
         S.tensors(avoid=[0.0])),
    case("selu", F.selu, lambda x: _SELU_SCALE * np.where(x > 0, x, _SELU_ALPHA * np.expm1(x)),
         S.tensors(avoid=[0.0])),
    case("gelu", F.gelu, lambda x: 0.5 * x * (1 + _erf(x / np.sqrt(2))), S.tensors()),
    case("gelu_tanh", lambda x: F.gelu(x, approximate="tanh"),
         lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3))),
         S.tensors()),
    case("silu", F.silu, lambda x: x / (1 + np.exp(-x)), S.tensors()),
    case("mish", F.mish, lambda x: x * np.tanh(np.log1p(np.exp(x))), S.tensors()),
    case("softplus", lambda x: F.softplus(x, beta=2.0, threshold=4.0),
         lambda x: np.where(2 * x > 4, x, np.log1p(np.exp(2 * x)) / 2),
         S.tensors(avoid=[2.0])),  # the switch to the linear tail at beta·x = threshold
    case("softsign", F.softsign, lambda x: x / (1 + np.abs(x)), S.tensors(avoid=[0.0])),
    case("hardtanh", lambda x: F.hardtanh(x, -0.5, 1.0), lambda x: np.clip(x, -0.5, 1.0),
         S.tensors(avoid=[-0.5, 1.0])),
    case("relu6", F.relu6, lambda x: np.clip(x, 0, 6), S.tensors(avoid=[0.0, 6.0], high=8.0)),
    case("hardsigmoid", F.hardsigmoid, lambda x: np.clip(x / 6 + 0.5, 0, 1),
         S.tensors(avoid=[-3.0, 3.0], low=-5.0, high=5.0)),
    case("hardswish", F.hardswish, lambda x: x * np.clip(x / 6 + 0.5, 0, 1),
         S.tensors(avoid=[-3.0, 3.0], low=-5.0, high=5.0)),
    case("logsigmoid", F.logsigmoid, lambda x: -np.log1p(np.exp(-x)), S.tensors()),
]


@pytest.mark.parametrize("name, op, ref, inputs, options", CASES)
def test_op(name, op, ref, inputs, options):
    tg.testing.check_op(op, *inputs, ref=ref, name=name, **options)

# -- exact values at the kinks, pinned from PyTorch 2.13 (float64) ----------------------------

def t64(values, grad=True):
    return tg.Tensor(np.array(values, dtype=np.float64), requires_grad=grad)


def grad_of(fn, values):
    x = t64(values)
    out = fn(x)
    out.sum().backward()
    return out.numpy(), x.grad.numpy()


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


def test_softmax_of_a_scalar_is_one_with_zero_gradient():
    x = t64(2.5)
    for fn, want in ((tg.softmax, 1.0), (tg.log_softmax, 0.0)):
        y = fn(x)
        assert y.shape == () and y.item() == want
        (g,) = tg.grad(y, x)
        assert g.item() == 0.0



def test_sigmoid_and_tanh_of_integers_give_float32_as_pytorch():
    x = tg.tensor([-2, 0, 3])
    # values from PyTorch 2.13: torch.sigmoid / torch.tanh of tensor([-2, 0, 3]) (float32)
    for fn, want in ((tg.sigmoid, [0.11920292, 0.5, 0.95257413]),
                     (tg.tanh, [-0.9640276, 0.0, 0.9950548])):
        y = fn(x)
        assert y.dtype == np.float32
        if fn is tg.tanh:
            assert y.numpy().tobytes() == np.array(want, np.float32).tobytes()
        else:  # PyTorch's own float32 sigmoid is not correctly rounded: it and ours, the
            # float32 1 / (1 + exp(-x)), differ by an ulp or two on a sixth of all values
            # (at -2 here: ours 0.11920293)
            np.testing.assert_allclose(y.numpy(), want, rtol=2.5e-7, atol=0)
            assert y.numpy().tolist() == (1 / (1 + np.exp(-np.float32([-2, 0, 3])))).tolist()


def test_sigmoid_far_from_zero_neither_overflows_nor_warns():
    big = [-1000.0, -100.0, -20.0, 20.0, 100.0, 1000.0]
    # values from PyTorch 2.13: torch.sigmoid of these, float64
    want = [0.0, 3.7200759760208356e-44, 2.0611536181902037e-09, 0.9999999979388463, 1.0, 1.0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y64 = tg.sigmoid(tg.tensor(big, dtype=tg.float64)).numpy()
        y32 = tg.sigmoid(tg.tensor(big, dtype=tg.float32)).numpy()
    np.testing.assert_allclose(y64, want, rtol=1e-15, atol=0)  # (ours: exp(-100) there)
    # float32, as PyTorch: [0.0, 0.0, 2.06115369216775e-09, 1.0, 1.0, 1.0] (0.0 at -100,
    # where e^100 overflows; the true value, 3.7e-44, is a subnormal)
    assert y32[[0, 1, 3, 4, 5]].tolist() == [0.0, 0.0, 1.0, 1.0, 1.0]
    np.testing.assert_allclose(y32[2], 2.06115369216775e-09, rtol=1e-6, atol=0)


def test_gelu_float32_kernels_match_float64_to_float32_accuracy():
    # float32 has kernels of its own (erf in float32, GELU's gradient in one node): forward
    # and gradient against the float64 formula, within a few float32 ulps of the values
    x64 = np.concatenate([np.linspace(-6, 6, 4001), [-30.0, -0.0, 1e-20, 30.0]])
    g64 = np.random.default_rng(0).uniform(0.5, 2.0, x64.size)
    x = tg.tensor(x64.astype(np.float32), requires_grad=True)
    out = F.gelu(x)
    out.backward(tg.tensor(g64.astype(np.float32)))
    xr = x64.astype(np.float32).astype(np.float64)
    cdf = 0.5 * (1 + _erf(xr / math.sqrt(2)))
    want = xr * cdf
    pdf = np.exp(-xr * xr / 2) / math.sqrt(2 * math.pi)
    want_grad = g64.astype(np.float32) * (cdf + xr * pdf)
    assert out.dtype == tg.float32 and x.grad.dtype == tg.float32
    # absolute slack: the 1 + erf cancellation far left (PyTorch's too, see GELU)
    np.testing.assert_allclose(out.numpy(), want, rtol=2e-6, atol=3e-7)
    np.testing.assert_allclose(x.grad.numpy(), want_grad, rtol=2e-6, atol=3e-7)
    assert out.numpy()[-4] == 0.0 and out.numpy()[-1] == 30.0
    assert x.grad.numpy()[-1] == np.float32(g64[-1])


def test_gelu_float32_kernel_on_a_dense_grid_and_at_the_ends():
    # every 4099th float32 of [0, 12] and its negative (about 530,000 values): Φ(x) within
    # 1.5e-7 of the float64 value, x·Φ(x) within 1.8e-7 + 1.2e-6·|value| (0.6 of the
    # tolerance above); from x = 6 on, x·Φ(x) is x; far left -0; no overflow warning for
    # huge |x| (x² and the polynomial overflow to inf inside, which tanh takes to ±1)
    from tinygrad_reg.ops.activation import _gelu_kernel

    bits = np.arange(0, np.array(12.0, np.float32).view(np.int32), 4099, dtype=np.int32)
    x = np.concatenate([bits.view(np.float32), -bits.view(np.float32)])
    out, cdf = _gelu_kernel(x)
    xr = x.astype(np.float64)
    want_cdf = 0.5 * (1 + _erf(xr / math.sqrt(2)))
    assert np.abs(cdf - want_cdf).max() <= 1.5e-7
    np.testing.assert_allclose(out, xr * want_cdf, rtol=1.2e-6, atol=1.8e-7)
    far = np.array([6.0, 7.5, 40.0, 1e10, 1e30, 3e38, np.inf], np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        right, cdf_right = _gelu_kernel(far)
        left, cdf_left = _gelu_kernel(-far[1:-1])
    np.testing.assert_array_equal(right, far)
    assert cdf_right.tolist() == [1.0] * 7 and cdf_left.tolist() == [0.0] * 5
    assert left.tolist() == [0.0] * 5 and np.signbit(left).all()
    special, _ = _gelu_kernel(np.array([np.nan, 0.0, -0.0], np.float32))
    assert np.isnan(special[0]) and special[1] == 0 and np.signbit(special[2])


def test_gelu_backward_node_is_twice_differentiable_in_float32_too():
    x = tg.tensor(np.array([-1.5, 0.3, 2.0], np.float32), requires_grad=True)
    (gx,) = tg.autograd.grad(F.gelu(x).sum(), [x], create_graph=True)
    (gxx,) = tg.autograd.grad(gx.sum(), [x])
    xr = x.numpy().astype(np.float64)
    pdf = np.exp(-xr * xr / 2) / math.sqrt(2 * math.pi)
    np.testing.assert_allclose(gxx.numpy(), pdf * (2 - xr * xr), rtol=1e-6)


def test_sigmoid_and_its_gradient_by_blocks_give_the_same_bits(monkeypatch):
    # large arrays run the passes block by block (numerics.BLOCK elements, in memory order,
    # any one layout); a small block makes these arrays large: the same bits as whole
    from tinygrad_reg.ops import numerics

    rng = np.random.default_rng(0)
    x = np.moveaxis(rng.standard_normal((3, 5, 7, 4)) * 4, 0, -1)  # (a transposed layout)
    g = np.moveaxis(rng.standard_normal((3, 5, 7, 4)), 0, -1)
    y = numerics.sigmoid(x)
    whole = (y, numerics.sigmoid_grad(g, y), numerics.sigmoid_grad(g, y, np.empty_like(g),
                                                                    np.empty_like(g)))
    monkeypatch.setattr(numerics, "BLOCK", 16)
    y2 = numerics.sigmoid(x)
    blocks = (y2, numerics.sigmoid_grad(g, y2), numerics.sigmoid_grad(g, y2, np.empty_like(g),
                                                                      np.empty_like(g)))
    for a, b in zip(whole, blocks):
        assert a.tobytes() == b.tobytes() and a.strides == b.strides
    tg.testing.check_op(tg.sigmoid, S.tensors((5, 13)), ref=lambda v: 1 / (1 + np.exp(-v)),
                        name="sigmoid by blocks", max_examples=20)


def _softmax_ref(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _ce(x, f):
    """Cross-entropy of x's rows against targets 0, 1, 2, ... (mod the width): by ``f`` on
    a Tensor, or in numpy (f None)."""
    c = x.shape[-1]
    rows = x.reshape(-1, c)
    y = np.arange(rows.shape[0]) % c
    if f is not None:
        return f(rows, tg.tensor(y))
    return np.asarray(-np.mean(np.log(_softmax_ref(rows, -1))[np.arange(rows.shape[0]), y]))


# wide rows (8 or more along the last axis) take the tree maximum and the BLAS row sum
_WIDE = S.tensors(st.sampled_from([(2, 9), (3, 16), (1, 2, 33)]))


@pytest.mark.parametrize("name,op,ref", [
    ("softmax_wide", lambda x: F.softmax(x, -1), lambda x: _softmax_ref(x, -1)),
    ("log_softmax_wide", lambda x: F.log_softmax(x, -1),
     lambda x: np.log(_softmax_ref(x, -1))),
    ("cross_entropy_wide", lambda x: _ce(x, F.cross_entropy), lambda x: _ce(x, None)),
])
def test_softmax_family_over_wide_rows(name, op, ref):
    tg.testing.check_op(op, _WIDE, ref=ref, out_shape=None, name=name)
