"""The Tensor: attributes, dtype policy, operators, comparisons, repr, stability at ±1000,
and a worked example."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import tinygrad_reg as tg
from tinygrad_reg.autograd import iter_graph


def t64(a, grad=True):
    return tg.Tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def t32(a, grad=True):
    return tg.Tensor(np.asarray(a, dtype=np.float32), requires_grad=grad)


# -- attributes -----------------------------------------------------------------------------

def test_attributes_of_a_leaf_and_of_an_op_result():
    data = np.arange(6.0).reshape(2, 3)
    x = tg.Tensor(data, requires_grad=True, name="x")
    assert x.numpy() is data and x.data.numpy() is data  # kept as is, no copy
    assert (x.shape, x.ndim, x.size(), x.size(1), x.numel(), x.dim(), x.dtype) == (
        (2, 3), 2, (2, 3), 3, 6, 2, np.float64)  # size() is PyTorch's; numel() numpy's .size
    assert x.grad is None and x.requires_grad and x.is_leaf and x.grad_fn is None
    assert x.name == "x"
    y = x * 2.0
    assert not y.is_leaf and y.grad_fn.name == "Mul" and y.requires_grad
    assert y.T.shape == (3, 2) and len(y) == 2
    assert [r.shape for r in y] == [(3,), (3,)]


def test_item_detach_float_and_bool():
    x = t64([[2.5]])
    assert x.item() == 2.5 and float(x) == 2.5 and bool(x)
    d = (x * 2.0).detach()
    assert d.is_leaf and not d.requires_grad
    with pytest.raises(ValueError, match="one-element"):
        t64([1.0, 2.0]).item()
    with pytest.raises(ValueError, match="ambiguous"):
        bool(t64([1.0, 2.0]))


def test_detach_of_a_detached_tensor_whose_source_is_gone():
    # a running statistic kept as x.detach() step after step (a batch norm written by hand):
    # the op result it was detached from is freed, and detaching it again must still work
    d = (t64([1.0, -2.0]) * 2.0).detach()
    import gc

    gc.collect()
    again = d.detach()
    assert again.tolist() == [2.0, -4.0] and again.is_leaf
    w = t64([3.0, 4.0])
    loss = (w * again).sum()
    again.data[0] = 5.0  # a write through the alias is still seen by the graph that saved d
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        loss.backward()


# -- dtype policy ---------------------------------------------------------------------------

@pytest.mark.parametrize("data, dtype", [
    (2.5, np.float32), (3, np.float32), ([1.0, 2.0], np.float32), ([[1, 2]], np.float32),
    (np.array([1.0]), np.float64), (np.array([1.0], np.float32), np.float32),
    (np.float64(2.0), np.float64), (np.array([1, 2]), np.int64), (True, np.bool_),
])
def test_dtype_policy(data, dtype):
    assert tg.Tensor(data).dtype == dtype


def test_dtype_argument_overrides():
    assert tg.Tensor([1, 2], dtype=np.float64).dtype == np.float64


@pytest.mark.parametrize("data", [np.array([1, 2]), np.array([True]), [True, False]])
def test_int_and_bool_tensors_cannot_require_grad(data):
    with pytest.raises(TypeError, match="only floating-point tensors can require grad"):
        tg.Tensor(data, requires_grad=True)
    with pytest.raises(TypeError, match="requires_grad_"):
        tg.Tensor(data).requires_grad_()


def test_float32_stays_float32_with_python_scalars_in_forward_and_every_grad():
    x = t32(np.linspace(-1.0, 1.0, 6).reshape(2, 3))
    w = t32(np.full((3, 2), 0.5))
    h = (2.5 * x - 1.0) / 3.0 + x ** 2 + 0.5 ** x
    h = tg.where(h > 0.2, h, 0.1).clip(-0.7, 2.0)
    y = ((h @ w).sigmoid() * 1.5).mean() + (x.var() * 0.1) + x.tanh().logsumexp() * 1e-3
    assert all(t.dtype == np.float32 for t in (h, y))
    (gx,) = tg.grad(y, [x], retain_graph=True, create_graph=True)
    assert gx.dtype == np.float32
    # every node of the recorded backward graph computes in float32
    ggx, gw = tg.grad((gx * gx).sum(), [x, w], retain_graph=True)
    assert ggx.dtype == np.float32 and gw.dtype == np.float32
    y.backward()
    assert x.grad.dtype == np.float32 and w.grad.dtype == np.float32


def test_arrays_promote_as_tensors_python_floats_do_not_upcast():
    x = t32([1.0, 2.0])
    assert (x + 2.0).dtype == np.float32 and (x.numpy() + 2.0).dtype == np.float32  # NEP 50
    # np.float64 subclasses Python float and is treated as one (weak), as PyTorch does,
    # so `x * np.sqrt(2.0)` keeps a float32 model float32; numpy itself would upcast here
    assert (x * np.sqrt(2.0)).dtype == np.float32
    # an array counts as the tensor it would make (torch.result_type): a 0-d one is weak
    # within its category, as PyTorch's 0-d tensors (numpy's NEP 50 would upcast)
    assert (x + np.array(2.0)).dtype == np.float32
    assert (x + np.ones(2)).dtype == np.float64  # a float64 array promotes, as in numpy
    assert (x + np.ones(2, np.float32)).dtype == np.float32


def test_mixed_precision_gradients_come_back_in_each_inputs_dtype():
    a, b = t32([1.0, 2.0]), t64([3.0, 4.0])
    y = (a * b).sum()
    assert y.dtype == np.float64
    y.backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64
    np.testing.assert_array_equal(a.grad.numpy(), [3.0, 4.0])


def test_astype_between_floats_is_differentiable():
    x = t32([1.0, 2.0])
    y = x.astype(np.float64)
    assert y.dtype == np.float64
    (y * y).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0])


# -- operators ------------------------------------------------------------------------------

@pytest.mark.parametrize("op, d", [
    (lambda c, x: c + x, lambda x: np.ones_like(x)),
    (lambda c, x: c - x, lambda x: -np.ones_like(x)),
    (lambda c, x: c * x, lambda x: np.full_like(x, 2.0)),
    (lambda c, x: c / x, lambda x: -2.0 / x ** 2),
    (lambda c, x: c ** x, lambda x: np.log(2.0) * 2.0 ** x),
])
@pytest.mark.parametrize("const", [2.0, np.array([2.0, 2.0])], ids=["scalar", "ndarray"])
def test_reflected_operators_with_scalars_and_ndarrays(op, d, const):
    x = t64([0.5, 1.5])
    y = op(const, x)
    assert isinstance(y, tg.Tensor)
    np.testing.assert_allclose(y.numpy(), op(const, x.numpy()))
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), d(x.numpy()))


def test_forward_operators_with_scalars_and_ndarrays():
    x = t64([1.0, 2.0])
    for y, want in [(x + 1.0, [2.0, 3.0]), (x - np.array([1.0, 1.0]), [0.0, 1.0]),
                    (x * 3, [3.0, 6.0]), (x / 2.0, [0.5, 1.0]), (x ** 2, [1.0, 4.0]),
                    (-x, [-1.0, -2.0]), (+x, [1.0, 2.0]), (abs(-x), [1.0, 2.0])]:
        assert isinstance(y, tg.Tensor)
        np.testing.assert_array_equal(y.numpy(), want)


def test_matmul_operator_with_ndarrays_on_either_side():
    m = np.array([[1.0, 2.0], [3.0, 4.0]])
    x = t64([1.0, -1.0])
    left, right = m @ x, x @ m
    assert isinstance(left, tg.Tensor) and isinstance(right, tg.Tensor)
    np.testing.assert_array_equal(left.numpy(), m @ x.numpy())
    np.testing.assert_array_equal(right.numpy(), x.numpy() @ m)
    (left.sum() + right.sum()).backward()
    np.testing.assert_array_equal(x.grad.numpy(), m.sum(axis=0) + m.sum(axis=1))


@pytest.mark.parametrize("cmp", [
    lambda a, b: a < b, lambda a, b: a <= b, lambda a, b: a > b, lambda a, b: a >= b,
    lambda a, b: a == b, lambda a, b: a != b,
])
def test_comparisons_are_bool_tensors_without_grad(cmp):
    x, y = t64([1.0, 2.0, 3.0]), t64([2.0, 2.0, 2.0])
    for out, want in [(cmp(x, y), cmp(x.numpy(), y.numpy())), (cmp(x, 2.0), cmp(x.numpy(), 2.0)),
                      (cmp(2.0, x), cmp(2.0, x.numpy())),
                      (cmp(np.full(3, 2.0), x), cmp(np.full(3, 2.0), x.numpy()))]:
        assert isinstance(out, tg.Tensor)
        assert out.dtype == np.bool_ and not out.requires_grad and out.grad_fn is None
        np.testing.assert_array_equal(out.numpy(), want)


def test_tensors_are_hashable_by_identity():
    x, y = t64([1.0]), t64([1.0])
    assert len({x, y}) == 2


# -- repr -----------------------------------------------------------------------------------

def test_repr_shows_values_dtype_and_grad_fn():
    x = tg.Tensor(np.array([1.0, 2.5]), requires_grad=True, name="w")
    r = repr(x)
    assert "1." in r and "2.5" in r and "dtype=float64" in r and "requires_grad=True" in r
    assert "name='w'" in r
    r = repr(x * 2.0)
    assert "5." in r and "dtype=float64" in r and "grad_fn=<Mul>" in r
    assert repr(tg.Tensor([1, 2])) == "Tensor([1., 2.], dtype=float32)"


# -- numerical stability --------------------------------------------------------------------

@pytest.mark.parametrize("fn, want", [
    (lambda x: x.sigmoid(), [1.0, 0.0, 0.5]),
    (lambda x: x.tanh(), [1.0, -1.0, 0.0]),
    (lambda x: x.softmax(), [1.0, 0.0, 0.0]),
    (lambda x: x.log_softmax(), [0.0, -2000.0, -1000.0]),
    (lambda x: x.logsumexp(), 1000.0),
    (lambda x: x.reshape(3, 1).logsumexp(axis=1), [1000.0, -1000.0, 0.0]),
])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_stable_at_plus_minus_1000(fn, want, dtype):
    x = tg.Tensor(np.array([1000.0, -1000.0, 0.0], dtype), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow or invalid-value warnings either
        y = fn(x)
        np.testing.assert_allclose(y.numpy(), want, atol=1e-6)
        up = np.linspace(0.5, 1.5, y.numel()).reshape(y.shape).astype(dtype)
        (g,) = tg.grad(y, [x], tg.Tensor(up), create_graph=True)
        (gg,) = tg.grad((g * g).sum(), [x])
    assert y.dtype == dtype and g.dtype == dtype
    assert np.all(np.isfinite(g.numpy())) and np.all(np.isfinite(gg.numpy()))


def test_logsumexp_of_equal_large_values():
    x = t64([1000.0, 1000.0])
    y = x.logsumexp()
    assert y.item() == pytest.approx(1000.0 + np.log(2.0), abs=1e-12)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.5, 0.5])


# -- a worked example -----------------------------------------------------------------------

def test_worked_example():
    rng = np.random.default_rng(0)
    x = tg.Tensor(rng.standard_normal((4, 3)), requires_grad=True)
    w = tg.Tensor(rng.standard_normal((3, 2)), requires_grad=True)
    b = tg.Tensor(np.zeros(2), requires_grad=True)
    loss = ((x @ w + b).relu() ** 2).mean()
    loss.backward()
    assert isinstance(w.grad, tg.Tensor) and w.grad.shape == w.shape
    # by hand: d/dz mean(relu(z)²) = 2·relu(z)/n
    z = x.numpy() @ w.numpy() + b.numpy()
    dz = 2.0 * np.maximum(z, 0.0) / z.size
    np.testing.assert_allclose(w.grad.numpy(), x.numpy().T @ dz, rtol=1e-12)
    np.testing.assert_allclose(b.grad.numpy(), dz.sum(axis=0), rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), dz @ w.numpy().T, rtol=1e-12)
    assert loss.item() == pytest.approx(np.mean(np.maximum(z, 0.0) ** 2), rel=1e-12)
    assert [n.name for n in iter_graph([loss])][0] == "Mean"


def test_manual_seed_makes_default_generator_reproducible():
    tg.manual_seed(7)
    a = tg.default_generator().standard_normal(3)
    tg.manual_seed(7)
    b = tg.default_generator().standard_normal(3)
    np.testing.assert_array_equal(a, b)
