"""Check an op's gradients against central finite differences.

For a function ``fn`` of tensors x₁…x_k with outputs y₁…y_m, both checks draw a random
upstream gradient vⱼ for every output and compare, element by element, the analytic
vector-Jacobian products ``∂L/∂xᵢ`` with ``L = Σⱼ ⟨vⱼ, yⱼ⟩`` (one backward pass) against the
numeric ones ``(L(x + ε·e) - L(x - ε·e)) / 2ε`` for every element e of every input. A random
v (rather than ``.sum()``, i.e. v = 1) makes a backward that mixes up elements or outputs fail.

A pair passes when ``|analytic - numeric| <= atol + rtol · |numeric|`` (PyTorch's rule and
defaults). Only float64 inputs that require grad are differentiated; float32 ones are refused
with a TypeError rather than upcast: an upcast would check a different function from the one
the user runs, and float32 rounding (about 6e-8 relative) is far larger than what central
differences with ε = 1e-6 can resolve. Test float32 code paths separately for dtypes, and
check gradients in float64. Inputs that do not require grad (constants, bool masks, integer
indices) are passed to ``fn`` unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .._tensor import Tensor
from ..autograd import grad as _grad

__all__ = ["GradcheckError", "gradcheck", "gradgradcheck"]


class GradcheckError(AssertionError):
    """An analytic gradient differs from its finite-difference estimate.

    Attributes: ``input_index`` (position in ``inputs``; for gradgradcheck, positions past
    the inputs are the upstream gradients), ``index`` (the worst element's index in that
    input), ``analytic`` and ``numeric`` (its two values), ``atol`` and ``rtol``.
    """

    def __init__(self, message: str, *, input_index: int | None = None,
                 index: tuple[int, ...] | None = None, analytic: float | None = None,
                 numeric: float | None = None, atol: float | None = None,
                 rtol: float | None = None) -> None:
        super().__init__(message)
        self.input_index = input_index
        self.index = index
        self.analytic = analytic
        self.numeric = numeric
        self.atol = atol
        self.rtol = rtol


def _outputs(result: Any, what: str) -> tuple[Tensor, ...]:
    outs = result if isinstance(result, (tuple, list)) else (result,)
    for j, o in enumerate(outs):
        if not isinstance(o, Tensor):
            raise TypeError(f"{what}: fn must return a Tensor or a tuple of Tensors; output {j} "
                            f"is a {type(o).__name__}")
    return tuple(outs)


def _float_outputs(outs: tuple[Tensor, ...], what: str) -> list[int]:
    """Indices of the outputs that carry a gradient (floating point); each must be float64."""
    idx = []
    for j, o in enumerate(outs):
        if o.dtype.kind != "f":
            continue  # bool/int outputs have no derivative
        if o.dtype != np.float64:
            raise TypeError(f"{what}: output {j} has dtype {o.dtype}; finite differences need "
                            f"float64 outputs (does fn cast to {o.dtype} inside?)")
        idx.append(j)
    return idx


def _prepare(inputs: Any, what: str) -> tuple[list, list[int]]:
    """The inputs as a list, and the positions of those to differentiate (float64 leaves)."""
    args = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    diff = []
    for i, x in enumerate(args):
        if not (isinstance(x, Tensor) and x.requires_grad):
            continue
        if x.dtype != np.float64:
            raise TypeError(
                f"{what}: input {i} has dtype {x.dtype}; gradients are checked in float64 only "
                f"(float32 rounding swamps central differences). Pass "
                f"Tensor(x.data.astype(np.float64), requires_grad=True) instead.")
        diff.append(i)
    if not diff:
        raise ValueError(f"{what}: no input requires grad; mark at least one float64 input "
                         f"with requires_grad=True")
    return args, diff


def _compare(label: str, i: int, analytic: np.ndarray, numeric: np.ndarray, atol: float,
             rtol: float, what: str, note: str) -> None:
    ok = np.isclose(analytic, numeric, rtol=rtol, atol=atol)
    if ok.all():
        return
    with np.errstate(invalid="ignore"):
        excess = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
    excess = np.where(np.isnan(excess), np.inf, excess)
    excess = np.where(ok, -np.inf, excess)
    flat = int(np.argmax(excess))
    index = tuple(int(k) for k in np.unravel_index(flat, analytic.shape))
    a, n = float(analytic.reshape(-1)[flat]), float(numeric.reshape(-1)[flat])
    opts = dict(precision=6, threshold=60, separator=", ")
    raise GradcheckError(
        f"{what}: {label} (shape {analytic.shape}): analytic and numeric gradients differ at "
        f"{int((~ok).sum())} of {ok.size} elements; worst at index {index}: analytic {a!r}, "
        f"numeric {n!r} (|difference| {abs(a - n):.3g} > atol {atol:g} + rtol {rtol:g} · "
        f"|numeric|){note}\nanalytic:\n{np.array2string(analytic, **opts)}\n"
        f"numeric:\n{np.array2string(numeric, **opts)}",
        input_index=i, index=index, analytic=a, numeric=n, atol=atol, rtol=rtol)


def _check(evaluate: Callable[[list, bool], tuple[Tensor, ...]], args: list, diff: list[int],
           labels: list[str], eps: float, atol: float, rtol: float, seed: int,
           what: str, note: str) -> bool:
    """The shared core: ``evaluate(args, analytic)`` gives the outputs of the function under
    test; compare its vector-Jacobian products with central differences."""
    originals = [args[i]._data for i in diff]
    leaves = [Tensor(np.array(x, dtype=np.float64, order="C"), requires_grad=True)
              for x in originals]
    args = list(args)
    for i, leaf in zip(diff, leaves, strict=True):
        args[i] = leaf

    outs = evaluate(args, True)
    live = _float_outputs(outs, what)
    rng = np.random.default_rng(seed)
    vs = {j: rng.standard_normal(outs[j].shape) for j in live}
    roots = [j for j in live if outs[j].requires_grad]
    if roots:
        grads = _grad([outs[j] for j in roots], leaves, [Tensor(vs[j]) for j in roots],
                      allow_unused=True)
    else:
        grads = (None,) * len(leaves)
    analytic = []
    for k, (g, leaf) in enumerate(zip(grads, leaves, strict=True)):
        if g is None:
            analytic.append(np.zeros(leaf.shape))
            continue
        if g.shape != leaf.shape:
            raise GradcheckError(f"{what}: {labels[k]} has shape {leaf.shape} but its "
                                 f"gradient has shape {g.shape}", input_index=diff[k])
        analytic.append(np.asarray(g._data, dtype=np.float64))
    for k, (leaf, x) in enumerate(zip(leaves, originals, strict=True)):
        if not np.array_equal(leaf._data, x, equal_nan=True):
            raise GradcheckError(f"{what}: fn changed {labels[k]} in place; ops must never "
                                 f"mutate their inputs", input_index=diff[k])

    def loss() -> float:
        o = evaluate(args, False)
        return float(sum(np.vdot(vs[j], o[j]._data) for j in live))

    for k, leaf in enumerate(leaves):
        flat = leaf._data.reshape(-1)  # a view: leaf._data is C-contiguous
        numeric = np.empty(flat.size)
        for e in range(flat.size):
            old = flat[e]
            flat[e] = old + eps
            hi = loss()
            flat[e] = old - eps
            lo = loss()
            flat[e] = old
            numeric[e] = (hi - lo) / (2.0 * eps)
        _compare(labels[k], diff[k], analytic[k], numeric.reshape(leaf.shape), atol, rtol,
                 what, note)
    return True


def gradcheck(fn: Callable[..., Any], inputs: Sequence[Any] | Tensor, *, eps: float = 1e-6,
              atol: float = 1e-5, rtol: float = 1e-3, seed: int = 0) -> bool:
    """Check ``fn``'s first derivatives against central finite differences.

    ``fn(*inputs)`` returns a Tensor or a tuple of Tensors. Every float64 input with
    ``requires_grad=True`` is checked; the others are passed through unchanged. The upstream
    gradient of each output is drawn from a standard normal (``seed`` fixes it). Returns
    True, or raises :class:`GradcheckError` naming the input, the worst element, both values
    and the tolerances. Float32 inputs that require grad raise TypeError (see module doc).
    """
    args, diff = _prepare(inputs, "gradcheck")

    def evaluate(a: list, analytic: bool) -> tuple[Tensor, ...]:
        return _outputs(fn(*a), "gradcheck")

    labels = [f"input {i}" for i in diff]
    return _check(evaluate, args, diff, labels, eps, atol, rtol, seed, "gradcheck", "")


def gradgradcheck(fn: Callable[..., Any], inputs: Sequence[Any] | Tensor, *,
                  eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
                  seed: int = 0) -> bool:
    """Check ``fn``'s second derivatives against central finite differences.

    With random upstream gradients vⱼ for the outputs, the gradients
    ``gᵢ = tg.grad(outputs, xᵢ, v, create_graph=True)`` are themselves gradchecked with
    respect to every differentiable input xᵢ *and* every vⱼ (a backward that is not linear
    in its upstream gradient, or that detaches it, fails too). In errors, input positions
    past ``len(inputs)`` are the upstream gradients, one per float output. An op whose
    backward is once-differentiable raises the engine's RuntimeError naming it.
    """
    args, diff = _prepare(inputs, "gradgradcheck")
    with_grad = [args[i] for i in diff]
    probe = _outputs(fn(*args), "gradgradcheck")
    live = _float_outputs(probe, "gradgradcheck")
    rng = np.random.default_rng(seed + 1)
    ups = [Tensor(rng.standard_normal(probe[j].shape), requires_grad=True) for j in live]
    del probe, with_grad
    n = len(args)

    def evaluate(a: list, analytic: bool) -> tuple[Tensor, ...]:
        xs = [a[i] for i in diff]
        outs = _outputs(fn(*a[:n]), "gradgradcheck")
        roots = [(outs[j], v) for j, v in zip(live, a[n:], strict=True)
                 if outs[j].requires_grad]
        if not roots:
            return tuple(Tensor(np.zeros(x.shape)) for x in xs)
        # The numeric side needs only first derivatives: no graph of the backward pass.
        gs = _grad([o for o, _ in roots], xs, [v for _, v in roots], create_graph=analytic,
                   allow_unused=True)
        return tuple(Tensor(np.zeros(x.shape)) if g is None else g
                     for g, x in zip(gs, xs, strict=True))

    labels = [f"input {i}" for i in diff]
    labels += [f"upstream gradient of output {j}" for j in live]
    diff2 = diff + list(range(n, n + len(ups)))
    note = " (second derivative: gradient of the vector-Jacobian product)"
    return _check(evaluate, args + ups, diff2, labels, eps, atol, rtol, seed, "gradgradcheck",
                  note)
