"""Recurrent steps: one time step of an LSTM, a GRU or an Elman RNN as ONE graph node each, with
PyTorch's gate order and weight layout (``weight_ih`` (gates·H, I), ``weight_hh`` (gates·H, H)).

A step computes all its gates with one product per weight matrix, then its pointwise maths in
numpy, so a sequence of T steps is T nodes, not dozens of small ones per step. Its backward
has two faces that give the same values:

- a first-order pass (no graph recorded: ``loss.backward()``) runs one fused numpy kernel,
  :class:`RecurrentStepBackward`, that writes every input's gradient into one buffer, and
  hands out its pieces (:class:`Piece`, a view);
- when the backward pass is itself recorded (``create_graph=True``, for second derivatives)
  the same gradients are written in Tensor ops (``_*_graph_grads``), differentiable again to
  any order.

σ(z) is computed as (1 + tanh(z/2))/2: it never overflows and costs two numpy calls less
than 1/(1 + e⁻ᶻ); its absolute error is about one unit in the last place of 1/2.

The LSTM's state is ONE tensor, (2, N, H) = [h; c], so a step has one output; its input x is
(N, I), or the state (2, N, I) of the layer below, whose h = x[0] it reads (stacked layers
then need no slicing op between them).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._tensor import Tensor
from ..autograd import Function, wrap
from ..autograd.modes import GRAD, TRACE, mode
from ..errors import ArgumentError, ShapeError
from .common import as_tensor_operand, mixed_dtypes
from .elementwise import where
from .linalg import linear
from .shape import ScatterAdd, cat, stack

NONLINEARITIES = ("tanh", "relu")


# -- shared pieces ------------------------------------------------------------------------

def _sigmoid_(a: np.ndarray) -> np.ndarray:
    """σ(a) = (1 + tanh(a/2))/2, in place."""
    a *= 0.5
    np.tanh(a, out=a)
    a *= 0.5
    a += 0.5
    return a


def _gates(x: np.ndarray, w: np.ndarray, b: np.ndarray | None) -> np.ndarray:
    """x @ wᵀ + b: every gate of one weight matrix from one product."""
    z = np.dot(x, w.T)
    if b is not None:
        z += b
    return z


# -- ONNX: PyTorch's gate blocks reordered into ONNX's (LSTM i,f,g,o -> i,o,f,c; GRU r,z,n ->
# z,r,h), as Gather nodes on the weight inputs, so computed weights (weight drop) map too.

def _onnx_weights(g: Any, inputs: list, arrays: list, blocks: tuple) -> tuple:
    """(W, R, B, hidden) for an ONNX LSTM/GRU/RNN node of one direction: w_ih, w_hh (and
    b_ih, b_hh, if given) with their gate blocks in ONNX's order and a leading axis of 1."""
    hidden = arrays[3].shape[1]
    perm = np.concatenate([np.arange(b * hidden, (b + 1) * hidden) for b in blocks])
    index = g.const(perm.astype(np.int64))
    zero = g.ints([0])

    def gather(name: str) -> str:
        return g.node("Gather", [name, index], axis=0)

    w = g.node("Unsqueeze", [gather(inputs[2]), zero])
    r = g.node("Unsqueeze", [gather(inputs[3]), zero])
    b = ""
    if len(inputs) > 4:
        b = g.node("Unsqueeze", [g.node("Concat", [gather(inputs[4]), gather(inputs[5])],
                                        axis=0), zero])
    return w, r, b, hidden


def _onnx_rows(g: Any, name: str, start: int) -> str:
    """name[start:start + 1] along the first axis (keeping it)."""
    return g.node("Slice", [name, g.ints([start]), g.ints([start + 1]), g.ints([0])])


def _onnx_lstm_step(g: Any, x1: str, h1: str, c1: str, weights: tuple) -> str:
    """One ONNX LSTM node over a sequence of one step: the state [h'; c'] (2, N, H)."""
    w, r, b, hidden = weights
    _, h, c = g.node("LSTM", [x1, w, r, b, "", h1, c1], outputs=3, hidden_size=hidden)
    return g.node("Concat", [h, c], axis=0)


class ZeroState(Function):
    """A recurrent module's default initial state: zeros of shape ``lead + (N, hidden)``,
    N = x.shape[axis], x's dtype. An op (not a constant made beside the graph) so that an
    exported graph builds the zeros for the batch it is given.   dx = 0 (no gradient: the
    values do not depend on x)."""

    @staticmethod
    def forward(ctx, x, *, lead, hidden, axis):
        return np.zeros(tuple(lead) + (x.shape[axis], hidden), dtype=x.dtype)

    @staticmethod
    def backward(ctx, grad):
        return None

    @staticmethod
    def to_onnx(g, inputs, attrs, arrays, out):
        from onnx import numpy_helper

        axis = attrs["axis"]
        batch = g.node("Slice", [g.node("Shape", [inputs[0]]), g.ints([axis]),
                                 g.ints([axis + 1])])
        shape = g.node("Concat", [g.ints(attrs["lead"]), batch, g.ints([attrs["hidden"]])],
                       axis=0)
        return g.node("ConstantOfShape", [shape],
                      value=numpy_helper.from_array(np.zeros(1, dtype=out.dtype)))


