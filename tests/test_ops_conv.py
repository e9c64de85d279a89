"""Convolution and pooling: first- and second-order property tests over random shapes,
strides, paddings, dilations and groups (through ``tg.testing.check_op``, against loop-based
numpy references written here), the tie convention of max pooling, and the errors."""

from __future__ import annotations

import itertools
import os

import numpy as np
import pytest
from hypothesis import strategies as st

import tinygrad_reg as tg
from tinygrad_reg.nn import functional as F
from tinygrad_reg.testing import strategies as S

# -- loop-based references (obviously right, slow, small inputs only) -----------------------------

def ref_conv(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    d = w.ndim - 2
    stride, dilation = _pair(stride, d), _pair(dilation, d)
    if padding == "same":
        total = [dl * (k - 1) for k, dl in zip(w.shape[2:], dilation)]
        pads = [(t // 2, t - t // 2) for t in total]
    elif padding == "valid":
        pads = [(0, 0)] * d
    else:
        pads = [(p, p) for p in _pair(padding, d)]
    xp = np.pad(x, [(0, 0), (0, 0)] + pads)
    n, c = x.shape[:2]
    o = w.shape[0]
    cg, og = c // groups, o // groups
    out_sp = [(xp.shape[2 + i] - dilation[i] * (w.shape[2 + i] - 1) - 1) // stride[i] + 1
              for i in range(d)]
    y = np.zeros((n, o, *out_sp))
    for oc in range(o):
        g = oc // og
        for pos in itertools.product(*[range(s) for s in out_sp]):
            for k in itertools.product(*[range(s) for s in w.shape[2:]]):
                idx = tuple(p * st + kk * dl for p, st, kk, dl in zip(pos, stride, k, dilation))
                patch = xp[(slice(None), slice(g * cg, (g + 1) * cg)) + idx]
                y[(slice(None), oc) + pos] += patch @ w[(oc, slice(None)) + k]
    if b is not None:
        y += b.reshape((1, -1) + (1,) * d)
    return y


def ref_conv_transpose(x, w, b=None, stride=1, padding=0, output_padding=0, groups=1,
                       dilation=1):
    """y[n, c, i·s + k·dl - p] += x[n, o, i] · w[o, c, k], the adjoint of ref_conv."""
    d = w.ndim - 2
    stride, dilation = _pair(stride, d), _pair(dilation, d)
    padding, extra = _pair(padding, d), _pair(output_padding, d)
    n, cin = x.shape[:2]
    cg_out = w.shape[1]
    og = cin // groups
    full = [(i - 1) * s + dl * (k - 1) + 1 + e for i, s, dl, k, e in
            zip(x.shape[2:], stride, dilation, w.shape[2:], extra)]
    y = np.zeros((n, cg_out * groups, *full))
    for o in range(cin):
        g = o // og
        for pos in itertools.product(*[range(s) for s in x.shape[2:]]):
            for k in itertools.product(*[range(s) for s in w.shape[2:]]):
                idx = tuple(p * st + kk * dl for p, st, kk, dl in zip(pos, stride, k, dilation))
                y[(slice(None), slice(g * cg_out, (g + 1) * cg_out)) + idx] += (
                    x[(slice(None), o) + pos][:, None] * w[(o, slice(None)) + k])
    y = y[(Ellipsis,) + tuple(slice(p, f - p) for p, f in zip(padding, full))]
    if b is not None:
        y += b.reshape((1, -1) + (1,) * d)
    return y


def _pair(v, d):
    return (v,) * d if isinstance(v, int) else tuple(v)


def ref_pool(x, kind, kernel, stride=None, padding=0, dilation=1, ceil_mode=False,
             count_include_pad=True):
    d = x.ndim - 2
    kernel = _pair(kernel, d)
    stride = kernel if stride is None else _pair(stride, d)
    padding, dilation = _pair(padding, d), _pair(dilation, d)
    out_sp = []
    for n, k, s, p, dl in zip(x.shape[2:], kernel, stride, padding, dilation):
        span = dl * (k - 1) + 1
        o = (-(-(n + 2 * p - span) // s) if ceil_mode else (n + 2 * p - span) // s) + 1
        if ceil_mode and (o - 1) * s >= n + p:
            o -= 1
        out_sp.append(o)
    y = np.zeros(x.shape[:2] + tuple(out_sp))
    for pos in itertools.product(*[range(o) for o in out_sp]):
        vals, inside, padded = [], 0, 0
        for k in itertools.product(*[range(kk) for kk in kernel]):
            idx = [p * s + kk * dl - pd for p, s, kk, dl, pd in
                   zip(pos, stride, k, dilation, padding)]
            if all(0 <= i < n for i, n in zip(idx, x.shape[2:])):
                vals.append(x[(slice(None), slice(None)) + tuple(idx)])
                inside += 1
            if all(-pd <= i < n + pd for i, n, pd in zip(idx, x.shape[2:], padding)):
                padded += 1
        stack = np.stack(vals, -1)
        if kind == "max":
            y[(Ellipsis,) + pos] = stack.max(-1)
        else:
            y[(Ellipsis,) + pos] = stack.sum(-1) / (padded if count_include_pad else inside)
    return y


FEW = None if os.environ.get("HYPOTHESIS_PROFILE") == "deep" else 10  # (the 3-d cases)

# -- strategies ------------------------------------------------------------------------------------

@st.composite
def conv_inputs(draw, d=2, bias=True):
    """(x, w, b, stride, padding, dilation, groups) that make a valid convolution."""
    groups = draw(st.integers(1, 2))
    cg, og = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(d))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(d))
    stride = tuple(draw(st.integers(1, 2)) for _ in range(d))
    padding = draw(st.one_of(st.sampled_from(["valid", "same"]) if all(s == 1 for s in stride)
                             else st.just("valid"), st.integers(0, 2)))
    if padding == "valid":
        pad_total = [0] * d
    elif padding == "same":
        pad_total = [dl * (k - 1) for k, dl in zip(kernel, dilation)]
    else:
        pad_total = [2 * padding] * d
    sizes = tuple(draw(st.integers(max(1, dl * (k - 1) + 1 - pt), dl * (k - 1) + 3))
                  for k, dl, pt in zip(kernel, dilation, pad_total))
    n = draw(st.integers(1, 2))
    x = draw(S.tensors((n, groups * cg) + sizes))
    w = draw(S.tensors((groups * og, cg) + kernel))
    b = draw(S.tensors((groups * og,))) if bias and draw(st.booleans()) else None
    return x, w, b, stride, padding, dilation, groups


@st.composite
def conv_transpose_inputs(draw, d=2):
    """(x, w, b, stride, padding, output_padding, groups, dilation) of a valid transposed
    convolution."""
    groups = draw(st.integers(1, 2))
    cg, og = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(d))
    stride = tuple(draw(st.integers(1, 2)) for _ in range(d))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(d))
    extra = tuple(draw(st.integers(0, max(s, dl) - 1)) for s, dl in zip(stride, dilation))
    sizes = tuple(draw(st.integers(1, 3)) for _ in range(d))
    full = [(i - 1) * s + dl * (k - 1) + 1 + e for i, s, dl, k, e in
            zip(sizes, stride, dilation, kernel, extra)]
    padding = tuple(draw(st.integers(0, max(0, (f - 1) // 2))) for f in full)
    x = draw(S.tensors((draw(st.integers(1, 2)), groups * cg) + sizes))
    w = draw(S.tensors((groups * cg, og) + kernel))
    b = draw(S.tensors((groups * og,))) if draw(st.booleans()) else None
    return x, w, b, stride, padding, extra, groups, dilation


def _conv_op(d):
    fn = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[d]
    return lambda x, w, b, s, p, dl, g: fn(x, w, b, s, p, dl, g)


def _ref_conv(x, w, b, s, p, dl, g):
    return ref_conv(x, w, b, s, p, dl, g)


@st.composite
def pool_inputs(draw, d=2, kind="max"):
    """(x, kernel, stride, padding, dilation, ceil_mode[, count_include_pad]); max pooling
    gets pairwise distinct values (ties are pinned by exact tests)."""
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(d))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(d))
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(d)) if kind == "max" else (1,) * d
    # at least the kernel's span: a dilated window could otherwise hold only padding (-inf,
    # in PyTorch too)
    sizes = tuple(draw(st.integers(dl * (k - 1) + 1, dl * (k - 1) + 4))
                  for k, dl in zip(kernel, dilation))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) + sizes
    if kind == "max":
        gap = min(0.01, 3.0 / int(np.prod(shape)))  # (large 3-d inputs: closer values)
        x = draw(S.distinct_arrays(shape, low=-4.0, high=4.0, gap=gap).map(
            lambda a: tg.Tensor(a, requires_grad=True)))
        return x, kernel, stride, padding, dilation, draw(st.booleans())
    x = draw(S.tensors(shape))
    return x, kernel, stride, padding, draw(st.booleans()), draw(st.booleans())


@st.composite
def unpool_inputs(draw):
    """(values, indices) as max_pool2d(kernel 2, return_indices=True) gives them."""
    x = draw(S.distinct_arrays((1, 2, 4, 4)))
    _, idx = F.max_pool2d(tg.Tensor(x), 2, return_indices=True)
    return draw(S.tensors((1, 2, 2, 2))), idx


def _ref_unpool(v, idx):
    out = np.zeros((1, 2, 16))
    np.put_along_axis(out, idx.reshape(1, 2, -1), v.reshape(1, 2, -1), axis=2)
    return out.reshape(1, 2, 4, 4)


def case(name, op, ref, *inputs, **options):
    return pytest.param(name, op, ref, inputs, options, id=name)


CASES = [
    case("conv2d", _conv_op(2), _ref_conv, conv_inputs(2), out_shape=None),
    case("conv1d", _conv_op(1), _ref_conv, conv_inputs(1), out_shape=None),
    case("max_pool2d", lambda x, k, s, p, dl, c: F.max_pool2d(x, k, s, p, dl, c),
         lambda x, k, s, p, dl, c: ref_pool(x, "max", k, s, p, dl, c), pool_inputs(2),
         out_shape=None),
    case("max_pool1d", lambda x, k, s, p, dl, c: F.max_pool1d(x, k, s, p, dl, c),
         lambda x, k, s, p, dl, c: ref_pool(x, "max", k, s, p, dl, c), pool_inputs(1),
         out_shape=None),
    case("avg_pool2d", lambda x, k, s, p, c, i: F.avg_pool2d(x, k, s, p, c, i),
         lambda x, k, s, p, c, i: ref_pool(x, "avg", k, s, p, 1, c, i),
         pool_inputs(2, "avg"), out_shape=None),
    case("avg_pool1d", lambda x, k, s, p, c, i: F.avg_pool1d(x, k, s, p, c, i),
         lambda x, k, s, p, c, i: ref_pool(x, "avg", k, s, p, 1, c, i),
         pool_inputs(1, "avg"), out_shape=None),
    case("conv3d", _conv_op(3), _ref_conv, conv_inputs(3), out_shape=None, max_examples=FEW),
    case("conv_transpose2d", lambda *a: F.conv_transpose2d(*a), ref_conv_transpose,
         conv_transpose_inputs(2), out_shape=None),
    case("conv_transpose1d", lambda *a: F.conv_transpose1d(*a), ref_conv_transpose,
         conv_transpose_inputs(1), out_shape=None),
    case("conv_transpose3d", lambda *a: F.conv_transpose3d(*a), ref_conv_transpose,
         conv_transpose_inputs(3), out_shape=None, max_examples=FEW),
    case("max_pool3d", lambda x, k, s, p, dl, c: F.max_pool3d(x, k, s, p, dl, c),
         lambda x, k, s, p, dl, c: ref_pool(x, "max", k, s, p, dl, c), pool_inputs(3),
         out_shape=None, max_examples=FEW),
    case("avg_pool3d", lambda x, k, s, p, c, i: F.avg_pool3d(x, k, s, p, c, i),
         lambda x, k, s, p, c, i: ref_pool(x, "avg", k, s, p, 1, c, i),
         pool_inputs(3, "avg"), out_shape=None, max_examples=FEW),
    case("max_unpool2d", lambda v, i: F.max_unpool2d(v, i, 2), _ref_unpool, unpool_inputs(),
         out_shape=None),
    case("adaptive_avg_pool2d", lambda x, size: F.adaptive_avg_pool2d(x, size),
         lambda x, size: _ref_adaptive(x, size),
         S.tensors((2, 2, 5, 4)).flatmap(lambda x: st.tuples(
             st.just(x), st.sampled_from([1, 2, (3, 2), (5, 4), (2, 3)])))
         , out_shape=None),
]


def _ref_adaptive(x, size):
    oh, ow = (size, size) if isinstance(size, int) else size
    h, w = x.shape[2:]
    out = np.zeros(x.shape[:2] + (oh, ow))
    for i in range(oh):
        for j in range(ow):
            r0, r1 = (i * h) // oh, -(-((i + 1) * h) // oh)
            c0, c1 = (j * w) // ow, -(-((j + 1) * w) // ow)
            out[:, :, i, j] = x[:, :, r0:r1, c0:c1].mean(axis=(2, 3))
    return out


@pytest.mark.parametrize("name, op, ref, inputs, options", CASES)
def test_op(name, op, ref, inputs, options):
    tg.testing.check_op(op, *inputs, ref=ref, name=name, **options)


# -- conventions and exact values ---------------------------------------------------------------

def test_max_pool_splits_a_tie_within_a_window_and_sums_over_windows():
    x = tg.Tensor(np.array([[[[1.0, 1.0, 0.0],
                              [0.0, 0.0, 0.0],
                              [0.0, 0.0, 2.0]]]]), requires_grad=True)
    y = F.max_pool2d(x, 2, stride=1)  # 4 overlapping 2x2 windows
    np.testing.assert_array_equal(y.numpy()[0, 0], [[1.0, 1.0], [0.0, 2.0]])
    y.sum().backward()
    # window (0,0): two tied 1s share 1; window (0,1): the 1 at (0,1) wins alone; window
    # (1,0): four tied 0s share 1; window (1,1): the 2 wins
    np.testing.assert_array_equal(x.grad.numpy()[0, 0], [[0.5, 1.5, 0.0],
                                                      [0.25, 0.25, 0.0],
                                                      [0.25, 0.25, 1.0]])


def test_conv_second_derivative_mixes_input_and_weight():
    # y = Σ conv(x, w): d²y/dx dw is the constant 1 pattern of the windows; checked on a case
    # small enough to count by hand: one 2x2 kernel over a 3x3 input gives 4 windows, so
    # d/dw_ij of dy/dx_kl = the number of windows where x_kl meets w_ij (0 or 1)
    x = tg.Tensor(np.zeros((1, 1, 3, 3)), requires_grad=True)
    w = tg.Tensor(np.zeros((1, 1, 2, 2)), requires_grad=True)
    (gx,) = tg.grad(F.conv2d(x, w).sum(), x, create_graph=True)
    (gw,) = tg.grad(gx[0, 0, 1, 1], w, retain_graph=True)  # the centre meets every entry once
    np.testing.assert_array_equal(gw.numpy()[0, 0], np.ones((2, 2)))
    (gw,) = tg.grad(gx[0, 0, 0, 0], w)  # the corner meets only w[0, 0]
    np.testing.assert_array_equal(gw.numpy()[0, 0], [[1.0, 0.0], [0.0, 0.0]])


def test_padding_modes_of_the_module():
    x = tg.Tensor(np.arange(16.0).reshape(1, 1, 4, 4))
    for mode, np_mode in (("reflect", "reflect"), ("replicate", "edge"), ("circular", "wrap")):
        conv = tg.nn.Conv2d(1, 1, 3, padding=1, padding_mode=mode, bias=False, dtype=np.float64)
        want = ref_conv(np.pad(x.numpy(), [(0, 0), (0, 0), (1, 1), (1, 1)], mode=np_mode),
                        conv.weight.numpy())
        np.testing.assert_allclose(conv(x).numpy(), want, rtol=1e-12)


# -- errors ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("call, words", [
    (lambda: F.conv2d(tg.zeros(1, 3, 5, 5), tg.zeros(4, 2, 3, 3)),
     r"conv2d: the input has 3 channels but the weight of shape \(4, 2, 3, 3\) expects 2"),
    (lambda: F.conv2d(tg.zeros(1, 2, 2, 2), tg.zeros(4, 2, 3, 3)),
     r"conv2d: the kernel \(3, 3\) .* is larger than the padded input \(2, 2\)"),
    (lambda: F.conv2d(tg.zeros(1, 2, 5, 5), tg.zeros(4, 2, 3, 3), stride=0),
     "conv2d: stride must be >= 1, got 0"),
    (lambda: F.conv2d(tg.zeros(1, 2, 5, 5), tg.zeros(4, 2, 3, 3), dilation=(1, -1)),
     r"conv2d: dilation must be >= 1, got \(1, -1\)"),
    (lambda: F.conv2d(tg.zeros(1, 3, 5, 5), tg.zeros(4, 1, 3, 3), groups=2),
     "conv2d: groups=2 must divide both the input's 3 channels and the 4 output channels"),
    (lambda: F.conv2d(tg.zeros(5, 5), tg.zeros(4, 3, 3, 3)),
     r"conv2d: expected an input of 4 dims \(N, C, H, W\) or 3 .*, got shape \(5, 5\)"),
    (lambda: F.conv2d(tg.zeros(1, 2, 5, 5), tg.zeros(4, 2, 3, 3), stride=2, padding="same"),
     "padding='same' needs stride 1"),
    (lambda: F.conv2d(tg.zeros(1, 2, 5, 5), tg.zeros(4, 2, 3, 3), tg.zeros(3)),
     r"conv2d: bias must have shape \(4,\), got \(3,\)"),
    (lambda: F.max_pool2d(tg.zeros(1, 1, 2, 2), 3), r"max_pool2d: the kernel \(3, 3\)"),
    (lambda: F.max_pool2d(tg.zeros(1, 1, 4, 4), 2, padding=2),
     "padding .* must be at most half the kernel"),
    (lambda: F.avg_pool2d(tg.zeros(1, 1, 4, 4), 0), "kernel_size must be >= 1"),
    (lambda: tg.nn.Conv2d(3, 4, 3, groups=2), "groups=2 must divide in_channels=3"),
    (lambda: tg.nn.Conv2d(3, 4, 3)(tg.zeros(1, 2, 5, 5)),
     r"^Conv2d: the input has 2 channels but the weight of shape \(4, 3, 3, 3\)"),
    (lambda: tg.nn.Conv1d(3, 4, 5)(tg.zeros(1, 3, 4)),
     r"^Conv1d: the kernel \(5,\) .* larger than the padded input \(4,\)"),
    (lambda: tg.nn.MaxPool2d(3)(tg.zeros(1, 1, 2, 2)), r"^MaxPool2d: the kernel \(3, 3\)"),
    (lambda: tg.nn.AvgPool2d(2, stride=0)(tg.zeros(1, 1, 4, 4)), r"^AvgPool2d: stride must"),
])
def test_bad_arguments_are_clear_errors(call, words):
    with pytest.raises(ValueError, match=words):
        call()


