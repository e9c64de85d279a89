"""Engine semantics: accumulation, graph freeing, errors, depth, conventions at kinks and
ties, tg.grad, higher order, grad mode, memory release, the extension API."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

import tinygrad_reg as tg
from tinygrad_reg.autograd import iter_graph, wrap
from tinygrad_reg.testing import gradcheck, gradgradcheck


def t64(a, grad=True):
    return tg.Tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


# -- accumulation ---------------------------------------------------------------------------

def test_gradients_accumulate_across_uses_in_one_graph():
    x = t64([1.0, -2.0, 3.0])
    y = (x * x + x * 3.0 + x).sum()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.numpy() + 4.0)


def test_gradients_accumulate_across_backward_calls_until_cleared():
    x = t64([1.0, 2.0])
    (x * 3.0).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 3.0 + 2 * x.numpy())
    x.zero_grad()
    assert x.grad is None
    (x * 5.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [5.0, 5.0])


def test_accumulation_never_writes_into_arrays_held_elsewhere():
    x = t64(np.zeros((2, 2)))
    g = np.arange(4.0).reshape(2, 2)
    x.reshape(4).reshape(2, 2).backward(g)  # the gradient reaching x may be g itself
    first = x.grad.numpy()
    (x + x).backward(g)
    np.testing.assert_array_equal(g, np.arange(4.0).reshape(2, 2))
    np.testing.assert_array_equal(first, g)  # an earlier .grad is not updated in place...
    np.testing.assert_array_equal(x.grad.numpy(), 3 * g)
    x.grad.data[0, 0] = 100.0  # ...and the user's edits to .grad do not reach g
    assert g[0, 0] == 0.0


def test_each_leaf_owns_its_grad_array():
    a, b = t64([1.0, 2.0]), t64([3.0, 4.0])
    (a + b).sum().backward()
    assert not np.shares_memory(a.grad.numpy(), b.grad.numpy())


# -- graph freeing --------------------------------------------------------------------------

def test_second_backward_through_freed_graph_raises_runtime_error():
    x = t64([1.0, 2.0])
    y = (x.exp() * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time.*retain_graph=True"):
        y.backward()


def test_retain_graph_allows_a_second_backward():
    x = t64([1.0, 2.0])
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * (np.exp(x.numpy()) * (x.numpy() + 1)))
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_freed_graph_can_still_be_walked():
    x = t64([1.0, 2.0])
    y = (x * 2.0).tanh().sum()
    y.backward()
    assert [n.name for n in iter_graph([y])] == ["Sum", "Tanh", "Mul"]


def test_saved_values_are_released_after_backward():
    x = t64(rand(3))
    y = x.exp()
    node = y.grad_fn
    z = (y * 2.0).sum()
    z.backward()
    assert node._saved == ()  # the saved output is dropped
    with pytest.raises(RuntimeError, match="second time"):
        _ = node.saved_tensors


def test_intermediate_arrays_are_freed_after_backward():
    x = t64(rand(50))
    h = x * 3.0
    y = (h * h).sum()  # Mul saves h's array
    ref = weakref.ref(h.numpy())
    del h
    gc.collect()
    assert ref() is not None  # held by the graph
    y.backward()
    gc.collect()
    assert ref() is None


class Probe(tg.Function):
    """Identity whose backward records which watched arrays are still alive when it runs."""

    watched: list = []
    alive_at_backward: list = []

    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, grad):
        gc.collect()
        Probe.alive_at_backward = [r() is not None for r in Probe.watched]
        return grad


def test_memory_falls_as_backward_proceeds():
    x = t64(rand(1000))
    h = Probe.apply(x)  # the first op: its backward runs last
    Probe.watched = []
    for _ in range(5):
        h = (h * 1.5).tanh()  # Tanh saves its output, Mul its inputs
        Probe.watched.append(weakref.ref(h.numpy()))
    y = h.sum()
    del h
    y.backward()
    assert Probe.alive_at_backward == [False] * 5


# -- errors ---------------------------------------------------------------------------------

def test_backward_of_non_scalar_without_grad_is_a_runtime_error():
    y = t64([1.0, 2.0]) * 2.0
    with pytest.raises(RuntimeError, match=r"only for one-element outputs.*\(2,\)"):
        y.backward()


def test_grad_of_wrong_shape_is_a_value_error_naming_both_shapes():
    y = t64(rand(2, 3)) * 2.0
    with pytest.raises(ValueError, match=r"\(3, 2\).*\(2, 3\)"):
        y.backward(np.ones((3, 2)))


def test_backward_on_a_tensor_without_graph_is_a_runtime_error():
    with pytest.raises(RuntimeError, match="does not require grad"):
        t64([1.0], grad=False).backward()


@pytest.mark.parametrize("make, words", [
    (lambda: t64(rand(2, 3)) @ t64(rand(4, 5)), ["MatMul", "(2, 3)", "(4, 5)"]),
    (lambda: t64(rand(2, 3)) + t64(rand(4)), ["Add", "(2, 3)", "(4,)"]),
    (lambda: t64(rand(2, 3)) * t64(rand(3, 2)), ["Mul", "(2, 3)", "(3, 2)"]),
    (lambda: t64(rand(2, 3)).reshape(4), ["reshape", "(2, 3)", "(4,)"]),
    (lambda: tg.concatenate([t64(rand(2, 3)), t64(rand(2, 4))]),
     ["Concatenate", "(2, 3)", "(2, 4)"]),
    (lambda: t64(rand(2, 3)).broadcast_to((4, 3, 2)), ["BroadcastTo", "(2, 3)", "(4, 3, 2)"]),
    (lambda: t64(rand(3)) @ t64(3.0), ["MatMul", "(3,)", "()"]),
])
def test_shape_errors_are_value_errors_naming_op_and_shapes(make, words):
    with pytest.raises(ValueError) as info:
        make()
    for w in words:
        assert w in str(info.value), (w, str(info.value))


# -- depth: nothing recursive ---------------------------------------------------------------

def test_chain_of_100000_ops_backpropagates_without_recursion():
    x = t64([0.5])
    y = x
    for _ in range(100_000):
        y = y + 1.0
    assert len(iter_graph([y])) == 100_000
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0])
    del y  # tearing down a freed 100 000-node graph must not recurse either
    gc.collect()


def test_deep_chain_tg_grad_and_second_order():
    x = t64([0.3])
    y = x
    for _ in range(5_000):
        y = y * 1.0
    (g,) = tg.grad(y * y, [x], create_graph=True)
    (h,) = tg.grad(g, [x])
    np.testing.assert_allclose(g.numpy(), [0.6])
    np.testing.assert_allclose(h.numpy(), [2.0])


# -- conventions at kinks and ties (exact) --------------------------------------------------

def grad_of(fn, x, up):
    x = t64(x)
    (g,) = tg.grad(fn(x), [x], t64(up, grad=False))
    return g.numpy()


def test_relu_derivative_at_zero_is_zero():
    np.testing.assert_array_equal(grad_of(tg.relu, [-1.0, 0.0, 2.0], [5.0, 7.0, 11.0]),
                                  [0.0, 0.0, 11.0])


def test_abs_derivative_at_zero_is_zero():
    np.testing.assert_array_equal(grad_of(tg.abs, [-1.0, 0.0, 2.0], [5.0, 7.0, 11.0]),
                                  [-5.0, 0.0, 11.0])


def test_clip_passes_gradient_on_the_closed_interval():
    # PyTorch's clamp: a value equal to a bound passes the gradient
    x = [-2.0, -1.0, -0.5, 0.0, 1.0, 3.0]
    g = grad_of(lambda t: t.clip(-1.0, 1.0), x, np.arange(1.0, 7.0))
    np.testing.assert_array_equal(g, [0.0, 2.0, 3.0, 4.0, 5.0, 0.0])
    g = grad_of(lambda t: t.clip(None, 0.0), x, np.ones(6))
    np.testing.assert_array_equal(g, [1.0, 1.0, 1.0, 1.0, 0.0, 0.0])
    g = grad_of(lambda t: t.clip(-1.0, None), x, np.ones(6))
    np.testing.assert_array_equal(g, [0.0, 1.0, 1.0, 1.0, 1.0, 1.0])


def test_max_and_min_reductions_split_ties_evenly():
    np.testing.assert_array_equal(grad_of(lambda t: t.max(), [1.0, 3.0, 3.0, 2.0], 6.0),
                                  [0.0, 3.0, 3.0, 0.0])
    np.testing.assert_array_equal(grad_of(lambda t: t.min(), [1.0, 1.0, 1.0, 2.0], 6.0),
                                  [2.0, 2.0, 2.0, 0.0])
    x = [[1.0, 1.0, 0.0], [2.0, 0.0, 2.0]]
    np.testing.assert_array_equal(grad_of(lambda t: t.amax(axis=1), x, [4.0, 8.0]),
                                  [[2.0, 2.0, 0.0], [4.0, 0.0, 4.0]])
    x = [[1.0, 1.0, 0.0], [2.0, 0.0, 0.0]]
    np.testing.assert_array_equal(
        grad_of(lambda t: t.amin(axis=0, keepdims=True), x, [[4.0, 8.0, 2.0]]),
        [[4.0, 0.0, 1.0], [0.0, 8.0, 1.0]])


def test_maximum_and_minimum_ties_split_evenly():
    a, b = t64([1.0, 2.0, 3.0]), t64([1.0, 5.0, 0.0])
    ga, gb = tg.grad(tg.maximum(a, b), [a, b], t64([2.0, 4.0, 6.0], grad=False))
    np.testing.assert_array_equal(ga.numpy(), [1.0, 0.0, 6.0])
    np.testing.assert_array_equal(gb.numpy(), [1.0, 4.0, 0.0])
    ga, gb = tg.grad(tg.minimum(a, b), [a, b], t64([2.0, 4.0, 6.0], grad=False))
    np.testing.assert_array_equal(ga.numpy(), [1.0, 4.0, 0.0])
    np.testing.assert_array_equal(gb.numpy(), [1.0, 0.0, 6.0])
    # a broadcast scalar collects its halves from every tie
    x, s = t64([0.0, 1.0, 1.0]), t64(1.0)
    gx, gs = tg.grad(tg.maximum(x, s).sum(), [x, s])
    np.testing.assert_array_equal(gx.numpy(), [0.0, 0.5, 0.5])
    assert gs.item() == 2.0


def test_getitem_with_repeated_indices_accumulates():
    x = t64([1.0, 2.0, 3.0])
    (g,) = tg.grad(x[[0, 2, 0, 0]], [x], t64([1.0, 10.0, 100.0, 1000.0], grad=False))
    np.testing.assert_array_equal(g.numpy(), [1101.0, 0.0, 10.0])


# -- tg.grad --------------------------------------------------------------------------------

def test_tg_grad_does_not_touch_dot_grad():
    x = t64([1.0, 2.0])
    x.grad = tg.Tensor(np.array([7.0, 7.0]))
    (g,) = tg.grad((x * x).sum(), [x])
    np.testing.assert_array_equal(g.numpy(), [2.0, 4.0])
    np.testing.assert_array_equal(x.grad.numpy(), [7.0, 7.0])
    y = t64([1.0])
    tg.grad((y * 3.0).sum(), y)
    assert y.grad is None


def test_tg_grad_allow_unused():
    x, unused = t64([1.0]), t64([2.0])
    with pytest.raises(RuntimeError, match="input 1.*allow_unused=True"):
        tg.grad((x * 2.0).sum(), [x, unused])
    gx, gu = tg.grad((x * 2.0).sum(), [x, unused], allow_unused=True)
    assert gx.item() == 2.0 and gu is None


def test_tg_grad_of_intermediate_and_several_outputs():
    x = t64([1.0, 2.0])
    h = x * 3.0
    a, b = h.sum(), (h * h).sum()
    gh, gx = tg.grad([a, b], [h, x])
    np.testing.assert_allclose(gh.numpy(), 1.0 + 2 * h.numpy())
    np.testing.assert_allclose(gx.numpy(), 3.0 * (1.0 + 2 * h.numpy()))


def test_create_graph_gives_hessian_vector_products():
    rng = np.random.default_rng(3)
    A = rng.standard_normal((4, 4))
    x, v = t64(rng.standard_normal(4)), rng.standard_normal(4)
    f = 0.5 * (x @ (tg.Tensor(A) @ x)) + (x ** 3).sum() / 3.0
    (g,) = tg.grad(f, [x], create_graph=True)
    np.testing.assert_allclose(g.numpy(), 0.5 * (A + A.T) @ x.numpy() + x.numpy() ** 2, rtol=1e-12)
    (hv,) = tg.grad((g * tg.Tensor(v)).sum(), [x])
    H = 0.5 * (A + A.T) + np.diag(2 * x.numpy())
    np.testing.assert_allclose(hv.numpy(), H @ v, rtol=1e-12)


def test_gradient_penalty_trains_through_the_gradient():
    w = t64([0.5, -1.0])
    x = t64([2.0, 3.0])
    out = ((x * w).tanh()).sum()
    (gx,) = tg.grad(out, [x], create_graph=True)
    penalty = (gx * gx).sum()
    penalty.backward()
    assert w.grad is not None and x.grad is not None
    assert gradcheck(lambda ww: (tg.grad((x.detach().requires_grad_() * ww).tanh().sum(),
                                         [ww], create_graph=True)[0] ** 2).sum(), [w])


def test_backward_with_create_graph_records_grad_graph():
    x = t64([1.5])
    (x ** 3).sum().backward(create_graph=True)
    assert x.grad.grad_fn is not None
    g = x.grad
    x.grad = None
    g.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [6 * 1.5])


# -- grad mode ------------------------------------------------------------------------------

def test_no_grad_context_manager():
    x = t64([1.0])
    with tg.no_grad():
        assert not tg.is_grad_enabled()
        y = x * 2.0
    assert tg.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None


def test_no_grad_decorator_and_restoring_after_exceptions():
    x = t64([1.0])

    @tg.no_grad()
    def f(t):
        return t * 2.0

    y = f(x)
    assert y.grad_fn is None and tg.is_grad_enabled()
    with pytest.raises(KeyError):
        with tg.no_grad():
            raise KeyError("inside no_grad")
    assert tg.is_grad_enabled()


def test_enable_grad_inside_no_grad():
    x = t64([1.0])
    with tg.no_grad():
        with tg.enable_grad():
            y = x * 2.0
        z = x * 2.0
    assert y.grad_fn is not None and z.grad_fn is None

    @tg.enable_grad()
    def g(t):
        return t * 3.0

    with tg.no_grad():
        assert g(x).requires_grad


def test_set_grad_enabled():
    with tg.set_grad_enabled(False):
        assert not tg.is_grad_enabled()
    assert tg.is_grad_enabled()


# -- extension API --------------------------------------------------------------------------

class Softplus(tg.Function):
    """An example op."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.logaddexp(0.0, x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x.sigmoid()


