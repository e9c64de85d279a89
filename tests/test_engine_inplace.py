"""The engine's in-place gradient accumulation: only into arrays the backward pass itself
allocated and that nothing else holds (a sum it made, or a leaf's private copy)."""

from __future__ import annotations

import itertools

import numpy as np

import tinygrad_reg as tg


def t64(values):
    return tg.Tensor(np.array(values, dtype=np.float64), requires_grad=True)


def test_a_summed_gradient_handed_on_by_add_is_not_written_again():
    a, b = t64([1.0, 2.0]), t64([3.0, 4.0])
    u = a + b
    # u receives three gradients (summed into one array), which its Add hands to both a and
    # b; a then receives two more, which must not land in b's gradient
    y = (u + u + u).sum() + (a * 5.0).sum() + (a * 7.0).sum()
    y.backward()
    np.testing.assert_array_equal(a.grad.numpy(), [15.0, 15.0])
    np.testing.assert_array_equal(b.grad.numpy(), [3.0, 3.0])
    assert not np.shares_memory(a.grad.numpy(), b.grad.numpy())


def test_a_summed_gradient_handed_to_a_leaf_and_a_node_is_not_written_again():
    # u's summed gradient goes to leaf a and, as its pending gradient, to node p; a then gets
    # more gradients while p still waits for another consumer. Every order of the terms.
    for order in itertools.permutations(range(3)):
        a, b = t64([1.0, 2.0]), t64([3.0, 4.0])
        p = b * 2.0
        u = a + p
        terms = [(u + u + u).sum(), (a * 5.0).sum() + (a * 7.0).sum(), (p * 11.0).sum()]
        y = terms[order[0]] + terms[order[1]] + terms[order[2]]
        y.backward()
        np.testing.assert_array_equal(a.grad.numpy(), [15.0, 15.0])
        np.testing.assert_array_equal(b.grad.numpy(), [28.0, 28.0])


def test_a_summed_gradient_passed_through_a_view_is_not_written_again():
    x = t64(np.zeros((2, 3)))
    h = x.reshape(6)
    # h's gradient is summed from four uses; Reshape hands x a view of that sum, and x then
    # receives more gradients of its own
    y = (h * 1.0 + h * 2.0 + h * 3.0 + h * 4.0).sum() + (x * 10.0).sum() + (x * 20.0).sum()
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full((2, 3), 40.0))


def test_earlier_gradients_held_by_the_user_are_not_changed():
    w = t64([1.0, -1.0])
    (w * 2.0).sum().backward()
    first = w.grad
    first_values = first.numpy().copy()
    y = (w * 3.0 + w * 4.0 + w * 5.0).sum()  # three more gradients, accumulated
    y.backward()
    np.testing.assert_array_equal(first.numpy(), first_values)
    np.testing.assert_array_equal(w.grad.numpy(), [14.0, 14.0])


def test_the_upstream_gradient_given_by_the_user_is_not_written():
    x = t64([1.0, 2.0])
    g = np.array([1.0, 1.0])
    (x + x + x).backward(g)
    np.testing.assert_array_equal(g, [1.0, 1.0])
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])
    assert not np.shares_memory(x.grad.numpy(), g)


def test_create_graph_accumulation_stays_differentiable():
    x = t64([2.0])
    y = (x * x + x * x * x).sum()  # x gets several gradients, summed in the graph
    (gx,) = tg.grad(y, x, create_graph=True)
    np.testing.assert_allclose(gx.numpy(), [2 * 2.0 + 3 * 4.0])
    (gxx,) = tg.grad(gx.sum(), x)
    np.testing.assert_allclose(gxx.numpy(), [2.0 + 6 * 2.0])