def test_module_layouts_equal_pytorchs():
    # the state_dict keys and shapes PyTorch's layers have
    assert {k: v.shape for k, v in tg.nn.Conv2d(3, 8, (3, 5), groups=1).state_dict().items()} \
        == {"weight": (8, 3, 3, 5), "bias": (8,)}
    assert {k: v.shape for k, v in tg.nn.Conv1d(4, 6, 3, groups=2, bias=False)
            .state_dict().items()} == {"weight": (6, 2, 3)}
    assert tg.nn.MaxPool2d(2).state_dict() == {} and tg.nn.AdaptiveAvgPool2d(1).state_dict() == {}


def test_reused_im2col_buffers_never_mix_two_graphs():
    """The im2col columns kept for the weight gradient come from a pool of reused buffers:
    two live graphs of the same shapes (and a no_grad pass between them) must each keep
    their own."""
    rng = np.random.default_rng(3)
    x1, x2, x3 = (rng.standard_normal((2, 3, 6, 6)) for _ in range(3))
    w0 = rng.standard_normal((4, 3, 3, 3))
    g1, g2 = (rng.standard_normal((2, 4, 6, 6)) for _ in range(2))

    def weight_grad(x, g):
        w = tg.tensor(w0, requires_grad=True)
        F.conv2d(tg.tensor(x), w, padding=1).backward(tg.tensor(g))
        return w.grad.numpy()

    expected = weight_grad(x1, g1), weight_grad(x2, g2)
    w = tg.tensor(w0, requires_grad=True)
    y1 = F.conv2d(tg.tensor(x1), w, padding=1)
    y2 = F.conv2d(tg.tensor(x2), w, padding=1)
    with tg.no_grad():
        F.conv2d(tg.tensor(x3), w, padding=1)
    y1.backward(tg.tensor(g1))
    np.testing.assert_allclose(w.grad.numpy(), expected[0], rtol=1e-12)
    w.grad = None
    F.conv2d(tg.tensor(x3), w, padding=1).backward(tg.tensor(g2))  # reuses y1's buffer
    w.grad = None
    y2.backward(tg.tensor(g2))
    np.testing.assert_allclose(w.grad.numpy(), expected[1], rtol=1e-12)