class Piece(Function):
    """out = flat[start:start + size] seen as ``shape`` (a view): one input's gradient out of
    the buffer :class:`RecurrentStepBackward` fills.   dflat = grad, flattened, at
    [start, start + size) and zeros elsewhere."""

    is_view = True

    @staticmethod
    def forward(ctx, flat, start, shape):
        return flat[start:start + math.prod(shape)].reshape(shape)

    @staticmethod
    def backward(ctx, grad):
        start = ctx.attrs["start"]
        return ScatterAdd.apply(grad.reshape(-1), shape=ctx.inputs[0].shape,
                                index=slice(start, start + grad._data.size))


class RecurrentStepBackward(Function):
    """Every first-order gradient of one recurrent step (``step``: "LSTMStep", "LSTMLayer",
    "GRUStep" or "RNNStep"), computed in one numpy pass and written into one flat buffer:
    the gradients of ``shapes`` (one per input of the step, None where none is needed) one
    after the other. A tg.jit trace records the backward through it (otherwise the kernel
    runs without a node). Only a first-order pass uses it, where no graph is recorded; a
    recorded backward uses the Tensor-op form of the same formulas. Its own backward is
    therefore never needed, and it refuses."""

    @staticmethod
    def forward(ctx, grad, *arrays, step, shapes, **attrs):
        flat, views = _buffer(grad.dtype, list(shapes) + [None] * (6 - len(shapes)))
        _KERNELS[step](grad, *arrays, views, **attrs)
        return flat

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError("RecurrentStepBackward: a first-order kernel, used only when no "
                           "graph is recorded; differentiate the step itself (its backward "
                           "switches to Tensor ops under create_graph=True)")


def _buffer(dtype: np.dtype, shapes: list) -> tuple[np.ndarray, list]:
    """One flat buffer and a C-contiguous view of it per shape (None stays None)."""
    flat = np.empty(sum(math.prod(s) for s in shapes if s is not None), dtype)
    views, start = [], 0
    for s in shapes:
        if s is None:
            views.append(None)
            continue
        n = math.prod(s)
        views.append(flat[start:start + n].reshape(s))
        start += n
    return flat, views


def _first_order(step: str, grad: Tensor, inputs: tuple, arrays: tuple, needs: tuple,
                 shared_bias: bool, **attrs: Any) -> tuple:
    """The fused first-order backward of ``step``: one kernel filling one buffer, then a
    :class:`Piece` of it per needed gradient. With ``shared_bias`` (LSTM, RNN: db_ih =
    db_hh) one piece serves both biases."""
    shapes = [t._data.shape if need else None for t, need in zip(inputs, needs)]
    both = shared_bias and len(shapes) == 6 and needs[4] and needs[5]
    if both:
        shapes[4] = None
    if not mode() & TRACE:  # nothing watches: the kernel straight into constant tensors
        _, views = _buffer(grad._data.dtype, shapes + [None] * (6 - len(shapes)))
        _KERNELS[step](grad._data, *(a._data for a in arrays), views, **attrs)
        grads = [None if v is None else wrap(v) for v in views[:len(shapes)]]
    else:  # a tg.jit trace records the kernel and the pieces as ops
        packed = RecurrentStepBackward.apply(grad, *arrays, step=step, shapes=tuple(shapes),
                                             **attrs)
        grads, start = [], 0
        for s in shapes:
            if s is None:
                grads.append(None)
                continue
            grads.append(Piece.apply(packed, start=start, shape=s))
            start += math.prod(s)
    if both:
        grads[4] = grads[5]
    return tuple(grads)


# -- LSTM ---------------------------------------------------------------------------------

