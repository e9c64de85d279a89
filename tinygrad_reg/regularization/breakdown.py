"""Which part of a loss is data and which is regularization: read off the graph."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._tensor import Tensor
from ..autograd import Context


class _Scratch:
    """A throwaway ctx for re-running a penalty's forward."""

    needs_input_grad = ()

    def save_for_backward(self, *arrays: Any) -> None:
        pass


def _label(ctx: Any) -> str:
    attrs = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                      for k, v in ctx.attrs.items() if k != "batch")
    return f"{ctx.name}({attrs})"


def penalty_breakdown(loss: Tensor) -> dict[str, float]:
    """The loss split into its penalty nodes and the rest: ``{"data": ..., "L2Penalty(lam=
    0.005)": ..., ...}``, in the order the graph reaches them (a second node with the same
    label gets " #2"); the values sum to ``loss.item()``.

    Walks ``loss``'s graph for the penalty nodes (ops whose class says ``kind = "penalty"``:
    the built-in penalties of :mod:`.penalties`, and yours) and evaluates each; "data" is the
    loss minus their sum. Meant for a loss that adds its penalties unscaled (they carry their
    own λ); a penalty multiplied before it is added is still listed at its own value. Call it before
    ``loss.backward()`` (or after ``backward(retain_graph=True)``): backward lets go of the
    values the penalties were computed from."""
    if not isinstance(loss, Tensor):
        raise TypeError(f"penalty_breakdown: expected the loss Tensor, got "
                        f"{type(loss).__name__}")
    if loss.numel() != 1:
        raise ValueError(f"penalty_breakdown: expected a scalar loss, got shape {loss.shape}")
    total = float(loss._data.reshape(()))
    parts: dict[str, float] = {}
    root = loss.grad_fn
    if root is None:
        if loss.requires_grad:
            return {"data": total}
        raise ValueError("penalty_breakdown: the loss has no graph (computed under no_grad, "
                         "or from tensors that do not require grad), so its penalties cannot "
                         "be found")
    seen = {id(root)}
    stack = [root]
    while stack:
        ctx = stack.pop()
        if ctx.fn.kind == "penalty":
            arrays = []
            for t in ctx.inputs:
                data = getattr(t, "_data", None)
                if data is None:
                    raise RuntimeError(f"penalty_breakdown: this loss has run backward, "
                                       f"which released the inputs of {ctx.name}; call it "
                                       f"before loss.backward() (or keep the graph with "
                                       f"backward(retain_graph=True))")
                arrays.append(data)
            value = float(np.asarray(ctx.fn.forward(_Scratch(), *arrays, **ctx.attrs)))
            label, k = _label(ctx), 2
            while label in parts:
                label = f"{_label(ctx)} #{k}"
                k += 1
            parts[label] = value
            continue  # a penalty's inputs are weights or activations: not more penalties
        for t in reversed(ctx.inputs):
            # (after backward a node's parents are the parent nodes themselves)
            node = t if isinstance(t, Context) else getattr(t, "grad_fn", None)
            if node is not None and id(node) not in seen:
                seen.add(id(node))
                stack.append(node)
    return {"data": total - sum(parts.values()), **parts}


__all__ = ["penalty_breakdown"]