# -- max pooling's indices, unpooling, integer inputs ------------------------------------------

def test_max_pool_indices_pin_pytorchs():
    # PyTorch 2.13: the flat position of each window's first maximum in the unpadded input
    x = tg.tensor(np.arange(36.0).reshape(1, 1, 6, 6))
    _, idx = F.max_pool2d(x, (2, 2), return_indices=True)
    np.testing.assert_array_equal(idx.numpy()[0, 0], [[7, 9, 11], [19, 21, 23], [31, 33, 35]])
    assert idx.dtype == np.int64
    # ties: the first in the window; overlapping windows may share one
    ones = tg.ones(1, 1, 6, 6)
    _, idx = F.max_pool2d(ones, 3, stride=1, return_indices=True)
    np.testing.assert_array_equal(idx.numpy()[0, 0], np.add.outer(np.arange(4) * 6,
                                                                  np.arange(4)))
    stripes = tg.tensor(np.tile([1.0, 2.0], (1, 1, 6, 3)))
    _, idx = F.max_pool2d(stripes, 2, stride=1, return_indices=True)
    np.testing.assert_array_equal(idx.numpy()[0, 0, 0], [1, 1, 3, 3, 5])
    # padding and ceil mode: positions of the unpadded input
    _, idx = F.max_pool2d(tg.tensor(np.arange(25.0).reshape(1, 1, 5, 5)), 3, padding=1,
                          return_indices=True)
    np.testing.assert_array_equal(idx.numpy()[0, 0], [[6, 9], [21, 24]])
    _, idx = F.max_pool2d(tg.tensor(np.arange(49.0).reshape(1, 1, 7, 7)), 2, stride=2,
                          ceil_mode=True, return_indices=True)
    assert idx.shape == (1, 1, 4, 4) and idx.numpy()[0, 0, 3, 3] == 48
    # a nan is the maximum, and unpooling puts it back
    data = tg.tensor([[[[np.inf, -np.inf, np.nan], [1.0, 2.0, 3.0]]]])
    values, idx = F.max_pool2d(data, 2, return_indices=True)
    np.testing.assert_array_equal(idx.numpy().ravel(), [0])
    np.testing.assert_array_equal(F.max_unpool2d(values, idx, 2).numpy().ravel(),
                                  [np.inf, 0.0, 0.0, 0.0])


