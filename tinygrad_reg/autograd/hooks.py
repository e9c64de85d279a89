"""Gradient hooks: ``Tensor.register_hook(fn)`` and ``Tensor.retain_grad()``, as in PyTorch.

A hook is called with the gradient of its tensor during backward, once that gradient is
complete (summed over every use of the tensor), and may return a replacement. ``retain_grad``
keeps that gradient of a non-leaf tensor in its ``.grad`` (leaves keep theirs anyway).

Nothing is paid when no hook exists. A non-leaf tensor's hooks ride on the node that made it:
the node's op class is swapped for a subclass of the same name whose backward runs the hooks
on the incoming gradient first, so the graph, ``grad_fn``'s name and every other op are
untouched. A leaf has no node: the engine asks :data:`LEAF_HOOKS` (empty unless a leaf has a
hook) before it delivers a gradient to ``.grad``.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

from .._tensor import Tensor

#: id(leaf) -> its hooks, for leaves that have any (an entry goes when its tensor does).
LEAF_HOOKS: dict[int, list] = {}


class RemovableHandle:
    """What ``register_hook`` returns: ``handle.remove()`` takes the hook off again."""

    def __init__(self, hooks: list, fn: Callable) -> None:
        self._hooks = hooks
        self._fn = fn

    def remove(self) -> None:
        if self._fn in self._hooks:
            self._hooks.remove(self._fn)


def _apply(hooks: list, grad: Tensor, what: str) -> Tensor:
    for fn in list(hooks):
        out = fn(grad)
        if out is not None:
            if not isinstance(out, Tensor) or out.shape != grad.shape:
                got = f"shape {out.shape}" if isinstance(out, Tensor) else type(out).__name__
                raise RuntimeError(f"{what}: a hook returned {got}; it must return None or a "
                                   f"tensor of the gradient's shape {grad.shape}")
            grad = out
    return grad


def run_leaf_hooks(t: Tensor, grad: Tensor) -> Tensor:
    """The gradient the engine delivers to leaf ``t``, after its hooks."""
    return _apply(LEAF_HOOKS.get(id(t), ()), grad, "register_hook")


_HOOKED: dict[type, type] = {}


def _hooked(cls: type) -> type:
    """A subclass of op class ``cls`` (same name) whose backward runs the node's hooks on the
    incoming gradient and keeps it for ``retain_grad`` before ``cls``'s own backward."""
    sub = _HOOKED.get(cls)
    if sub is None:
        original = cls.backward

        def backward(ctx: Any, grad: Tensor) -> Any:
            grad = _apply(ctx.__dict__.get("hooks", ()), grad, "register_hook")
            owner = ctx.__dict__.get("retain")
            t = owner() if owner is not None else None
            if t is not None:
                if t.grad is None:
                    t.grad = Tensor(grad._data.copy()) if not grad.requires_grad else grad
                else:
                    t.grad = t.grad + grad
            return original(ctx, grad)

        sub = type(cls.__name__, (cls,), {"backward": staticmethod(backward),
                                          "__doc__": cls.__doc__,
                                          "__module__": cls.__module__})
        _HOOKED[cls] = sub
    return sub


def _node(t: Tensor) -> Any:
    """t's node, its op class swapped for the hooked subclass (once)."""
    node = t.grad_fn
    if node.fn not in _HOOKED.values():
        node.fn = _hooked(node.fn)
    return node


def register_hook(t: Tensor, fn: Callable[[Tensor], Tensor | None]) -> RemovableHandle:
    """Call ``fn(grad)`` with t's gradient during every backward pass that reaches t (the
    whole gradient, summed over t's uses); a tensor it returns replaces the gradient. Returns
    a handle whose ``remove()`` takes the hook off. t must require grad (PyTorch's rule)."""
    if not callable(fn):
        raise TypeError(f"register_hook: expected a callable, got {type(fn).__name__}")
    if not t.requires_grad:
        raise RuntimeError("register_hook: cannot register a hook on a tensor that does not "
                           "require grad")
    if t.grad_fn is None:
        hooks = LEAF_HOOKS.get(id(t))
        if hooks is None:
            hooks = LEAF_HOOKS[id(t)] = []
            weakref.finalize(t, LEAF_HOOKS.pop, id(t), None)
    else:
        hooks = _node(t).__dict__.setdefault("hooks", [])
    hooks.append(fn)
    return RemovableHandle(hooks, fn)


def retain_grad(t: Tensor) -> None:
    """Keep t's gradient in ``t.grad`` after backward although t is not a leaf (accumulating
    over backward passes, as a leaf's); a no-op for a leaf. t must require grad."""
    if not t.requires_grad:
        raise RuntimeError("retain_grad: cannot retain the gradient of a tensor that does not "
                           "require grad")
    if t.grad_fn is not None:
        _node(t).retain = weakref.ref(t)


__all__ = ["register_hook", "retain_grad", "RemovableHandle", "LEAF_HOOKS", "run_leaf_hooks"]
