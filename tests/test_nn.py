"""nn: Module registration and traversal, state dicts, repr, the fused Linear op (values,
gradients against finite differences, one node), initialisers, activations, Dropout, Flatten."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_reg as tg
from tinygrad_reg import nn
from tinygrad_reg.autograd import iter_graph
from tinygrad_reg.nn import functional as F
from tinygrad_reg.nn import init
from tinygrad_reg.ops.linalg import linear
from tinygrad_reg.testing import gradcheck, gradgradcheck


def t64(a, grad=True):
    return tg.Tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


class Block(nn.Module):
    def __init__(self, n_in=3):
        super().__init__()
        self.fc = nn.Linear(n_in, 4, generator=np.random.default_rng(0))
        self.act = nn.ReLU()
        self.scale = nn.Parameter(np.ones(4, dtype=np.float32))
        self.note = "not registered"

    def forward(self, x):
        return self.act(self.fc(x)) * self.scale


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.temperature = nn.Parameter(np.float32(1.0))
        self.blocks = nn.ModuleList([Block(3), Block(4)])
        self.head = nn.Linear(4, 1, generator=np.random.default_rng(1))

    def forward(self, x):
        for b in self.blocks:
            x = b(x)
        return self.head(x) / self.temperature


# -- registration and traversal ----------------------------------------------------------

def test_named_parameters_dotted_in_registration_order():
    # as PyTorch: each module's own parameters, then its children's (depth first)
    names = [n for n, _ in Net().named_parameters()]
    assert names == ["temperature",
                     "blocks.0.scale", "blocks.0.fc.weight", "blocks.0.fc.bias",
                     "blocks.1.scale", "blocks.1.fc.weight", "blocks.1.fc.bias",
                     "head.weight", "head.bias"]


def test_named_modules_and_modules():
    net = Net()
    named = [(n, type(m).__name__) for n, m in net.named_modules()]
    assert named == [("", "Net"), ("blocks", "ModuleList"), ("blocks.0", "Block"),
                     ("blocks.0.fc", "Linear"), ("blocks.0.act", "ReLU"), ("blocks.1", "Block"),
                     ("blocks.1.fc", "Linear"), ("blocks.1.act", "ReLU"), ("head", "Linear")]
    assert list(net.modules()) == [m for _, m in net.named_modules()]
    assert [n for n, _ in net.named_children()] == ["blocks", "head"]


def test_shared_parameter_and_module_listed_once():
    lin = nn.Linear(2, 2)
    seq = nn.Sequential(lin, nn.ReLU(), lin)
    assert [n for n, _ in seq.named_parameters()] == ["0.weight", "0.bias"]
    assert len(list(seq.modules())) == 3  # seq, lin, relu
    m = nn.Module()
    p = nn.Parameter(np.zeros(3))
    m.a = p
    m.b = p
    assert [n for n, _ in m.named_parameters()] == ["a"]


def test_plain_attributes_and_tensors_are_not_registered():
    b = Block()
    assert b.note == "not registered"
    b.plain = tg.Tensor(np.zeros(2), requires_grad=True)
    b.lst = [nn.Linear(1, 1)]
    assert [n for n, _ in b.named_parameters()] == ["scale", "fc.weight", "fc.bias"]


def test_reassign_and_delete():
    b = Block()
    with pytest.raises(TypeError, match="scale is a Parameter"):
        b.scale = tg.Tensor(np.ones(4))
    with pytest.raises(TypeError, match="fc is a sub-module"):
        b.fc = "linear"
    b.scale = None
    assert [n for n, _ in b.named_parameters()] == ["fc.weight", "fc.bias"]
    b.fc = nn.Linear(3, 2)  # replaced in place: same position, new module
    assert b.fc.out_features == 2
    del b.fc
    assert list(b.named_parameters()) == []
    assert not hasattr(b, "fc")
    # a name moves from parameter to module registration
    b.scale = nn.Tanh()
    assert "scale" in dict(b.named_children()) and list(b.parameters()) == []


def test_missing_super_init_is_a_clear_error():
    class Bad(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(1, 1)

    with pytest.raises(AttributeError, match=r"call super\(\).__init__\(\)"):
        Bad()


def test_forward_not_defined():
    with pytest.raises(NotImplementedError, match="Module must define forward"):
        nn.Module()(1)


def test_train_eval_propagate():
    net = Net()
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.blocks[1].train()
    assert net.blocks[1].training and net.blocks[1].fc.training and not net.training
    net.train()
    assert all(m.training for m in net.modules())
    with pytest.raises(ValueError, match="mode must be True or False"):
        net.train("no")


def test_zero_grad_sets_none():
    net = Net()
    net(tg.Tensor(np.ones((2, 3), dtype=np.float32))).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_parameter():
    p = nn.Parameter([1.0, 2.0])
    assert isinstance(p, tg.Tensor) and p.requires_grad and p.dtype == np.float32 and p.is_leaf
    a = np.zeros(3)
    assert nn.Parameter(a).numpy() is a  # shares memory, keeps float64
    assert nn.Parameter(tg.Tensor(a)).numpy() is a
    with pytest.raises(TypeError, match="only floating-point"):
        nn.Parameter(np.arange(3))
    with pytest.raises(TypeError, match="only floating-point"):
        nn.Parameter([True])
    assert repr(nn.Parameter(np.zeros(1))).startswith("Parameter containing:\nTensor(")


# -- containers ----------------------------------------------------------------------------

def test_module_list_operations():
    a, b, c = nn.ReLU(), nn.Tanh(), nn.Sigmoid()
    ml = nn.ModuleList([a, b])
    ml.append(c)
    assert len(ml) == 3 and list(ml) == [a, b, c] and ml[-1] is c
    assert [n for n, _ in ml.named_children()] == ["0", "1", "2"]
    del ml[0]
    assert list(ml) == [b, c] and [n for n, _ in ml.named_children()] == ["0", "1"]
    assert getattr(ml, "0") is b and not hasattr(ml, "2")
    ml.insert(0, a)
    assert list(ml) == [a, b, c]
    ml[1] = c
    assert list(ml) == [a, c, c]
    assert list(ml[1:]) == [c, c] and isinstance(ml[1:], nn.ModuleList)
    with pytest.raises(IndexError, match="index 3 is out of range for length 3"):
        ml[3]
    with pytest.raises(TypeError, match="expected a Module"):
        ml.append(np.zeros(2))
    with pytest.raises(NotImplementedError, match="ModuleList has no forward"):
        ml(1)


def test_sequential_runs_in_order_and_slices():
    seq = nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 2))
    x = tg.Tensor(np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32))
    want = seq[2](seq[1](seq[0](x))).numpy()
    np.testing.assert_array_equal(seq(x).numpy(), want)
    head = seq[:2]
    assert isinstance(head, nn.Sequential) and head[0] is seq[0] and len(head) == 2
    assert [n for n, _ in seq.named_parameters()] == ["0.weight", "0.bias", "2.weight",
                                                      "2.bias"]


def test_module_scope_recorded_on_nodes():
    seq = nn.Sequential(nn.Linear(3, 2), nn.ReLU())
    out = seq(tg.Tensor(np.ones((1, 3), dtype=np.float32)))
    scopes = {n.name: n.scope for n in iter_graph([out])}
    assert scopes["Linear"] == (seq, seq[0])
    assert scopes["ReLU"] == (seq, seq[1])
    from tinygrad_reg.autograd import modes
    assert modes.scope() == ()  # restored after the call


def test_repr_tree():
    net = nn.Sequential(nn.Linear(200, 100), nn.ReLU(), nn.Dropout(keep_prob=0.8),
                        nn.Sequential(nn.Linear(100, 1, bias=False, dtype=np.float64),
                                      nn.Flatten()))
    assert repr(net) == (
        "Sequential(\n"
        "  (0): Linear(in_features=200, out_features=100, bias=True)\n"
        "  (1): ReLU()\n"
        "  (2): Dropout(keep_prob=0.8)\n"
        "  (3): Sequential(\n"
        "    (0): Linear(in_features=100, out_features=1, bias=False, dtype=float64)\n"
        "    (1): Flatten(start_dim=1, end_dim=-1)\n"
        "  )\n"
        ")")


def test_viz_labels_parameters_with_dotted_names():
    seq = nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1))
    dot = tg.viz.to_dot(seq(tg.Tensor(np.ones((1, 3), dtype=np.float32))), params=seq)
    for name in ("0.weight", "0.bias", "2.weight", "2.bias"):
        assert name in dot


# -- state dicts ---------------------------------------------------------------------------

def test_state_dict_copies_and_round_trips():
    a, b = Net(), Net()
    sd = a.state_dict()
    assert list(sd) == [n for n, _ in a.named_parameters()]
    before = a.head.bias.numpy().copy()
    sd["head.bias"][...] = 7.0  # a copy: the module is untouched
    np.testing.assert_array_equal(a.head.bias.numpy(), before)
    arrays = [p.numpy() for p in b.parameters()]
    result = b.load_state_dict(a.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    for (n, p), (_, q) in zip(a.named_parameters(), b.named_parameters(), strict=True):
        np.testing.assert_array_equal(p.numpy(), q.numpy(), err_msg=n)
    assert all(p.numpy() is arr for p, arr in zip(b.parameters(), arrays, strict=True))  # in place


def _snapshot(m):
    return {n: p.numpy().copy() for n, p in m.named_parameters()}


def _unchanged(m, snap):
    return all(np.array_equal(p.numpy(), snap[n]) for n, p in m.named_parameters())


@pytest.mark.parametrize("edit, err, pattern", [
    (lambda sd: sd.pop("head.weight"), KeyError, r"missing keys \['head.weight'\]"),
    (lambda sd: sd.update(extra=np.zeros(1)), KeyError, r"unexpected keys \['extra'\]"),
    (lambda sd: sd.update({"head.weight": np.zeros((2, 4), np.float32)}), ValueError,
     r"'head.weight': the state has shape \(2, 4\) but the parameter has shape \(1, 4\)"),
    (lambda sd: sd.update({"head.bias": np.zeros(1, np.int64)}), ValueError,
     r"'head.bias': the state has dtype int64 \(shape \(1,\)\) but the parameter has dtype "
     r"float32 \(shape \(1,\)\)"),
])
def test_load_state_dict_failures_leave_module_unchanged(edit, err, pattern):
    src, dst = Net(), Net()
    for p in src.parameters():
        p.data[...] = 5.0  # every key valid except the edited one, and all differ from dst
    sd = src.state_dict()
    edit(sd)
    snap = _snapshot(dst)
    with pytest.raises(err, match=pattern):
        dst.load_state_dict(sd)
    assert _unchanged(dst, snap)


def test_load_state_dict_non_strict_and_casts():
    net = Net()
    sd = {k: v.astype(np.float64) + 1 for k, v in net.state_dict().items()}
    del sd["temperature"]
    sd["other"] = np.zeros(2)
    res = net.load_state_dict(sd, strict=False)
    assert res.missing_keys == ["temperature"] and res.unexpected_keys == ["other"]
    assert net.head.weight.dtype == np.float32
    np.testing.assert_array_equal(net.head.weight.numpy(), sd["head.weight"].astype(np.float32))
    with pytest.raises(ValueError, match="shape"):  # shapes are checked even when not strict
        net.load_state_dict({"head.bias": np.zeros(3)}, strict=False)
    with pytest.raises(TypeError, match="expected a mapping"):
        net.load_state_dict([1, 2])


# -- Linear ----------------------------------------------------------------------------------

def test_linear_shapes_init_and_value():
    lin = nn.Linear(5, 3, generator=np.random.default_rng(0))
    assert lin.weight.shape == (3, 5) and lin.bias.shape == (3,)
    assert lin.weight.dtype == np.float32 and lin.bias.dtype == np.float32
    # PyTorch's default: weight and bias from U(±1/√in_features), weight drawn first
    rng, bound = np.random.default_rng(0), 1 / np.sqrt(5)
    w = rng.random((3, 5), dtype=np.float32) * np.float32(2 * bound) - np.float32(bound)
    np.testing.assert_array_equal(lin.weight.numpy(), w)
    np.testing.assert_array_equal(lin.bias.numpy(),
                                  rng.uniform(-bound, bound, 3).astype(np.float32))
    x = np.random.default_rng(1).normal(size=(4, 5)).astype(np.float32)
    out = lin(tg.Tensor(x))
    assert out.dtype == np.float32 and out.shape == (4, 3)
    np.testing.assert_allclose(out.numpy(), x @ lin.weight.numpy().T + lin.bias.numpy(), rtol=1e-6)
    same = nn.Linear(5, 3, generator=np.random.default_rng(0))
    np.testing.assert_array_equal(same.weight.numpy(), lin.weight.numpy())  # reproducible
    assert nn.Linear(5, 3, bias=False).bias is None
    assert [n for n, _ in nn.Linear(5, 3, bias=False).named_parameters()] == ["weight"]


def test_linear_is_one_node_with_its_parameters_as_inputs():
    lin = nn.Linear(4, 2)
    x = tg.Tensor(np.ones((3, 4), dtype=np.float32))
    out = lin(x)
    nodes = iter_graph([out])
    assert [n.name for n in nodes] == ["Linear"]
    assert nodes[0].inputs[0] is x and nodes[0].inputs[1] is lin.weight
    assert nodes[0].inputs[2] is lin.bias


@pytest.mark.parametrize("xshape, bias", [((4, 3), True), ((4, 3), False), ((3,), True),
                                          ((2, 3, 3), True)])
def test_linear_gradients_match_finite_differences(xshape, bias):
    rng = np.random.default_rng(0)
    x = t64(rng.normal(size=xshape))
    w = t64(rng.normal(size=(2, 3)))
    args = [x, w] + ([t64(rng.normal(size=2))] if bias else [])
    assert gradcheck(linear, args)
    assert gradgradcheck(linear, args)


@given(st.data())
def test_linear_equals_matmul_plus_bias(data):
    n_in = data.draw(st.integers(1, 4))
    n_out = data.draw(st.integers(1, 4))
    batch = data.draw(hnp.array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=3))
    floats = st.floats(-10, 10)
    x = data.draw(hnp.arrays(np.float64, batch + (n_in,), elements=floats))
    w = data.draw(hnp.arrays(np.float64, (n_out, n_in), elements=floats))
    b = data.draw(hnp.arrays(np.float64, (n_out,), elements=floats))
    xt, wt, bt = t64(x), t64(w), t64(b)
    out = linear(xt, wt, bt)
    np.testing.assert_allclose(out.numpy(), x @ w.T + b, rtol=1e-12, atol=1e-12)
    g = np.random.default_rng(0).normal(size=out.shape)
    out.backward(g)
    g2 = g.reshape(-1, n_out)
    np.testing.assert_allclose(xt.grad.numpy(), g @ w, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(wt.grad.numpy(), g2.T @ x.reshape(-1, n_in), rtol=1e-12,
                               atol=1e-12)
    np.testing.assert_allclose(bt.grad.numpy(), g2.sum(axis=0), rtol=1e-12, atol=1e-12)


def test_linear_float32_stays_float32_in_backward():
    lin = nn.Linear(3, 2)
    x = tg.Tensor(np.ones((4, 3), dtype=np.float32), requires_grad=True)
    lin(x).sum().backward()
    assert x.grad.dtype == lin.weight.grad.dtype == lin.bias.grad.dtype == np.float32


def test_linear_float64_option():
    lin = nn.Linear(3, 2, dtype=np.float64)
    assert lin.weight.dtype == lin.bias.dtype == np.float64
    assert lin(tg.Tensor(np.ones((1, 3)))).dtype == np.float64
    with pytest.raises(TypeError, match="dtype must be a float type"):
        nn.Linear(3, 2, dtype=np.int32)


def test_linear_skips_input_gradient_when_not_needed():
    lin = nn.Linear(3, 2)
    x = tg.Tensor(np.ones((4, 3), dtype=np.float32))
    lin(x).sum().backward()
    assert x.grad is None and lin.weight.grad is not None


def test_linear_errors():
    lin = nn.Linear(3, 2)
    with pytest.raises(ValueError, match=r"Linear: input of shape \(4, 5\) does not match "
                                         r"weight of shape \(2, 3\)"):
        lin(tg.Tensor(np.ones((4, 5), dtype=np.float32)))
    with pytest.raises(ValueError, match=r"bias must have shape \(2,\)"):
        linear(tg.Tensor(np.ones((1, 3), dtype=np.float32)), lin.weight,
               tg.Tensor(np.ones(3, dtype=np.float32)))
    # PyTorch refuses float64 data for a float32 layer (numpy would compute in float64)
    with pytest.raises(RuntimeError, match=r"Linear: expected operands of the same dtype .*"
                                           r"float64 \(shape \(4, 3\)\) and float32 .*x.float\(\)"):
        lin(tg.Tensor(np.ones((4, 3))))
    with pytest.raises(TypeError, match="same dtype"):
        linear(tg.ones(1, 3), lin.weight, tg.ones(2, dtype=tg.float64))
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="in_features must be a positive int"):
            nn.Linear(bad, 2)
    with pytest.raises(ValueError, match="unknown initialiser 'nope'"):
        nn.Linear(3, 2, init="nope")
    with pytest.raises(ValueError, match=r"returned shape \(3,\), expected \(2, 3\)"):
        nn.Linear(3, 2, init=lambda shape, **kw: np.zeros(3))


def test_linear_init_by_name_and_callable():
    rng = lambda: np.random.default_rng(3)  # noqa: E731
    for name, fn in [("he", init.he_normal), ("xavier_uniform", init.xavier_uniform),
                     ("xavier_normal", init.xavier_normal), ("scaled_normal", init.scaled_normal)]:
        lin = nn.Linear(6, 4, init=name, generator=rng())
        np.testing.assert_array_equal(lin.weight.numpy(), fn((4, 6), generator=rng()))
    custom = functools.partial(init.scaled_normal, std=0.5)
    lin = nn.Linear(6, 4, init=custom, generator=rng(), dtype=np.float64)
    np.testing.assert_array_equal(lin.weight.numpy(),
                                  rng().standard_normal((4, 6)) * 0.5)
    # another initialiser leaves the bias at zero (the tutorial's b = 0), PyTorch's does not
    assert (nn.Linear(6, 4, init="scaled_normal").bias.numpy() == 0).all()
    for name in ("pytorch", "fan_in_uniform"):
        explicit = nn.Linear(6, 4, init=name, generator=rng())
        default = nn.Linear(6, 4, generator=rng())
        np.testing.assert_array_equal(explicit.bias.numpy(), default.bias.numpy())
        assert (default.bias.numpy() != 0).all()


def test_linear_default_init_is_pytorchs_distribution():
    # PyTorch: weight kaiming_uniform_(a=√5) = U(±1/√in), bias U(±1/√in), for float64 too
    lin = nn.Linear(400, 300, generator=np.random.default_rng(0), dtype=np.float64)
    bound = 1 / np.sqrt(400)
    for p, n in ((lin.weight, 120_000), (lin.bias, 300)):
        assert p.numpy().dtype == np.float64 and p.numpy().size == n
        assert -bound <= p.numpy().min() and p.numpy().max() < bound
        assert p.numpy().max() > (1 - 50 / n) * bound and p.numpy().min() < -(1 - 50 / n) * bound
    # uniform: std = bound/√3 (120 000 draws: within 1 %)
    assert abs(lin.weight.numpy().std() / (bound / np.sqrt(3)) - 1) < 0.01
    assert abs(lin.weight.numpy().mean()) < 4 * bound / np.sqrt(3 * 120_000)


def test_reset_parameters_redraws_in_place_as_pytorch():
    gen = np.random.default_rng(0)
    for layer in (nn.Linear(3, 2, generator=gen), nn.Conv2d(2, 3, 3, generator=gen)):
        w, b = layer.weight, layer.bias
        before = w.numpy().copy(), b.numpy().copy()
        layer.reset_parameters()
        assert layer.weight is w and layer.bias is b  # in place: optimizers keep them
        assert not np.array_equal(w.numpy(), before[0]) and not np.array_equal(b.numpy(), before[1])
    bn = nn.BatchNorm1d(3)
    bn(tg.tensor([[1.0, 2.0, 3.0], [0.0, 5.0, 1.0]]))
    with tg.no_grad():
        bn.weight.fill_(3.0)
    bn.reset_parameters()
    assert bn.weight.tolist() == [1, 1, 1] and bn.running_mean.tolist() == [0, 0, 0]
    assert bn.num_batches_tracked.item() == 0


def test_default_initial_values_of_the_other_layers_are_pytorchs():
    gen = np.random.default_rng(1)
    conv = nn.Conv2d(4, 6, (3, 2), groups=2, generator=gen, dtype=np.float64)
    bound = 1 / np.sqrt(2 * 3 * 2)  # fan_in = in_channels/groups · kernel
    assert np.abs(conv.weight.numpy()).max() < bound and np.abs(conv.bias.numpy()).max() < bound
    assert np.abs(conv.weight.numpy()).max() > 0.8 * bound
    conv1 = nn.Conv1d(3, 5, 4, generator=gen)
    assert np.abs(conv1.weight.numpy()).max() < 1 / np.sqrt(12)
    emb = nn.Embedding(1000, 100, generator=gen)  # N(0, 1)
    assert abs(emb.weight.numpy().std() - 1) < 0.01 and abs(emb.weight.numpy().mean()) < 0.01
    for norm in (nn.BatchNorm1d(3), nn.BatchNorm2d(3), nn.LayerNorm(3), nn.GroupNorm(1, 3)):
        assert norm.weight.tolist() == [1, 1, 1] and norm.bias.tolist() == [0, 0, 0]


@pytest.mark.parametrize("args, gain", [
    # PyTorch 2.13's torch.nn.init.calculate_gain
    (("linear",), 1.0), (("sigmoid",), 1.0), (("conv2d",), 1.0),
    (("tanh",), 1.6666666666666667), (("relu",), 1.4142135623730951),
    (("leaky_relu",), 1.4141428569978354), (("leaky_relu", 0.2), 1.3867504905630728),
    (("selu",), 0.75)])
def test_calculate_gain_is_pytorchs(args, gain):
    assert init.calculate_gain(*args) == gain


def test_in_place_initialisers_take_pytorchs_arguments():
    w = tg.zeros(1000, 50, dtype=tg.float64)
    gen = np.random.default_rng(0)
    # (bound, after which call) as PyTorch computes it: √3 · gain / √fan
    for kwargs, bound in [({}, np.sqrt(6 / 50)), ({"a": np.sqrt(5)}, 1 / np.sqrt(50)),
                          ({"mode": "fan_out"}, np.sqrt(6 / 1000)),
                          ({"nonlinearity": "relu"}, np.sqrt(6 / 50)),
                          ({"nonlinearity": "tanh"}, 5 / 3 * np.sqrt(3 / 50))]:
        assert init.kaiming_uniform_(w, generator=gen, **kwargs) is w
        assert np.abs(w.numpy()).max() <= bound and np.abs(w.numpy()).max() > 0.99 * bound, kwargs
    init.kaiming_normal_(w, nonlinearity="relu", generator=gen)
    assert abs(w.numpy().std() / np.sqrt(2 / 50) - 1) < 0.01
    init.kaiming_normal_(w, mode="fan_out", generator=gen)
    assert abs(w.numpy().std() / np.sqrt(2 / 1000) - 1) < 0.01
    init.xavier_uniform_(w, gain=2.0, generator=gen)
    assert np.abs(w.numpy()).max() <= 2 * np.sqrt(6 / 1050)
    assert np.abs(w.numpy()).max() > 0.99 * 2 * np.sqrt(6 / 1050)
    init.xavier_normal_(w, gain=0.5, generator=gen)
    assert abs(w.numpy().std() / (0.5 * np.sqrt(2 / 1050)) - 1) < 0.01
    with pytest.raises(ValueError, match="mode must be 'fan_in' or 'fan_out'"):
        init.kaiming_uniform_(w, mode="fan")
    with pytest.raises(ValueError, match="unsupported nonlinearity 'swish'"):
        init.kaiming_normal_(w, nonlinearity="swish")


# -- initialisers ----------------------------------------------------------------------------

@pytest.mark.parametrize("fn, std", [
    (init.he_normal, np.sqrt(2 / 400)),
    (init.xavier_normal, np.sqrt(2 / (400 + 300))),
    (init.xavier_uniform, np.sqrt(2 / (400 + 300))),
    (init.scaled_normal, 0.01),
])
def test_initialiser_statistics(fn, std):
    w = fn((300, 400), generator=np.random.default_rng(0), dtype=np.float64)
    assert w.shape == (300, 400) and w.dtype == np.float64
    # 120 000 draws: the sample std is within 1 % of sigma with overwhelming probability
    # (its relative standard error is about 0.2 %); the mean within 4 standard errors of 0
    assert abs(w.std() / std - 1) < 0.01
    assert abs(w.mean()) < 4 * std / np.sqrt(w.size)
    if fn is init.xavier_uniform:
        a = np.sqrt(6 / 700)
        assert -a <= w.min() and w.max() < a and w.max() > 0.99 * a


def test_initialiser_dtypes_generators_and_errors():
    w = init.he_normal((3, 2))
    assert w.dtype == np.float32
    tg.manual_seed(5)
    a = init.xavier_uniform((3, 2))
    tg.manual_seed(5)
    np.testing.assert_array_equal(a, init.xavier_uniform((3, 2)))  # the package generator
    for fn in (init.he_normal, init.xavier_normal, init.xavier_uniform):
        with pytest.raises(ValueError, match="at least 2 dims"):
            fn((5,))
        with pytest.raises(TypeError, match="float32 or float64"):
            fn((2, 2), dtype=np.int64)
        with pytest.raises(TypeError, match="generator must be a numpy.random.Generator"):
            fn((2, 2), generator=np.random.RandomState(0))
    assert init.he_normal((4, 2, 3, 3), dtype=np.float64).shape == (4, 2, 3, 3)
    assert init.scaled_normal(5).shape == (5,)  # works for biases too
    with pytest.raises(ValueError, match="std must be a finite number >= 0"):
        init.scaled_normal((2, 2), std=-1.0)


def test_he_normal_uses_receptive_field_fan_in():
    w = init.he_normal((64, 8, 5, 5), generator=np.random.default_rng(0), dtype=np.float64)
    assert abs(w.std() / np.sqrt(2 / (8 * 25)) - 1) < 0.02


# -- activations, Dropout, Flatten -----------------------------------------------------------

def test_activation_modules_match_functional():
    x = tg.Tensor(np.linspace(-3, 3, 7))
    for mod, fn in ((nn.ReLU(), F.relu), (nn.Sigmoid(), F.sigmoid), (nn.Tanh(), F.tanh)):
        np.testing.assert_array_equal(mod(x).numpy(), fn(x).numpy())


def test_dropout_module_train_and_eval():
    x = tg.Tensor(np.ones((50, 40)), requires_grad=True)
    drop = nn.Dropout(0.3, generator=np.random.default_rng(0))
    out = drop(x)
    want = F.dropout(x, 0.3, generator=np.random.default_rng(0))
    np.testing.assert_array_equal(out.numpy(), want.numpy())
    assert (out.numpy() == 0).any() and set(np.unique(out.numpy())) <= {0.0, 1 / 0.7}
    drop.eval()
    assert drop(x) is x  # the identity: no node, no mask
    a, b = drop(x).numpy(), drop(x).numpy()
    np.testing.assert_array_equal(a, b)


def test_dropout_keep_prob_alias():
    x = tg.Tensor(np.ones((20, 20)))
    a = nn.Dropout(keep_prob=0.8, generator=np.random.default_rng(1))
    b = nn.Dropout(p=0.2, generator=np.random.default_rng(1))
    np.testing.assert_array_equal(a(x).numpy(), b(x).numpy())
    assert a.p == pytest.approx(0.2) and nn.Dropout().p == 0.5
    assert repr(a) == "Dropout(keep_prob=0.8)" and repr(b) == "Dropout(p=0.2)"


@pytest.mark.parametrize("kwargs, pattern", [
    (dict(p=0.2, keep_prob=0.8), "not both"),
    (dict(p=1.5), r"p must be in \[0, 1\]"),
    (dict(p=-0.1), r"p must be in \[0, 1\]"),
    (dict(p=float("nan")), r"p must be in \[0, 1\]"),
    (dict(keep_prob=2), r"keep_prob must be in \[0, 1\]"),
    (dict(p="0.5"), "must be a number"),
    (dict(p=True), "must be a number"),
])
def test_dropout_module_rejects_bad_probabilities(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        nn.Dropout(**kwargs)


def test_flatten():
    x = tg.Tensor(np.arange(24.0).reshape(2, 3, 4), requires_grad=True)
    out = nn.Flatten()(x)
    assert out.shape == (2, 12)
    np.testing.assert_array_equal(out.numpy(), np.arange(24.0).reshape(2, 12))
    assert nn.Flatten(0)(x).shape == (24,)
    assert nn.Flatten(0, 1)(x).shape == (6, 4)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.ones((2, 3, 4)))
    with pytest.raises(ValueError, match="start_dim=2 comes after end_dim=1"):
        nn.Flatten(2, 1)(x)
    with pytest.raises(ValueError, match="dim 5 is out of range"):
        nn.Flatten(5)(x)
    # a 0-d tensor flattens to shape (1,), as PyTorch (start_dim=0 was refused before)
    assert nn.Flatten(start_dim=0)(tg.Tensor(np.float64(3.0))).shape == (1,)


# -- Embedding: indices in [0, num_embeddings), padding_idx counting from the end -------------

@pytest.mark.parametrize("lookup", ["module", "functional"])
@pytest.mark.parametrize("index, bad", [([-1], -1), ([0, 4], 4), ([[0, 1], [-4, 2]], -4)])
def test_embedding_refuses_an_index_out_of_range_negative_included(lookup, index, bad):
    # PyTorch 2.13 raises IndexError ("index out of range in self") for -1 as for 4; -1 used to
    # be the last row here, silently
    emb = nn.Embedding(4, 2)
    call = emb if lookup == "module" else functools.partial(F.embedding, weight=emb.weight)
    with pytest.raises(IndexError, match=rf"embedding: index {bad} is out of range for a "
                                         rf"table of 4 rows \(num_embeddings\)"):
        call(tg.tensor(index))


def test_embedding_padding_idx_minus_one_is_the_last_row():
    # PyTorch 2.13: nn.Embedding(4, 2, padding_idx=-1).padding_idx == 3, and
    # F.embedding([3, 0, 3], w, padding_idx=-1) leaves row 3 without a gradient:
    # w.grad = [[1, 1], [0, 0], [0, 0], [0, 0]]
    emb = nn.Embedding(4, 2, padding_idx=-1, dtype=np.float64)
    assert emb.padding_idx == 3 and repr(emb) == "Embedding(4, 2, padding_idx=3)"
    assert not emb.weight.numpy()[3].any() and emb.weight.numpy()[:3].all()
    emb(tg.tensor([3, 0, 3])).sum().backward()
    np.testing.assert_array_equal(emb.weight.grad.numpy(), [[1, 1], [0, 0], [0, 0], [0, 0]])
    w = t64(np.ones((4, 2)))
    F.embedding(tg.tensor([3, 0, 3]), w, padding_idx=-1).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [[1, 1], [0, 0], [0, 0], [0, 0]])
    for bad in (4, -5):
        with pytest.raises(ValueError, match=f"padding_idx={bad} must be within "
                                             f"num_embeddings=4"):
            nn.Embedding(4, 2, padding_idx=bad)
        with pytest.raises(ValueError, match=f"embedding: padding_idx={bad}"):
            F.embedding(tg.tensor([0]), w, padding_idx=bad)