def test_unpool_sizes_and_modules():
    x = tg.tensor(np.random.default_rng(0).standard_normal((1, 3, 7, 6)))
    v, i = tg.nn.MaxPool2d(2, return_indices=True)(x)
    # output_size: only the last two entries count (PyTorch's rule)
    assert tg.nn.MaxUnpool2d(2)(v, i, output_size=(99, 99, 7, 6)).shape == (1, 3, 7, 6)
    assert F.max_unpool2d(v, i, 2).shape == (1, 3, 6, 6)
    assert F.max_unpool1d(*F.max_pool1d(tg.ones(1, 1, 6), 2, return_indices=True), 2).shape \
        == (1, 1, 6)
    with pytest.raises(IndexError, match="indices must lie in"):
        F.max_unpool2d(v, i + 100, 2)


def test_integer_max_pooling_pads_with_the_smallest_integer():
    x = tg.tensor(np.arange(-8, 8).reshape(1, 1, 4, 4), dtype=tg.int32)
    y = F.max_pool2d(x, 2, padding=1)
    assert y.dtype == np.int32
    np.testing.assert_array_equal(y.numpy()[0, 0], [[-8, -6, -5], [0, 2, 3], [4, 6, 7]])


def test_conv_transpose_module_and_pins():
    # PyTorch's layout: weight (in, out / groups, *kernel); output_size picks output_padding
    m = tg.nn.ConvTranspose2d(4, 6, 3, stride=2, groups=2)
    assert {k: v.shape for k, v in m.state_dict().items()} == {"weight": (4, 3, 3, 3),
                                                               "bias": (6,)}
    x = tg.ones(1, 4, 3, 3)
    assert m(x).shape == (1, 6, 7, 7) and m(x, output_size=(8, 8)).shape == (1, 6, 8, 8)
    assert tg.nn.ConvTranspose1d(2, 1, 4, stride=3, padding=1)(tg.ones(1, 2, 5)).shape == \
        (1, 1, 14)
    with pytest.raises(RuntimeError, match="output_padding .* must be smaller than the stride"):
        F.conv_transpose2d(x, tg.ones(4, 2, 3, 3), output_padding=1)
    with pytest.raises(RuntimeError, match="the input has 4 channels"):
        F.conv_transpose2d(x, tg.ones(3, 2, 3, 3))
    with pytest.raises(TypeError, match="same dtype"):
        F.conv_transpose2d(x, tg.ones(4, 2, 3, 3, dtype=tg.float64))
    # the transposed convolution is conv2d's input gradient
    w = tg.tensor(np.random.default_rng(1).standard_normal((4, 2, 3, 3)))
    g = tg.tensor(np.random.default_rng(2).standard_normal((1, 4, 3, 3)))
    xs = tg.zeros(1, 2, 7, 7, dtype=tg.float64, requires_grad=True)
    (dx,) = tg.grad(F.conv2d(xs, w, stride=2), xs, g)
    np.testing.assert_allclose(F.conv_transpose2d(g, w, stride=2).numpy(), dx.numpy())