class Huber(tg.Function):
    """An op with an apply kwarg and an arbitrary ctx attribute."""

    @staticmethod
    def forward(ctx, x, delta):
        ctx.save_for_backward(x)
        ctx.delta = delta
        a = np.abs(x)
        return np.where(a <= delta, 0.5 * x * x, delta * (a - 0.5 * delta))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x.clip(-ctx.delta, ctx.delta)


def test_extension_softplus_is_twice_differentiable():
    x = t64(rand(3, 2))
    y = Softplus.apply(x)
    np.testing.assert_allclose(y.numpy(), np.log1p(np.exp(x.numpy())))
    assert y.grad_fn.name == "Softplus"
    assert gradcheck(Softplus.apply, [x])
    assert gradgradcheck(Softplus.apply, [x])


def test_extension_kwargs_and_ctx_attributes():
    x = t64([0.5, -3.0, 2.0])
    y = Huber.apply(x, delta=1.0)
    assert y.grad_fn.attrs == {"delta": 1.0}
    assert "delta=1.0" in repr(y.grad_fn)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.5, -1.0, 1.0])
    assert gradcheck(lambda t: Huber.apply(t, delta=1.0), [x])


def test_saved_input_comes_back_as_the_input_tensor():
    seen = []

    class Keep(tg.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x, x * 2.0)
            return x * 1.0

        @staticmethod
        def backward(ctx, grad):
            seen.extend(ctx.saved_tensors)
            return grad

    x = t64([1.0])
    Keep.apply(x).sum().backward()
    assert seen[0] is x
    assert not seen[1].requires_grad and seen[1].item() == 2.0


def test_backward_returning_wrong_number_of_grads_is_an_error():
    class Bad(tg.Function):
        @staticmethod
        def forward(ctx, a, b):
            return a + b

        @staticmethod
        def backward(ctx, grad):
            return grad

    a, b = t64([1.0]), t64([2.0])
    with pytest.raises(RuntimeError, match="Bad: backward returned 1 gradients for 2 inputs"):
        Bad.apply(a, b).sum().backward()


def test_numpy_backward_gives_correct_first_derivative_and_refuses_second():
    class Cube(tg.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return 3.0 * x.numpy() ** 2 * grad.numpy()

    x = t64([2.0])
    Cube.apply(x).sum().backward()
    assert x.grad.item() == 12.0
    (g,) = tg.grad(Cube.apply(x).sum(), [x], create_graph=True)
    assert g.item() == 12.0
    with pytest.raises(RuntimeError, match="Cube"):
        tg.grad(g.sum(), [x])


def test_wrap_is_a_constant():
    c = wrap(np.ones(2))
    assert not c.requires_grad and c.grad_fn is None