class LSTMStep(Function):
    """One LSTM step, PyTorch's equations and gate order (i, f, g, o):

    z = x w_ihᵀ + b_ih + h w_hhᵀ + b_hh   (N, 4H): all four gates from one product per matrix
    i, f, g, o = σ(z_i), σ(z_f), tanh(z_g), σ(z_o)
    c' = f ⊙ c + i ⊙ g,   h' = o ⊙ tanh(c')

    Inputs: x (N, I) or a state (2, N, I) whose x[0] is read; ``state`` (2, N, H) = [h; c];
    w_ih (4H, I), w_hh (4H, H), optionally b_ih, b_hh (4H,). Output: the state [h'; c'].

    Gradient (gh, gc the two halves of grad): dc = gc + gh ⊙ o ⊙ (1 - tanh²c'),
    dz = [dc ⊙ g ⊙ i(1-i), dc ⊙ c ⊙ f(1-f), dc ⊙ i ⊙ (1-g²), gh ⊙ tanh c' ⊙ o(1-o)];
    dx = dz w_ih, dh = dz w_hh, dc_prev = dc ⊙ f, dw_ih = dzᵀ x, dw_hh = dzᵀ h,
    db_ih = db_hh = Σ_n dz.
    """

    @staticmethod
    def to_onnx(g, inputs, attrs, arrays, out):
        x1 = (_onnx_rows(g, inputs[0], 0) if arrays[0].ndim == 3
              else g.node("Unsqueeze", [inputs[0], g.ints([0])]))
        return _onnx_lstm_step(g, x1, _onnx_rows(g, inputs[1], 0), _onnx_rows(g, inputs[1], 1),
                               _onnx_weights(g, inputs, arrays, (0, 3, 1, 2)))

    @staticmethod
    def forward(ctx, x, state, w_ih, w_hh, b_ih=None, b_hh=None):
        xin = x[0] if x.ndim == 3 else x
        h, c = state[0], state[1]
        n = h.shape[-1]
        z = _gates(xin, w_ih, b_ih)
        z += _gates(h, w_hh, b_hh)
        g = np.tanh(z[:, 2 * n:3 * n])
        acts = _sigmoid_(z)  # i, f and o (g's block is overwritten next)
        acts[:, 2 * n:3 * n] = g
        out = np.empty((2,) + h.shape, dtype=z.dtype)
        np.multiply(acts[:, n:2 * n], c, out=out[1])
        out[1] += acts[:, :n] * g
        th = np.tanh(out[1])
        np.multiply(acts[:, 3 * n:], th, out=out[0])
        if ctx.needs_input_grad:
            ctx.save_for_backward(x, state, w_ih, w_hh, b_ih, b_hh, acts, th)
        return out

    @staticmethod
    def backward(ctx, grad):
        saved = ctx.saved_tensors
        n_in = len(ctx.inputs)
        if mode() & GRAD:  # the backward is being recorded: Tensor ops
            return _lstm_graph_grads(grad, *saved[:n_in], needs=ctx.needs_input_grad)
        return _first_order("LSTMStep", grad, ctx.inputs, saved[:4] + saved[6:],
                            ctx.needs_input_grad, True)


def _lstm_kernel(grad, x, state, w_ih, w_hh, acts, th, views):
    """LSTMStep's gradients into ``views`` (dx, dstate, dw_ih, dw_hh, db_ih, db_hh;
    None where not needed)."""
    gh, gc = grad[0], grad[1]
    xin = x[0] if x.ndim == 3 else x
    h, c = state[0], state[1]
    n = h.shape[-1]
    i, f, g, o = acts[:, :n], acts[:, n:2 * n], acts[:, 2 * n:3 * n], acts[:, 3 * n:]
    dc = th * th
    np.subtract(1.0, dc, out=dc)
    dc *= o
    dc *= gh
    dc += gc
    dz = np.empty_like(acts)
    np.multiply(dc, g, out=dz[:, :n])
    np.multiply(dc, c, out=dz[:, n:2 * n])
    np.multiply(dc, i, out=dz[:, 2 * n:3 * n])
    np.multiply(gh, th, out=dz[:, 3 * n:])
    slope = np.subtract(1.0, acts)  # σ' = σ(1 - σ); tanh' = 1 - g² in g's block
    slope *= acts
    np.multiply(g, g, out=slope[:, 2 * n:3 * n])
    np.subtract(1.0, slope[:, 2 * n:3 * n], out=slope[:, 2 * n:3 * n])
    dz *= slope
    dx, ds, dwi, dwh, dbi, dbh = views
    if dx is not None:
        if x.ndim == 3:
            np.dot(dz, w_ih, out=dx[0])
            dx[1] = 0
        else:
            np.dot(dz, w_ih, out=dx)
    if ds is not None:
        np.dot(dz, w_hh, out=ds[0])
        np.multiply(dc, f, out=ds[1])
    if dwi is not None:
        np.dot(dz.T, xin, out=dwi)
    if dwh is not None:
        np.dot(dz.T, h, out=dwh)
    bias = dbh if dbh is not None else dbi  # (one piece for both: see _first_order)
    if bias is not None:
        np.sum(dz, axis=0, out=bias)