def test_unbatched_inputs_are_a_batch_of_one():
    # PyTorch's (C, *spatial) inputs: conv, transposed conv, pools, unpooling and the modules
    rng = np.random.default_rng(3)
    x = tg.tensor(rng.standard_normal((2, 5, 6)), requires_grad=True)
    w = tg.tensor(rng.standard_normal((3, 2, 2, 2)))
    wt = tg.tensor(rng.standard_normal((2, 3, 2, 2)))
    calls = [lambda x: F.conv2d(x, w, padding=1), lambda x: F.conv_transpose2d(x, wt, stride=2),
             lambda x: F.max_pool2d(x, 2, padding=1), lambda x: F.avg_pool2d(x, 3, stride=2),
             lambda x: F.adaptive_avg_pool2d(x, (2, 4)),
             lambda x: F.max_unpool2d(*F.max_pool2d(x, 2, return_indices=True), 2,
                                      output_size=(5, 6))]
    for call in calls:
        one, batch = call(x), call(x[None])
        assert one.shape == batch.shape[1:]
        np.testing.assert_array_equal(one.numpy(), batch.numpy()[0])
        g1, = tg.grad(one.sum(), [x])
        g2, = tg.grad(batch.sum(), [x])
        np.testing.assert_array_equal(g1.numpy(), g2.numpy())
    v, i = F.max_pool2d(x, 2, return_indices=True)
    assert v.shape == i.shape == (2, 2, 3)
    m = tg.nn.ConvTranspose2d(2, 3, 3, stride=2)
    assert m(tg.ones(2, 3, 3), output_size=(8, 8)).shape == (3, 8, 8)
    assert tg.nn.Conv1d(2, 4, 3)(tg.ones(2, 7)).shape == (4, 5)
    with pytest.raises(ValueError, match="output_size must have 2 or 4 entries"):
        F.max_unpool2d(v, i, 2, output_size=(9, 5, 6))


