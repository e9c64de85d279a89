"""tg.jit on convolutional networks: the replay writes convolution (forward, input and weight
gradients), pooling, batch norm and sigmoid into reused buffers (it does not call their
allocating forwards), and stays bit-for-bit the eager step for any geometry."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_reg as tg
from tinygrad_reg import nn
from tinygrad_reg.nn import functional as F


def unlowered(code: str) -> list[str]:
    """The ops a replay calls through their forward (not lowered): the comment naming each
    op, followed by a call of its forward (``fN(...)``) or the stub its ctx is."""
    lines = code.splitlines()
    names = []
    for k, line in enumerate(lines[:-1]):
        m = re.match(r"\s*# (\w+)$", line)
        if m and re.search(r"= f\d+\(|st = Stub\(", lines[k + 1]):
            names.append(m.group(1))
    return names


def bn_lenet(c=1, width=(6, 16), hidden=(12, 8), size=16, classes=5):
    """d2l's BN-LeNet in miniature (every layer kind, smaller sizes)."""
    side = ((size - 4) // 2 - 4) // 2
    return nn.Sequential(
        nn.Conv2d(c, width[0], 5), nn.BatchNorm2d(width[0]), nn.Sigmoid(), nn.AvgPool2d(2, 2),
        nn.Conv2d(width[0], width[1], 5), nn.BatchNorm2d(width[1]), nn.Sigmoid(),
        nn.AvgPool2d(2, 2), nn.Flatten(),
        nn.Linear(width[1] * side * side, hidden[0]), nn.BatchNorm1d(hidden[0]), nn.Sigmoid(),
        nn.Linear(hidden[0], hidden[1]), nn.BatchNorm1d(hidden[1]), nn.Sigmoid(),
        nn.Linear(hidden[1], classes))


def sgd_step(model, lr=0.1):
    opt = tg.optim.SGD(model.parameters(), lr=lr)

    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return step


def assert_same_state(m1, m2):
    for (name, p), q in zip(m1.named_parameters(), m2.parameters()):
        assert p.numpy().tobytes() == q.numpy().tobytes(), name
        assert p.grad.numpy().tobytes() == q.grad.numpy().tobytes(), name
    for k, v in m1.state_dict().items():  # the running statistics too
        assert v.tobytes() == m2.state_dict()[k].tobytes(), k


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bn_lenet_sgd_steps_replay_bitwise_and_every_layer_is_lowered(dtype):
    rng = np.random.default_rng(0)
    data = [(tg.tensor(rng.standard_normal((8, 1, 16, 16)).astype(dtype)),
             tg.tensor(rng.integers(0, 5, 8))) for _ in range(5)]
    models = []
    for _ in range(2):
        tg.manual_seed(3)
        models.append(bn_lenet().to(dtype=dtype) if dtype is np.float64 else bn_lenet())
    eager, jitted = sgd_step(models[0]), tg.jit(sgd_step(models[1]))
    for x, y in data:
        assert eager(x, y).numpy().tobytes() == jitted(x, y).numpy().tobytes()
    assert_same_state(*models)
    assert jitted.replays == 3
    # the layers' ops are written into the replay, none called as an allocating forward
    slow = set(unlowered(jitted.code))
    for name in ("Conv2d", "ConvInputGrad", "ConvWeightGrad", "AvgPool2d", "WindowScatter",
                 "Sigmoid", "SigmoidBackward", "BatchNorm", "NormalizeBackward", "BatchMoments",
                 "ChannelAffine", "ChannelDot"):
        assert name not in slow, (name, sorted(slow))


@pytest.mark.parametrize("block", [50_000, 9_000])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_im2col_blocks_replay_bitwise(dtype, block, monkeypatch):
    # large im2col columns are made in blocks of output rows, and the input gradient's one
    # kernel offset at a time; with a bound of 50 KB the first convolution (8 images of 12×12
    # positions × 25 taps) runs in blocks of 5, 5 and 2 rows in float32 (2 rows in float64),
    # the second whole; with 9 KB, both a row at a time and the second's input gradient by
    # offset: replays the eager steps bit for bit, the block buffers reused
    from tinygrad_reg.ops import windows

    monkeypatch.setattr(windows, "COLS_BLOCK", block)
    conv1, conv2 = ((8, 1, 16, 16), (6, 1, 5, 5), (12, 12)), ((8, 6, 6, 6), (16, 6, 5, 5), (2, 2))
    if block == 50_000:
        assert windows.col_rows(*conv1, 4) == 5 and windows.col_rows(*conv2, 4) == 2
    else:
        assert windows.col_rows(*conv1, 4) == windows.col_rows(*conv2, 4) == 1
        assert windows.input_grad_by_offset(*conv2, 4)
    test_bn_lenet_sgd_steps_replay_bitwise_and_every_layer_is_lowered(dtype)


@st.composite
def conv_nets(draw):
    """A convolution of any geometry, then an activation and a pooling of any geometry."""
    groups = draw(st.sampled_from([1, 2]))
    c, o = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 3))
    k = draw(st.integers(1, 3))
    stride, dilation = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    padding = draw(st.integers(0, 2))
    span = dilation * (k - 1) + 1
    size = draw(st.integers(max(1, span - 2 * padding), 7))
    q = (size + 2 * padding - span) // stride + 1
    pool_k = draw(st.integers(1, max(1, min(q, 3))))
    pool_s = draw(st.integers(1, pool_k))
    pool_p = draw(st.integers(0, pool_k // 2))
    n = draw(st.integers(1, 3))
    return dict(n=n, c=c, o=o, size=size,
                conv=dict(kernel_size=k, stride=stride, padding=padding, dilation=dilation,
                          groups=groups, bias=draw(st.booleans())),
                pool=dict(kernel_size=pool_k, stride=pool_s, padding=pool_p),
                act=draw(st.sampled_from(["sigmoid", "relu", "tanh"])),
                norm=draw(st.booleans()) and n * q * q > 1,  # (batch norm needs 2 values)
                dtype=draw(st.sampled_from([np.float32, np.float64])))


def _net(spec):
    layers = [nn.Conv2d(spec["c"], spec["o"], **spec["conv"])]
    if spec["norm"]:
        layers.append(nn.BatchNorm2d(spec["o"]))
    layers += [{"sigmoid": nn.Sigmoid, "relu": nn.ReLU, "tanh": nn.Tanh}[spec["act"]](),
               nn.AvgPool2d(**spec["pool"]), nn.Flatten()]
    model = nn.Sequential(*layers)
    return model.to(dtype=spec["dtype"]) if spec["dtype"] is np.float64 else model


@given(conv_nets(), st.integers(0, 2**16))
def test_conv_pool_and_norm_replays_are_bitwise_for_any_geometry(spec, seed):
    rng = np.random.default_rng(seed)
    shape = (spec["n"], spec["c"], spec["size"], spec["size"])
    xs = [tg.tensor(rng.standard_normal(shape).astype(spec["dtype"]), requires_grad=True)
          for _ in range(4)]
    models = []
    for _ in range(2):
        tg.manual_seed(seed)
        models.append(_net(spec))

    def make(model):
        def step(x):
            model.zero_grad()
            x.grad = None
            y = model(x)
            loss = (y * y).sum()
            loss.backward()
            return y
        return step

    eager, jitted = make(models[0]), tg.jit(make(models[1]))
    for x in xs:
        a = eager(x)
        ga = x.grad.numpy().copy()
        b = jitted(x)
        assert a.numpy().tobytes() == b.numpy().tobytes()
        assert ga.tobytes() == x.grad.numpy().tobytes()
        for p, q in zip(models[0].parameters(), models[1].parameters()):
            assert p.grad.numpy().tobytes() == q.grad.numpy().tobytes()
    assert jitted.replays == 2


def test_a_cnn_keeps_its_arrays_channel_major_forward_and_backward():
    # a pass between arrays of different memory orders costs several times one between alike
    # ones: the activation and the pooling keep the convolution's channel-major layout, and
    # the pooling's gradient comes back in it (a layout, not a value: checked for speed)
    from tinygrad_reg.ops.windows import is_cm

    tg.manual_seed(0)
    conv = nn.Conv2d(2, 3, 3)
    x = tg.tensor(np.random.default_rng(0).standard_normal((4, 2, 8, 8)).astype(np.float32))
    y = conv(x)
    a = y.sigmoid()
    p = F.avg_pool2d(a, 2)
    w = tg.tensor(np.ones((27, 2), np.float32))
    (ga,) = tg.grad((p.reshape(4, -1) @ w).sum(), a)  # (a C-order gradient comes back)
    assert is_cm(y.numpy()) and is_cm(a.numpy()) and is_cm(p.numpy())
    assert is_cm(ga.numpy())
