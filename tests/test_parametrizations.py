"""nn.utils.parametrizations.weight_norm and spectral_norm, nn.utils.parametrize: PyTorch's
keys (``parametrizations.weight.original0/1``, ``.original``, ``.0._u``, ``.0._v``), PyTorch
2.13's values (the split into g and v, outputs, gradients, the power iteration in training
mode and its absence in eval mode), gradients against finite differences, removal, tg.jit.

tests/data/torch_parametrizations.npz: per case, PyTorch's state_dict (``<case>.state.<key>``)
and what it computed on the input ``arr(shape, 0.6)`` with the upstream gradient
cos(0.91 i). Weights are ``arr(shape, 0.2, 0.8)``, biases ``arr(shape, 1.0, 0.3)``; for
weight_norm, g was multiplied by 1.5 after the state was saved; for spectral_norm, u and v
were set to normalize(arr(shape, 2.0)) and normalize(arr(shape, 2.5)) before it was saved."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest

import tinygrad_reg as tg
from tinygrad_reg import nn
from tinygrad_reg.nn.utils import parametrize
from tinygrad_reg.nn.utils.parametrizations import spectral_norm, weight_norm

DATA = np.load(Path(__file__).parent / "data" / "torch_parametrizations.npz")


def arr(shape, phase, scale=1.0):
    return np.sin(np.arange(int(np.prod(shape))) * 0.37 + phase).reshape(shape) * scale


def cot(t):
    return tg.tensor(np.cos(np.arange(t.numel()) * 0.91).reshape(t.shape))


def torch_state(case):
    prefix = f"{case}.state."
    return {k[len(prefix):]: DATA[k] for k in DATA.files if k.startswith(prefix)}


def close(actual, key):
    np.testing.assert_allclose(np.asarray(actual), DATA[key], rtol=1e-10, atol=1e-12,
                               err_msg=key)


def with_values(m):
    m.weight.data = arr(m.weight.shape, 0.2, 0.8)
    m.bias.data = arr(m.bias.shape, 1.0, 0.3)
    return m


WN = [("wn_linear", lambda: nn.Linear(3, 2, dtype=np.float64), 0, (4, 3)),
      ("wn_conv_none", lambda: nn.Conv1d(2, 3, 2, dtype=np.float64), None, (2, 2, 5)),
      ("wn_conv_1", lambda: nn.Conv1d(2, 3, 2, dtype=np.float64), 1, (2, 2, 5))]


@pytest.mark.parametrize("case,make,dim,xshape", WN, ids=[c[0] for c in WN])
def test_weight_norm_matches_pytorch(case, make, dim, xshape):
    m = with_values(make())
    w = m.weight
    assert weight_norm(m, dim=dim) is m and type(m).__name__ == "Parametrized" + \
        type(make()).__name__
    state = m.state_dict()
    assert list(state) == list(torch_state(case))  # PyTorch's keys, in its order
    for k, v in torch_state(case).items():  # the split: g = ‖w‖ over all but dim, v = w
        assert state[k].shape == v.shape, k
        np.testing.assert_allclose(state[k], v, rtol=1e-14, atol=0, err_msg=k)
    np.testing.assert_allclose(m.weight.numpy(), w.numpy(), rtol=1e-14)  # same as before
    g = m.parametrizations.weight.original0
    g.data = g.numpy() * 1.5
    x = tg.tensor(arr(xshape, 0.6), requires_grad=True)
    y = m(x)
    (y * cot(y)).sum().backward()
    close(y.numpy(), f"{case}.y")
    close(x.grad.numpy(), f"{case}.gx")
    close(g.grad.numpy(), f"{case}.g0")
    close(m.parametrizations.weight.original1.grad.numpy(), f"{case}.g1")
    close(m.weight.numpy(), f"{case}.w")


SN = [("sn_linear", lambda: nn.Linear(4, 3, dtype=np.float64), (5, 4)),
      ("sn_conv", lambda: nn.Conv2d(2, 3, 2, dtype=np.float64), (1, 2, 3, 3)),
      ("sn_convT", lambda: nn.ConvTranspose2d(2, 3, 2, dtype=np.float64), (1, 2, 2, 2))]


@pytest.mark.parametrize("case,make,xshape", SN, ids=[c[0] for c in SN])
def test_spectral_norm_matches_pytorch_in_training_and_eval(case, make, xshape):
    m = spectral_norm(with_values(make()), generator=np.random.default_rng(0))
    own = {k: v.shape for k, v in m.state_dict().items()}
    assert own == {k: v.shape for k, v in torch_state(case).items()}
    m.load_state_dict(torch_state(case))  # strict
    sn = m.parametrizations.weight[0]
    x = tg.tensor(arr(xshape, 0.6), requires_grad=True)
    y = m(x)  # training: one power iteration, then W / (uᵀ W v)
    (y * cot(y)).sum().backward()
    close(y.numpy(), f"{case}.y")
    close(x.grad.numpy(), f"{case}.gx")
    close(m.parametrizations.weight.original.grad.numpy(), f"{case}.gw")
    close(sn._u.numpy(), f"{case}.u1")
    close(sn._v.numpy(), f"{case}.v1")
    y2 = m(x)  # another iteration
    close(y2.numpy(), f"{case}.y2")
    close(sn._u.numpy(), f"{case}.u2")
    close(sn._v.numpy(), f"{case}.v2")
    m.eval()
    u = sn._u.numpy().copy()
    close(m(x).numpy(), f"{case}.y3")  # eval: u and v as stored
    np.testing.assert_array_equal(sn._u.numpy(), u)


def test_spectral_norm_divides_by_the_largest_singular_value():
    m = spectral_norm(nn.Linear(6, 5, dtype=np.float64, generator=np.random.default_rng(1)),
                      generator=np.random.default_rng(2))
    w = m.parametrizations.weight.original.numpy()
    for _ in range(30):
        m(tg.zeros(1, 6, dtype=np.float64))
    np.testing.assert_allclose(np.linalg.svd(m.weight.numpy(), compute_uv=False)[0], 1.0,
                               rtol=1e-9)
    np.testing.assert_allclose(m.weight.numpy() * np.linalg.svd(w, compute_uv=False)[0], w,
                               rtol=1e-9)
    assert [n for n, _ in m.named_buffers()] == ["parametrizations.weight.0._u",
                                                 "parametrizations.weight.0._v"]
    assert [n for n, _ in m.named_parameters()] == ["bias", "parametrizations.weight.original"]


def test_gradients_against_finite_differences():
    gen = np.random.default_rng(0)
    lin = weight_norm(nn.Linear(3, 2, dtype=np.float64, generator=gen))
    g, v = lin.parametrizations.weight.original0, lin.parametrizations.weight.original1
    x = tg.tensor(gen.standard_normal((4, 3)), requires_grad=True)
    assert tg.testing.gradcheck(lambda x, g, v: lin(x), [x, g, v])
    assert tg.testing.gradgradcheck(lambda x, g, v: lin(x), [x, g, v])
    sn = spectral_norm(nn.Linear(3, 2, dtype=np.float64, generator=gen), generator=gen).eval()
    w = sn.parametrizations.weight.original
    assert tg.testing.gradcheck(lambda x, w: sn(x), [x, w])  # (u and v held fixed in eval)


def test_the_original_parameter_is_kept_and_an_optimizer_keeps_working():
    lin = nn.Linear(3, 2)
    w = lin.weight
    spectral_norm(lin)
    assert lin.parametrizations.weight.original is w  # as PyTorch: same object
    opt = tg.optim.SGD(lin.parameters(), lr=0.1)
    before = w.numpy().copy()
    lin(tg.ones(1, 3)).sum().backward()
    opt.step()
    assert not np.array_equal(before, w.numpy())


def test_assigning_the_weight_goes_through_right_inverse():
    lin = weight_norm(nn.Linear(3, 2, dtype=np.float64))
    new = arr((2, 3), 0.3)
    lin.weight = tg.tensor(new)
    np.testing.assert_allclose(lin.parametrizations.weight.original0.numpy(),
                               np.linalg.norm(new, axis=1, keepdims=True), rtol=1e-14)
    np.testing.assert_allclose(lin.weight.numpy(), new, rtol=1e-14)


def test_remove_parametrizations_gives_back_a_plain_module():
    lin = nn.Linear(3, 2, dtype=np.float64)
    weight_norm(lin)
    g = lin.parametrizations.weight.original0
    g.data = g.numpy() * 2
    value = lin.weight.numpy().copy()
    assert parametrize.is_parametrized(lin, "weight")
    parametrize.remove_parametrizations(lin, "weight")
    assert type(lin) is nn.Linear and not parametrize.is_parametrized(lin)
    assert list(lin.state_dict()) == ["bias", "weight"]  # PyTorch 2.13's order after removal
    np.testing.assert_array_equal(lin.weight.numpy(), value)
    assert isinstance(lin.weight, nn.Parameter)
    # spectral norm, keeping the original instead of the normalized value
    lin2 = nn.Linear(3, 2)
    w = lin2.weight.numpy().copy()
    spectral_norm(lin2)
    parametrize.remove_parametrizations(lin2, "weight", leave_parametrized=False)
    np.testing.assert_array_equal(lin2.weight.numpy(), w)
    # another Linear was never touched: the property lives on the instance's own class
    assert "weight" in nn.Linear(3, 2).__dict__


def test_a_spectral_norm_training_step_replays_bitwise_under_jit():
    def make(jitted):
        gen = np.random.default_rng(0)
        m = nn.Sequential(spectral_norm(nn.Linear(4, 6, generator=gen), generator=gen),
                          nn.ReLU(), weight_norm(nn.Linear(6, 1, generator=gen)))
        opt = tg.optim.SGD(m.parameters(), lr=0.1)

        def step(x):
            opt.zero_grad()
            loss = (m(x) ** 2).mean()
            loss.backward()
            opt.step()
            return loss

        return m, (tg.jit(step) if jitted else step)

    rng = np.random.default_rng(1)
    data = [tg.tensor(rng.standard_normal((8, 4)).astype(np.float32)) for _ in range(5)]
    m1, eager = make(False)
    m2, jitted = make(True)
    assert [eager(x).item() for x in data] == [jitted(x).item() for x in data]
    assert jitted.replays == 3
    for (n, a), b in zip(m1.state_dict().items(), m2.state_dict().values()):
        assert a.tobytes() == b.tobytes(), n


@pytest.mark.parametrize("call,error,words", [
    (lambda: weight_norm(nn.Linear(2, 2), name="nope"), ValueError,
     "has no parameter or buffer with name 'nope'"),
    (lambda: spectral_norm(nn.Linear(2, 2), name="nope"), ValueError,
     "has no parameter or buffer with name 'nope'"),
    (lambda: spectral_norm(nn.Linear(2, 2), n_power_iterations=0), ValueError,
     "expected n_power_iterations to be positive"),
    (lambda: spectral_norm(nn.Linear(2, 2), dim=2), ValueError, "dim must be in [-2, 1]"),
    (lambda: weight_norm(nn.Linear(2, 2), dim=3), ValueError, "dim 3 is out of range"),
    (lambda: parametrize.remove_parametrizations(nn.Linear(2, 2), "weight"), ValueError,
     "does not have a parametrization on weight"),
    (lambda: parametrize.remove_parametrizations(weight_norm(nn.Linear(2, 2)), "weight",
                                                 leave_parametrized=False), ValueError,
     "in terms of a sequence of tensors"),
])
def test_bad_arguments_are_refused_with_messages(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert words in str(info.value)


def test_spectral_norm_of_a_vector_normalizes_it_and_a_zero_vector_stays_zero():
    # PyTorch 2.13: a 1-d weight is F.normalize(w, dim=0, eps): w / max(‖w‖, eps), no u, v
    ln = spectral_norm(nn.LayerNorm(4, dtype=np.float64))
    assert list(ln.state_dict()) == ["bias", "parametrizations.weight.original"]
    ln.parametrizations.weight.original.data = np.array([3.0, 0.0, -4.0, 0.0])
    np.testing.assert_array_equal(ln.weight.numpy(), [0.6, 0.0, -0.8, 0.0])
    ln.parametrizations.weight.original.data = np.zeros(4)
    np.testing.assert_array_equal(ln.weight.numpy(), np.zeros(4))


class Double(nn.Module):
    def forward(self, x):
        return 2 * x


def test_a_deep_copy_has_a_class_of_its_own():
    # removing (or adding) a parametrization on one copy must not touch the other: the
    # properties live on the module's class (PyTorch 2.13 shares the class between copies,
    # and the copy's .weight then raises AttributeError)
    a = weight_norm(nn.Linear(3, 2, generator=np.random.default_rng(0)))
    b = copy.deepcopy(a)
    assert type(b) is not type(a) and type(b).__name__ == "ParametrizedLinear"
    w = a.weight.numpy().copy()
    parametrize.remove_parametrizations(a, "weight")
    assert type(a) is nn.Linear and parametrize.is_parametrized(b, "weight")
    np.testing.assert_array_equal(b.weight.numpy(), w)
    x = tg.randn(4, 3, generator=np.random.default_rng(1))
    np.testing.assert_array_equal(b(x).numpy(), a(x).numpy())
    c = copy.deepcopy(b)
    parametrize.register_parametrization(c, "bias", Double())
    assert not parametrize.is_parametrized(b, "bias") and not hasattr(type(b), "bias")
    np.testing.assert_array_equal(c.bias.numpy(), 2 * b.bias.numpy())
    parametrize.remove_parametrizations(b, "weight")  # and the copy of the copy keeps its weight
    np.testing.assert_array_equal(c.weight.numpy(), w)