def _lstm_graph_grads(grad, x, state, w_ih, w_hh, b_ih=None, b_hh=None, *, needs):
    """LSTMStep's gradients in Tensor ops (the formulas of its docstring), recomputing the
    gates from the inputs so that every value stays connected to them."""
    xin = x[0] if x.ndim == 3 else x
    h, c = state[0], state[1]
    n = h.shape[-1]
    z = linear(xin, w_ih, b_ih) + linear(h, w_hh, b_hh)
    i, f = z[:, :n].sigmoid(), z[:, n:2 * n].sigmoid()
    g, o = z[:, 2 * n:3 * n].tanh(), z[:, 3 * n:].sigmoid()
    th = (f * c + i * g).tanh()
    gh, gc = grad[0], grad[1]
    dc = gc + gh * o * (1.0 - th * th)
    dz = cat([dc * g * i * (1.0 - i), dc * c * f * (1.0 - f), dc * i * (1.0 - g * g),
              gh * th * o * (1.0 - o)], dim=1)
    dx = ds = dwi = dwh = db = None
    if needs[0]:
        dx = dz @ w_ih
        if x.ndim == 3:
            dx = stack([dx, dx * 0.0])
    if needs[1]:
        ds = stack([dz @ w_hh, dc * f])
    if needs[2]:
        dwi = dz.T @ xin
    if needs[3]:
        dwh = dz.T @ h
    if len(needs) == 6 and (needs[4] or needs[5]):
        db = dz.sum(0)
    return (dx, ds, dwi, dwh) + ((db if needs[4] else None, db if needs[5] else None)
                                 if len(needs) == 6 else ())


# -- a whole LSTM layer -------------------------------------------------------------------

