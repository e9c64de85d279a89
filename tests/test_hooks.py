"""Gradient hooks and retained gradients (Tensor.register_hook, Tensor.retain_grad), pinned
against what PyTorch 2.13 gives for the same code."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_reg as tg


def test_hooks_see_the_whole_gradient_and_may_replace_it():
    # PyTorch 2.13: x = [1, 2, 3], y = 2x, z = Σ y²; y's hook multiplies by 10, x's adds 1
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 2
    y.retain_grad()
    seen = []
    y.register_hook(lambda g: seen.append(g.numpy().copy()) or g * 10)
    x.register_hook(lambda g: g + 1)
    (y * y).sum().backward()
    np.testing.assert_array_equal(seen[0], [4.0, 8.0, 12.0])
    np.testing.assert_array_equal(y.grad.numpy(), [40.0, 80.0, 120.0])  # after the hook
    np.testing.assert_array_equal(x.grad.numpy(), [81.0, 161.0, 241.0])
    assert y.grad_fn.name == "Mul" and not y.is_leaf  # the node is unchanged to the eye


def test_a_hook_sees_the_sum_over_uses_once():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    calls = []
    y.register_hook(lambda g: calls.append(g.numpy().copy()))
    (y + y * y).sum().backward()
    assert len(calls) == 1
    np.testing.assert_array_equal(calls[0], [1 + 2 * 3.0, 1 + 2 * 6.0])


def test_remove_and_retain_grad_accumulates():
    x = tg.tensor([2.0], requires_grad=True)
    handle = x.register_hook(lambda g: g * 0)
    handle.remove()
    y = x * x
    y.retain_grad()
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.item() == 8.0 and y.grad.item() == 2.0  # both accumulated, as PyTorch
    x.retain_grad()  # a leaf: nothing to do
    assert x.grad.item() == 8.0


def test_hooks_with_grad_and_create_graph():
    x = tg.tensor([1.5], dtype=tg.float64, requires_grad=True)
    x.register_hook(lambda g: g * 2)
    (g,) = tg.grad((x ** 3).sum(), x, create_graph=True)  # 2 · 3x²
    assert g.item() == pytest.approx(13.5)
    y = x * 1.0
    y.register_hook(lambda gr: gr * gr)  # a hook inside a graph that is differentiated again
    (gy,) = tg.grad((y ** 2).sum(), x, create_graph=True)  # (2y)² through the hook
    assert gy.item() == pytest.approx(9.0 * 2)  # and x's own hook doubles it


def test_refusals():
    with pytest.raises(RuntimeError, match="does not require grad"):
        tg.ones(2).register_hook(lambda g: g)
    with pytest.raises(RuntimeError, match="does not require grad"):
        tg.ones(2).retain_grad()
    x = tg.ones(2, requires_grad=True)
    x.register_hook(lambda g: tg.ones(3))
    with pytest.raises(RuntimeError, match=r"hook returned shape \(3,\)"):
        (x * 2).sum().backward()
