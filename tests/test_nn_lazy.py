"""Lazy layers (nn.LazyLinear, LazyConv1d/2d, LazyBatchNorm1d/2d) and their placeholders, with
PyTorch 2.13's semantics: what parameters(), state_dict(), optimizers and reprs see before the
first call, what the first call makes of them (the eager layer, in place, drawn as the eager
layer draws), and the refusals."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import tinygrad_reg as tg
from tinygrad_reg import nn
from tinygrad_reg.nn.parameter import is_lazy


def rng(seed=0):
    return np.random.default_rng(seed)


# -- before the first call -------------------------------------------------------------------

def test_placeholders_are_listed_and_refuse_to_be_used():
    m = nn.LazyLinear(3)
    assert repr(m) == "LazyLinear(in_features=0, out_features=3, bias=True)"  # PyTorch's
    params = list(m.parameters())
    assert [type(p).__name__ for p in params] == ["UninitializedParameter"] * 2
    assert all(isinstance(p, nn.Parameter) and p.requires_grad and is_lazy(p) for p in params)
    assert repr(m.weight) == "<UninitializedParameter>" and m.weight.dtype == np.float32
    sd = m.state_dict()
    assert list(sd) == ["weight", "bias"] and sd["weight"] is m.weight  # PyTorch: the objects
    with pytest.raises(RuntimeError, match="Can't access the shape of an uninitialized"):
        _ = m.weight.shape
    with pytest.raises(RuntimeError, match="call the model once on a batch"):
        _ = m.weight.ndim
    for use in (lambda: m.weight + 1, lambda: m.weight.sum(), lambda: m.weight.numpy(),
                lambda: np.asarray(m.weight), lambda: m.weight.numel(), lambda: len(m.bias),
                lambda: m.weight.zero_(), lambda: m.weight.to(tg.float64),
                lambda: m.weight[0]):
        with pytest.raises(ValueError, match="uninitialized parameter"):
            use()
    with pytest.raises(ValueError, match="call the model once on a batch"):
        sum(p.numel() for p in m.parameters())  # PyTorch refuses numel() too
    # an op reached without the Tensor methods (the functional face) fails in numpy, loudly
    with pytest.raises(ValueError, match="uninitialized parameter was used in numpy's"):
        tg.ops.add(m.weight, tg.ones(3))
    with pytest.raises(ValueError, match="save: 'weight' is an uninitialized parameter"):
        tg.save(m, "never-written.npz")


def test_a_fill_through_data_before_the_first_call_changes_nothing_as_in_pytorch():
    # PyTorch's .data of a placeholder is an empty tensor: writes into it are lost and the
    # module draws its initial values at the first call (a textbook writes
    # net.weight.data.normal_(0, 0.01) right after LazyLinear(1) and gets PyTorch's default)
    lazy = nn.LazyLinear(2, generator=rng(3))
    assert lazy.weight.data.shape == (0,) and lazy.weight.data.dtype == np.float32
    lazy.weight.data.normal_(0, 0.01)
    lazy.bias.data.fill_(0)
    lazy(np.ones((1, 4), dtype=np.float32))
    eager = nn.Linear(4, 2, generator=rng(3))
    np.testing.assert_array_equal(lazy.weight.numpy(), eager.weight.numpy())
    np.testing.assert_array_equal(lazy.bias.numpy(), eager.bias.numpy())


def test_an_optimizer_built_before_the_first_call_trains_the_materialized_parameters():
    x = rng(1).normal(size=(6, 4)).astype(np.float32)
    y = rng(2).normal(size=(6, 2)).astype(np.float32)
    results = []
    for lazy in (True, False):
        model = nn.Sequential(nn.LazyLinear(5, generator=rng(0)), nn.Tanh(),
                              nn.LazyLinear(2, generator=rng(1))) if lazy else \
            nn.Sequential(nn.Linear(4, 5, generator=rng(0)), nn.Tanh(),
                          nn.Linear(5, 2, generator=rng(1)))
        opt = tg.optim.Adam(model.parameters(), lr=0.05)  # PyTorch accepts placeholders
        held = list(model.parameters())
        for _ in range(3):
            opt.zero_grad()
            loss = ((model(tg.tensor(x)) - tg.tensor(y)) ** 2).mean()
            loss.backward()
            opt.step()
        assert [p for p in model.parameters()] == held  # the same objects, now Parameters
        assert all(type(p) is nn.Parameter for p in held)
        results.append((loss.item(), [p.numpy().copy() for p in held]))
    (lazy_loss, lazy_params), (eager_loss, eager_params) = results
    assert lazy_loss == eager_loss
    for a, b in zip(lazy_params, eager_params):
        np.testing.assert_array_equal(a, b)


def test_an_optimizer_step_before_the_first_call_skips_the_placeholders():
    m = nn.LazyLinear(2)
    opt = tg.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
    opt.zero_grad()
    opt.step()  # nothing has a gradient yet, as in PyTorch
    assert opt.state == {} and is_lazy(m.weight)
    with pytest.raises(ValueError, match=r"params\[1\] is the same tensor as params\[0\] "
                                         r"\(shape not known yet\)"):
        tg.optim.SGD([m.weight, m.weight], lr=0.1)


def test_reset_parameters_waits_for_the_sizes_as_in_pytorch():
    m = nn.LazyLinear(3)
    m.reset_parameters()  # nothing to draw yet
    assert is_lazy(m.weight)
    loaded = nn.LazyLinear(3)
    src = nn.Linear(4, 3)
    loaded.load_state_dict(src.state_dict())
    loaded.reset_parameters()  # in_features is not known until the first call: kept as loaded
    np.testing.assert_array_equal(loaded.weight.numpy(), src.weight.numpy())
    loaded(tg.ones(1, 4))
    loaded.reset_parameters()  # now an ordinary Linear: redrawn
    assert not np.array_equal(loaded.weight.numpy(), src.weight.numpy())


# -- the first call ----------------------------------------------------------------------------

def test_the_first_call_makes_the_eager_layer_in_place():
    m = nn.LazyLinear(3, generator=rng(0))
    w, b = m.weight, m.bias
    out = m(tg.ones(2, 7))
    assert type(m) is nn.Linear and m.in_features == 7  # PyTorch: type(m) == nn.Linear
    assert m.weight is w and m.bias is b and type(w) is nn.Parameter
    assert w.shape == (3, 7) and b.shape == (3,) and out.shape == (2, 3)
    assert repr(m) == "Linear(in_features=7, out_features=3, bias=True)"
    eager = nn.Linear(7, 3, generator=rng(0))
    np.testing.assert_array_equal(w.numpy(), eager.weight.numpy())
    np.testing.assert_array_equal(b.numpy(), eager.bias.numpy())
    np.testing.assert_array_equal(m(tg.ones(2, 7)).numpy(), eager(tg.ones(2, 7)).numpy())
    with pytest.raises(ValueError):  # now an ordinary Linear of 7 inputs
        m(tg.ones(2, 4))


def test_lazy_linear_takes_linears_options():
    m = nn.LazyLinear(2, bias=False, dtype=tg.float64, init="xavier_uniform",
                      generator=rng(4))
    assert m.bias is None and list(m.state_dict()) == ["weight"]
    m(np.zeros((5, 3)))
    eager = nn.Linear(3, 2, bias=False, dtype=tg.float64, init="xavier_uniform",
                      generator=rng(4))
    assert m.weight.dtype == np.float64
    np.testing.assert_array_equal(m.weight.numpy(), eager.weight.numpy())
    assert nn.LazyLinear(2, device=tg.device("cpu")).out_features == 2
    with pytest.raises(ValueError, match="device 'cuda:0' is not available"):
        nn.LazyLinear(2, device=tg.device("cuda:0"))
    with pytest.raises(ValueError, match="out_features must be a positive int"):
        nn.LazyLinear(0)
    with pytest.raises(ValueError, match="unknown initialiser"):
        nn.LazyLinear(2, init="nope")


def test_lazy_conv_infers_in_channels_and_draws_as_conv():
    x = rng(5).normal(size=(2, 4, 9, 9)).astype(np.float32)
    m = nn.LazyConv2d(6, kernel_size=3, stride=2, padding=1, groups=2, generator=rng(6))
    assert repr(m) == "LazyConv2d(0, 6, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), " \
                      "groups=2)"
    out = m(tg.tensor(x))
    eager = nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2, generator=rng(6))
    assert type(m) is nn.Conv2d and m.in_channels == 4 and m.weight.shape == (6, 2, 3, 3)
    np.testing.assert_array_equal(m.weight.numpy(), eager.weight.numpy())
    np.testing.assert_array_equal(m.bias.numpy(), eager.bias.numpy())
    np.testing.assert_array_equal(out.numpy(), eager(tg.tensor(x)).numpy())
    c1 = nn.LazyConv1d(3, 2)
    assert c1(tg.ones(1, 5, 7)).shape == (1, 3, 6) and type(c1) is nn.Conv1d
    assert c1.weight.shape == (3, 5, 2)
    with pytest.raises(ValueError, match=r"LazyConv2d: expected an input of 4 dims \(N, C, H, "
                                         r"W\), got shape \(3, 8, 8\)"):
        nn.LazyConv2d(2, 3)(tg.ones(3, 8, 8))
    with pytest.raises(ValueError, match="groups=2 must divide in_channels=3"):
        nn.LazyConv2d(4, 3, groups=2)(tg.ones(1, 3, 8, 8))
    with pytest.raises(ValueError, match="groups=4 must divide out_channels=6"):
        nn.LazyConv2d(6, 3, groups=4)


@pytest.mark.parametrize("lazy, eager, shape", [(nn.LazyBatchNorm2d, nn.BatchNorm2d, (4, 3, 5, 5)),
                                                 (nn.LazyBatchNorm1d, nn.BatchNorm1d, (6, 5)),
                                                 (nn.LazyBatchNorm1d, nn.BatchNorm1d, (6, 5, 2))])
def test_lazy_batch_norm_matches_batch_norm(lazy, eager, shape):
    x = rng(7).normal(size=shape).astype(np.float32)
    m = lazy(momentum=0.3)
    assert repr(m).startswith(f"{lazy.__name__}(0, eps=1e-05, momentum=0.3, affine=True")
    sd = m.state_dict()
    assert list(sd) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    assert [type(v).__name__ for v in sd.values()][:4] == \
        ["UninitializedParameter"] * 2 + ["UninitializedBuffer"] * 2
    assert sd["num_batches_tracked"] == 0  # a real tensor from the start, as in PyTorch
    ref = eager(shape[1], momentum=0.3)
    for module in (m, ref):
        module(tg.tensor(x))
        module(tg.tensor(x * 2 + 1))
    assert type(m) is eager and m.num_features == shape[1]
    assert not is_lazy(m.running_mean) and type(m.running_mean) is tg.Tensor
    for k, v in ref.state_dict().items():
        np.testing.assert_array_equal(m.state_dict()[k], v, err_msg=k)
    m.eval()
    ref.eval()
    np.testing.assert_array_equal(m(tg.tensor(x)).numpy(), ref(tg.tensor(x)).numpy())


def test_lazy_batch_norm_without_affine_or_statistics():
    m = nn.LazyBatchNorm1d(affine=False, track_running_stats=False)
    assert list(m.parameters()) == [] and m.state_dict() == {}
    out = m(tg.tensor([[1.0, 2.0], [3.0, 6.0]]))
    assert type(m) is nn.BatchNorm1d and m.num_features == 2
    np.testing.assert_allclose(out.numpy(), [[-1, -1], [1, 1]], atol=1e-4)
    with pytest.raises(ValueError, match=r"LazyBatchNorm2d: expected an input of 4 dims"):
        nn.LazyBatchNorm2d()(tg.ones(2, 3))


def test_module_to_before_the_first_call_sets_the_dtype_it_will_have():
    m = nn.Sequential(nn.LazyLinear(2), nn.LazyBatchNorm1d())
    m.to(tg.float64)
    assert m[0].weight.dtype == np.float64 and m[1].running_mean.dtype == np.float64
    assert is_lazy(m[0].weight)
    out = m(np.ones((3, 4)))
    assert out.dtype == np.float64 and m[0].weight.dtype == np.float64


def test_deepcopy_of_a_lazy_model_is_lazy_and_independent():
    m = nn.LazyLinear(2)
    c = copy.deepcopy(m)
    assert type(c) is nn.LazyLinear and is_lazy(c.weight) and c.weight is not m.weight
    c(tg.ones(1, 3))
    assert type(c) is nn.Linear and type(m) is nn.LazyLinear and is_lazy(m.weight)


# -- state dicts -------------------------------------------------------------------------------

def test_load_state_dict_gives_a_lazy_module_the_states_shapes():
    src = nn.Sequential(nn.Linear(4, 3, generator=rng(8)), nn.BatchNorm1d(3))
    src(tg.ones(2, 4))  # (moves the running statistics)
    m = nn.Sequential(nn.LazyLinear(3), nn.LazyBatchNorm1d())
    m.load_state_dict(src.state_dict())
    assert not any(is_lazy(p) for p in m.parameters()) and m[0].weight.shape == (3, 4)
    assert type(m[0]) is nn.LazyLinear  # until the first call, as in PyTorch
    for k, v in src.state_dict().items():
        np.testing.assert_array_equal(m.state_dict()[k], v, err_msg=k)
    m.eval()
    src.eval()
    x = rng(9).normal(size=(5, 4)).astype(np.float32)
    np.testing.assert_array_equal(m(tg.tensor(x)).numpy(), src(tg.tensor(x)).numpy())  # no redraw
    assert type(m[0]) is nn.Linear and m[0].in_features == 4


def test_the_first_call_after_a_load_checks_the_input_against_the_loaded_shapes():
    m = nn.LazyLinear(3)
    m.load_state_dict(nn.Linear(4, 3).state_dict())
    with pytest.raises(ValueError, match=r"LazyLinear: the first input implies a weight of "
                                         r"shape \(3, 5\), but the weight loaded by "
                                         r"load_state_dict has shape \(3, 4\)"):
        m(tg.ones(2, 5))
    half = nn.LazyLinear(3)
    half.load_state_dict({"weight": np.zeros((3, 4), np.float32)}, strict=False)
    with pytest.raises(RuntimeError, match=r"\['bias'\] are still uninitialized but "
                                           r"\['weight'\] were loaded"):
        half(tg.ones(2, 4))


def test_an_uninitialized_state_loads_nothing_and_is_refused_by_an_initialized_module():
    lazy_state = nn.LazyLinear(3).state_dict()
    other = nn.LazyLinear(3)
    other.load_state_dict(lazy_state)  # placeholder into placeholder: nothing to copy
    assert is_lazy(other.weight)
    with pytest.raises(ValueError, match="'weight': the state holds an uninitialized "
                                         "parameter"):
        nn.Linear(4, 3).load_state_dict(lazy_state)


def test_a_lazy_model_traced_by_jit_gives_the_eager_steps():
    losses = []
    for compiled in (True, False):
        tg.manual_seed(0)
        net = nn.Sequential(nn.LazyLinear(8), nn.ReLU(), nn.LazyLinear(1))
        opt = tg.optim.SGD(net.parameters(), lr=0.1)
        x, y = tg.randn(16, 4), tg.randn(16, 1)

        def step(x, y, net=net, opt=opt):
            opt.zero_grad()
            loss = ((net(x) - y) ** 2).mean()
            loss.backward()
            opt.step()
            return loss

        run = tg.jit(step) if compiled else step
        losses.append([run(x, y).item() for _ in range(4)])
    assert losses[0] == losses[1]