class LSTMLayer(Function):
    """One direction of one LSTM layer over a whole sequence as ONE node: the equations of
    :class:`LSTMStep` at t = 0 … T-1 (t = T-1 … 0 with ``reverse=True``), starting from
    ``state`` (2, N, H) = [h₀; c₀]. x is (T, N, I); the output is every step's state,
    (T, 2, N, H) (so out[:, 0] is the output sequence and the last step's state the final
    one). The input's products for all steps are one matrix product, (T·N, I) @ w_ihᵀ, and
    the step loop runs in numpy.

    Gradient (backpropagation through time): with gh_t, gc_t the gradient reaching step t
    (from the output, plus what step t+1 hands back), each step's dz_t is LSTMStep's; then
    dx = dZ w_ih, dw_ih = dZᵀ X, dw_hh = dZᵀ H_prev, db_ih = db_hh = Σ dZ over all steps at
    once (dZ, X, H_prev the (T·N, ·) stacks), and dstate is what step 0 hands back. A
    recorded backward (``create_graph=True``) unrolls the layer into :class:`LSTMStep` nodes
    and uses their Tensor-op gradients, so it is differentiable again.
    """

    @staticmethod
    def to_onnx(g, inputs, attrs, arrays, out):
        # ONNX's LSTM gives every step's h but only the last c: one node per step instead
        weights = _onnx_weights(g, inputs, arrays, (0, 3, 1, 2))
        h, c = _onnx_rows(g, inputs[1], 0), _onnx_rows(g, inputs[1], 1)
        steps = arrays[0].shape[0]
        states: list = [None] * steps
        for t in (range(steps - 1, -1, -1) if attrs.get("reverse") else range(steps)):
            states[t] = _onnx_lstm_step(g, _onnx_rows(g, inputs[0], t), h, c, weights)
            h, c = _onnx_rows(g, states[t], 0), _onnx_rows(g, states[t], 1)
        zero = g.ints([0])
        return g.node("Concat", [g.node("Unsqueeze", [s, zero]) for s in states], axis=0)

    @staticmethod
    def forward(ctx, x, state, w_ih, w_hh, b_ih=None, b_hh=None, *, reverse=False):
        steps, n = x.shape[0], x.shape[1]
        hidden = w_hh.shape[1]
        acts = np.dot(x.reshape(steps * n, x.shape[2]), w_ih.T)
        if b_ih is not None:
            acts += b_ih
            acts += b_hh
        acts = acts.reshape(steps, n, 4 * hidden)  # pre-activations, then activations
        w_t = np.ascontiguousarray(w_hh.T)  # (a contiguous (H, 4H) multiplies faster)
        out = np.empty((steps, 2, n, hidden), dtype=acts.dtype)
        th = np.empty((steps, n, hidden), dtype=acts.dtype)
        gb = slice(2 * hidden, 3 * hidden)
        h, c = state[0], state[1]
        for t in (range(steps - 1, -1, -1) if reverse else range(steps)):
            z = acts[t]
            z += np.dot(h, w_t)
            g = np.tanh(z[:, gb])
            _sigmoid_(z)
            z[:, gb] = g
            np.multiply(z[:, hidden:2 * hidden], c, out=out[t, 1])
            out[t, 1] += z[:, :hidden] * g
            np.tanh(out[t, 1], out=th[t])
            np.multiply(z[:, 3 * hidden:], th[t], out=out[t, 0])
            h, c = out[t, 0], out[t, 1]
        if ctx.needs_input_grad:
            ctx.save_for_backward(x, state, w_ih, w_hh, b_ih, b_hh, acts, th, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        saved = ctx.saved_tensors
        n_in = len(ctx.inputs)
        reverse = ctx.attrs.get("reverse", False)
        if mode() & GRAD:
            return _lstm_layer_graph_grads(grad, *saved[:n_in], needs=ctx.needs_input_grad,
                                           reverse=reverse)
        return _first_order("LSTMLayer", grad, ctx.inputs, saved[:4] + saved[6:],
                            ctx.needs_input_grad, True, reverse=reverse)


def _lstm_layer_kernel(grad, x, state, w_ih, w_hh, acts, th, out, views, *, reverse):
    """LSTMLayer's gradients into ``views`` (as :func:`_lstm_kernel`): the steps backwards,
    then the weights' gradients as one product each."""
    steps, n, hidden = th.shape
    dz_all = np.empty_like(acts)
    dh = np.zeros((n, hidden), dtype=grad.dtype)
    dc = np.zeros((n, hidden), dtype=grad.dtype)
    first = steps - 1 if reverse else 0
    for t in (range(steps) if reverse else range(steps - 1, -1, -1)):
        a, dz = acts[t], dz_all[t]
        i, f, g, o = (a[:, k * hidden:(k + 1) * hidden] for k in range(4))
        prev_c = state[1] if t == first else out[t + 1 if reverse else t - 1, 1]
        gh = grad[t, 0] + dh
        dct = th[t] * th[t]
        np.subtract(1.0, dct, out=dct)
        dct *= o
        dct *= gh
        dct += grad[t, 1]
        dct += dc
        np.multiply(dct, g, out=dz[:, :hidden])
        np.multiply(dct, prev_c, out=dz[:, hidden:2 * hidden])
        np.multiply(dct, i, out=dz[:, 2 * hidden:3 * hidden])
        np.multiply(gh, th[t], out=dz[:, 3 * hidden:])
        slope = np.subtract(1.0, a)
        slope *= a
        np.multiply(g, g, out=slope[:, 2 * hidden:3 * hidden])
        np.subtract(1.0, slope[:, 2 * hidden:3 * hidden], out=slope[:, 2 * hidden:3 * hidden])
        dz *= slope
        dh = np.dot(dz, w_hh)
        dc = np.multiply(dct, f)
    dx, ds, dwi, dwh, dbi, dbh = views
    flat = dz_all.reshape(steps * n, 4 * hidden)
    if dx is not None:
        np.dot(flat, w_ih, out=dx.reshape(steps * n, -1))
    if ds is not None:
        ds[0], ds[1] = dh, dc
    if dwi is not None:
        np.dot(flat.T, x.reshape(steps * n, -1), out=dwi)
    if dwh is not None:
        h_prev = np.empty((steps, n, hidden), dtype=grad.dtype)
        h_prev[first] = state[0]
        if reverse:
            h_prev[:-1] = out[1:, 0]
        else:
            h_prev[1:] = out[:-1, 0]
        np.dot(flat.T, h_prev.reshape(steps * n, hidden), out=dwh)
    bias = dbh if dbh is not None else dbi
    if bias is not None:
        np.sum(flat, axis=0, out=bias)


def _lstm_layer_graph_grads(grad, x, state, w_ih, w_hh, b_ih=None, b_hh=None, *, needs,
                            reverse):
    """LSTMLayer's gradients in Tensor ops: the layer unrolled into LSTMStep nodes (the
    states recomputed), then each step's Tensor-op gradients from the last step back."""
    steps = x.shape[0]
    order = list(range(steps - 1, -1, -1) if reverse else range(steps))
    biases = () if b_ih is None else (b_ih, b_hh)
    prev, s = {}, state
    for t in order:
        prev[t] = s
        s = LSTMStep.apply(x[t], s, w_ih, w_hh, *biases)
    inner = (needs[0], True, needs[2], needs[3]) + ((needs[4], needs[5]) if biases else ())
    carry, dxs, sums = None, [None] * steps, [None] * (len(inner) - 2)
    for t in reversed(order):
        g = grad[t] if carry is None else grad[t] + carry
        dx_t, carry, *rest = _lstm_graph_grads(g, x[t], prev[t], w_ih, w_hh, *biases,
                                               needs=inner)
        dxs[t] = dx_t
        sums = [r if total is None else (total if r is None else total + r)
                for total, r in zip(sums, rest)]
    return (stack(dxs) if needs[0] else None, carry if needs[1] else None, *sums)


# -- GRU ----------------------------------------------------------------------------------

class GRUStep(Function):
    """One GRU step, PyTorch's equations and gate order (r, z, n):

    a = x w_ihᵀ + b_ih,  b = h w_hhᵀ + b_hh   (N, 3H) each: one product per matrix
    r = σ(a_r + b_r),  z = σ(a_z + b_z),  n = tanh(a_n + r ⊙ b_n)   (the reset gate scales
    w_hn h + b_hn, bias included),   h' = (1 - z) ⊙ n + z ⊙ h, computed as n + z ⊙ (h - n).

    Gradient: dn = grad ⊙ (1-z), dz = grad ⊙ (h-n), dh_direct = grad ⊙ z,
    da_n = dn ⊙ (1-n²), dr = da_n ⊙ b_n;  da = [dr ⊙ r(1-r), dz ⊙ z(1-z), da_n],
    db = [dr ⊙ r(1-r), dz ⊙ z(1-z), da_n ⊙ r];  dx = da w_ih, dh = db w_hh + dh_direct,
    dw_ih = daᵀ x, dw_hh = dbᵀ h, db_ih = Σ_n da, db_hh = Σ_n db.
    """

    @staticmethod
    def to_onnx(g, inputs, attrs, arrays, out):
        # ONNX's GRU with linear_before_reset=1 applies the reset gate to w_hn h + b_hn
        w, r, b, hidden = _onnx_weights(g, inputs, arrays, (1, 0, 2))
        zero = g.ints([0])
        x1, h1 = (g.node("Unsqueeze", [n, zero]) for n in inputs[:2])
        _, h = g.node("GRU", [x1, w, r, b, "", h1], outputs=2, hidden_size=hidden,
                      linear_before_reset=1)
        return g.node("Squeeze", [h, zero])

    @staticmethod
    def forward(ctx, x, h, w_ih, w_hh, b_ih=None, b_hh=None):
        n = h.shape[-1]
        a = _gates(x, w_ih, b_ih)
        b = _gates(h, w_hh, b_hh)
        rz = a[:, :2 * n] + b[:, :2 * n]
        _sigmoid_(rz)
        hn = b[:, 2 * n:]
        new = rz[:, :n] * hn
        new += a[:, 2 * n:]
        np.tanh(new, out=new)
        out = h - new
        out *= rz[:, n:]
        out += new
        if ctx.needs_input_grad:
            ctx.save_for_backward(x, h, w_ih, w_hh, b_ih, b_hh, rz, new, hn)
        return out

    @staticmethod
    def backward(ctx, grad):
        saved = ctx.saved_tensors
        n_in = len(ctx.inputs)
        if mode() & GRAD:
            return _gru_graph_grads(grad, *saved[:n_in], needs=ctx.needs_input_grad)
        return _first_order("GRUStep", grad, ctx.inputs, saved[:4] + saved[6:],
                            ctx.needs_input_grad, False)


def _gru_kernel(grad, x, h, w_ih, w_hh, rz, new, hn, views):
    """GRUStep's gradients into ``views`` (as :func:`_lstm_kernel`)."""
    n = h.shape[-1]
    r, z = rz[:, :n], rz[:, n:]
    slope = np.subtract(1.0, rz)
    slope *= rz  # σ' of r and z
    da = np.empty((h.shape[0], 3 * n), dtype=grad.dtype)
    dan = da[:, 2 * n:]
    np.subtract(1.0, z, out=dan)
    dan *= grad  # dn
    t = new * new
    np.subtract(1.0, t, out=t)
    dan *= t  # d(a_n): through tanh
    np.multiply(dan, hn, out=da[:, :n])  # dr
    np.subtract(h, new, out=da[:, n:2 * n])
    da[:, n:2 * n] *= grad  # dz
    da[:, :2 * n] *= slope
    dx, dh, dwi, dwh, dbi, dbh = views
    db_ = None
    if dh is not None or dwh is not None or dbh is not None:
        db_ = da.copy()
        np.multiply(dan, r, out=db_[:, 2 * n:])
    if dx is not None:
        np.dot(da, w_ih, out=dx)
    if dh is not None:
        np.dot(db_, w_hh, out=dh)
        dh += grad * z
    if dwi is not None:
        np.dot(da.T, x, out=dwi)
    if dwh is not None:
        np.dot(db_.T, h, out=dwh)
    if dbi is not None:
        np.sum(da, axis=0, out=dbi)
    if dbh is not None:
        np.sum(db_, axis=0, out=dbh)


def _gru_graph_grads(grad, x, h, w_ih, w_hh, b_ih=None, b_hh=None, *, needs):
    """GRUStep's gradients in Tensor ops (the formulas of its docstring)."""
    n = h.shape[-1]
    a, b = linear(x, w_ih, b_ih), linear(h, w_hh, b_hh)
    r = (a[:, :n] + b[:, :n]).sigmoid()
    z = (a[:, n:2 * n] + b[:, n:2 * n]).sigmoid()
    bn = b[:, 2 * n:]
    new = (a[:, 2 * n:] + r * bn).tanh()
    dan = grad * (1.0 - z) * (1.0 - new * new)
    dr = dan * bn * r * (1.0 - r)
    dz = grad * (h - new) * z * (1.0 - z)
    da = cat([dr, dz, dan], dim=1)
    db_ = cat([dr, dz, dan * r], dim=1)
    out = [da @ w_ih if needs[0] else None,
           db_ @ w_hh + grad * z if needs[1] else None,
           da.T @ x if needs[2] else None,
           db_.T @ h if needs[3] else None]
    if len(needs) == 6:
        out += [da.sum(0) if needs[4] else None, db_.sum(0) if needs[5] else None]
    return tuple(out)


# -- Elman RNN ----------------------------------------------------------------------------

class RNNStep(Function):
    """One Elman RNN step: h' = act(x w_ihᵀ + b_ih + h w_hhᵀ + b_hh), act = tanh or relu
    (``nonlinearity``).   da = grad ⊙ (1 - h'²) for tanh, grad ⊙ [h' > 0] for relu (relu'(0)
    = 0, as the relu op); dx = da w_ih, dh = da w_hh, dw_ih = daᵀ x, dw_hh = daᵀ h,
    db_ih = db_hh = Σ_n da."""

    @staticmethod
    def to_onnx(g, inputs, attrs, arrays, out):
        w, r, b, hidden = _onnx_weights(g, inputs, arrays, (0,))
        zero = g.ints([0])
        x1, h1 = (g.node("Unsqueeze", [n, zero]) for n in inputs[:2])
        act = "Tanh" if attrs.get("nonlinearity", "tanh") == "tanh" else "Relu"
        _, h = g.node("RNN", [x1, w, r, b, "", h1], outputs=2, hidden_size=hidden,
                      activations=[act])
        return g.node("Squeeze", [h, zero])

    @staticmethod
    def forward(ctx, x, h, w_ih, w_hh, b_ih=None, b_hh=None, *, nonlinearity="tanh"):
        a = _gates(x, w_ih, b_ih)
        a += _gates(h, w_hh, b_hh)
        if nonlinearity == "tanh":
            np.tanh(a, out=a)
        else:
            np.maximum(a, 0, out=a)
        if ctx.needs_input_grad:
            ctx.save_for_backward(x, h, w_ih, w_hh, b_ih, b_hh, a)
        return a

    @staticmethod
    def backward(ctx, grad):
        saved = ctx.saved_tensors
        n_in = len(ctx.inputs)
        act = ctx.attrs.get("nonlinearity", "tanh")
        if mode() & GRAD:
            return _rnn_graph_grads(grad, *saved[:n_in], needs=ctx.needs_input_grad,
                                    nonlinearity=act)
        return _first_order("RNNStep", grad, ctx.inputs, saved[:4] + saved[6:],
                            ctx.needs_input_grad, True, nonlinearity=act)


def _rnn_kernel(grad, x, h, w_ih, w_hh, out, views, *, nonlinearity):
    """RNNStep's gradients into ``views`` (as :func:`_lstm_kernel`)."""
    if nonlinearity == "tanh":
        da = out * out
        np.subtract(1.0, da, out=da)
        da *= grad
    else:
        da = np.where(out > 0, grad, np.zeros((), grad.dtype))
    dx, dh, dwi, dwh, dbi, dbh = views
    if dx is not None:
        np.dot(da, w_ih, out=dx)
    if dh is not None:
        np.dot(da, w_hh, out=dh)
    if dwi is not None:
        np.dot(da.T, x, out=dwi)
    if dwh is not None:
        np.dot(da.T, h, out=dwh)
    bias = dbh if dbh is not None else dbi
    if bias is not None:
        np.sum(da, axis=0, out=bias)


def _rnn_graph_grads(grad, x, h, w_ih, w_hh, b_ih=None, b_hh=None, *, needs, nonlinearity):
    """RNNStep's gradients in Tensor ops (the formulas of its docstring)."""
    a = linear(x, w_ih, b_ih) + linear(h, w_hh, b_hh)
    if nonlinearity == "tanh":
        out = a.tanh()
        da = grad * (1.0 - out * out)
    else:
        da = where(a > 0, grad, 0.0)
    db = da.sum(0) if len(needs) == 6 and (needs[4] or needs[5]) else None
    out = [da @ w_ih if needs[0] else None, da @ w_hh if needs[1] else None,
           da.T @ x if needs[2] else None, da.T @ h if needs[3] else None]
    if len(needs) == 6:
        out += [db if needs[4] else None, db if needs[5] else None]
    return tuple(out)


_KERNELS = {"LSTMStep": _lstm_kernel, "LSTMLayer": _lstm_layer_kernel, "GRUStep": _gru_kernel,
            "RNNStep": _rnn_kernel}


# -- the functional face ------------------------------------------------------------------

def _check_step(op: str, x: Any, h: Any, w_ih: Any, w_hh: Any, b_ih: Any, b_hh: Any,
                gates: int, state_rows: int) -> tuple:
    """Tensors for a step's arguments, or a clear error naming ``op`` and the shapes."""
    x, h, w_ih, w_hh = (as_tensor_operand(a) for a in (x, h, w_ih, w_hh))
    if (b_ih is None) != (b_hh is None):
        raise ArgumentError(f"{op}: give both biases b_ih and b_hh, or neither")
    biases = () if b_ih is None else tuple(as_tensor_operand(b) for b in (b_ih, b_hh))
    for t in (h, w_ih, w_hh) + biases:
        if t._data.dtype != x._data.dtype:
            raise mixed_dtypes(op, x, t)
    if x._data.dtype.kind != "f":
        raise TypeError(f"{op}: expected floating-point tensors, got dtype {x._data.dtype}")
    want_h = (state_rows,) if state_rows > 1 else ()
    if h.ndim != len(want_h) + 2 or h.shape[:len(want_h)] != want_h:
        raise ShapeError(f"{op}: the state must have shape {want_h + ('N', 'H')}, got "
                         f"{h.shape}")
    n, hidden = h.shape[-2], h.shape[-1]
    x_rows = x.shape[0] if (state_rows > 1 and x.ndim == 3) else None
    if x.ndim not in (2, 3) or (x.ndim == 3 and x_rows != state_rows) or x.shape[-2] != n:
        raise ShapeError(f"{op}: x must have shape (N, input_size) with N = {n} (the "
                         f"state's batch), got {x.shape}")
    want = {"w_ih": (gates * hidden, x.shape[-1]), "w_hh": (gates * hidden, hidden)}
    for name, t in zip(("w_ih", "w_hh"), (w_ih, w_hh)):
        if t.shape != want[name]:
            raise ShapeError(f"{op}: {name} must have shape {want[name]} (gates x hidden, "
                             f"inputs) for x {x.shape} and state {h.shape}, got {t.shape}")
    for name, t in zip(("b_ih", "b_hh"), biases):
        if t.shape != (gates * hidden,):
            raise ShapeError(f"{op}: {name} must have shape ({gates * hidden},), got "
                             f"{t.shape}")
    return (x, h, w_ih, w_hh) + biases


def lstm_step(x: Any, state: Any, w_ih: Any, w_hh: Any, b_ih: Any = None,
              b_hh: Any = None) -> Tensor:
    """One LSTM step as one :class:`LSTMStep` node: ``state`` (2, N, H) = [h; c] in, the new
    state out. x is (N, I) (or a state (2, N, I), whose h is read)."""
    return LSTMStep.apply(*_check_step("LSTMStep", x, state, w_ih, w_hh, b_ih, b_hh, 4, 2))


def lstm_layer(x: Any, state: Any, w_ih: Any, w_hh: Any, b_ih: Any = None, b_hh: Any = None,
               reverse: bool = False) -> Tensor:
    """One direction of one LSTM layer over a sequence x (T, N, I), from ``state`` (2, N, H)
    = [h₀; c₀], as one :class:`LSTMLayer` node: every step's state out, (T, 2, N, H).
    ``reverse=True`` runs from the last step to the first."""
    x = as_tensor_operand(x)
    if x.ndim != 3:
        raise ShapeError(f"LSTMLayer: x must be a sequence (T, N, input_size), got shape "
                         f"{x.shape}")
    if x.shape[0] == 0:
        raise ShapeError(f"LSTMLayer: the sequence is empty (shape {x.shape})")
    args = _check_step("LSTMLayer", x[0], state, w_ih, w_hh, b_ih, b_hh, 4, 2)
    return LSTMLayer.apply(x, *args[1:], reverse=bool(reverse))


def gru_step(x: Any, h: Any, w_ih: Any, w_hh: Any, b_ih: Any = None,
             b_hh: Any = None) -> Tensor:
    """One GRU step as one :class:`GRUStep` node: h (N, H) in, h' out; x (N, I)."""
    return GRUStep.apply(*_check_step("GRUStep", x, h, w_ih, w_hh, b_ih, b_hh, 3, 1))


def rnn_step(x: Any, h: Any, w_ih: Any, w_hh: Any, b_ih: Any = None, b_hh: Any = None,
             nonlinearity: str = "tanh") -> Tensor:
    """One Elman RNN step as one :class:`RNNStep` node: h (N, H) in, h' out; x (N, I);
    ``nonlinearity`` "tanh" or "relu"."""
    if nonlinearity not in NONLINEARITIES:
        raise ArgumentError(f"RNNStep: unknown nonlinearity {nonlinearity!r}; use 'tanh' or "
                            f"'relu'")
    args = _check_step("RNNStep", x, h, w_ih, w_hh, b_ih, b_hh, 1, 1)
    return RNNStep.apply(*args, nonlinearity=nonlinearity)


__all__ = ["LSTMStep", "LSTMLayer", "GRUStep", "RNNStep", "RecurrentStepBackward", "Piece",
           "lstm_step", "lstm_layer", "gru_step", "rnn_step", "NONLINEARITIES"]