@pytest.mark.parametrize("case", ["conv2d", "conv1d"])
def test_products_in_chunks_are_the_convolution(case, monkeypatch):
    # with few channels, the convolution's products run in chunks of columns (forward, input
    # gradient) and of positions (weight gradient) to stay in OpenBLAS's small-matrix
    # kernel; a small bound makes every test-sized product chunked: first and second
    # derivatives as one product's
    from tinygrad_reg.ops import windows

    monkeypatch.setattr(windows, "SMALL_GEMM", 12)  # (chunks of a column or a few)
    monkeypatch.setattr(windows, "_MIN_CHUNK", 1)
    chunked = []
    chunk = windows._chunk
    monkeypatch.setattr(windows, "_chunk", lambda r, i, n, least=None: chunked.append(
        chunk(r, i, n, least) < n) or chunk(r, i, n, least))
    d = 2 if case == "conv2d" else 1
    tg.testing.check_op(_conv_op(d), conv_inputs(d), ref=_ref_conv, name=f"{case} chunked",
                        out_shape=None, max_examples=20)
    assert sum(chunked) > 5  # (products were chunked, in the forward and the gradients)


@pytest.mark.parametrize("d", [1, 2, 3])
def test_im2col_in_blocks_of_rows_is_the_convolution(d, monkeypatch):
    # large im2col columns are made and multiplied a block of output rows at a time (the
    # forward), and made again block by block for the weight gradient, whose blocks' products
    # are added; the input gradient's are made one kernel offset at a time. A block bound of
    # one byte makes every test-sized convolution with two or more output rows run a row at
    # a time, and every input gradient by offset: first and second derivatives as the
    # whole's
    from tinygrad_reg.ops import windows

    monkeypatch.setattr(windows, "COLS_BLOCK", 1)
    blocked = []
    col_rows = windows.col_rows
    monkeypatch.setattr(windows, "col_rows", lambda x, w, q, i: blocked.append(
        col_rows(x, w, q, i) < q[0]) or col_rows(x, w, q, i))
    by_offset = []
    offsets = windows.input_grad_by_offset
    monkeypatch.setattr(windows, "input_grad_by_offset", lambda x, w, q, i: by_offset.append(
        offsets(x, w, q, i)) or offsets(x, w, q, i))
    tg.testing.check_op(_conv_op(d), conv_inputs(d), ref=_ref_conv, name=f"conv{d}d blocked",
                        out_shape=None, max_examples=FEW if d == 3 else 20)
    assert sum(blocked) > 5 and sum(by_offset) > 5


def test_chunked_products_equal_one_product(monkeypatch):
    from tinygrad_reg.ops import windows

    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 3, 5)), rng.standard_normal((2, 5, 40))
    whole, rows = np.matmul(a, b), np.matmul(b, b.transpose(0, 2, 1))
    monkeypatch.setattr(windows, "SMALL_GEMM", 16)
    monkeypatch.setattr(windows, "_MIN_CHUNK", 1)
    assert windows._chunk(3, 5, 40) == 1 and windows._chunk(5, 5, 40, 4) == 40
    # (BLAS kernels of other widths may round the last bit differently)
    np.testing.assert_allclose(windows.matmul_cols(a, b, np.empty((2, 3, 40))), whole,
                               rtol=1e-13)
    # the weight gradient's sum over chunks of the inner dim
    monkeypatch.setattr(windows, "SMALL_GEMM", 5 * 5 * 4)
    np.testing.assert_allclose(windows.matmul_rows(b, b.transpose(0, 2, 1)), rows, rtol=1e-13)

