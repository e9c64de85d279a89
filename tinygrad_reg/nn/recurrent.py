"""Recurrent layers with PyTorch's names, arguments, defaults, parameter keys and shapes:
``RNN`` (tanh or relu), ``LSTM`` and ``GRU`` over whole sequences, ``RNNCell``, ``LSTMCell``
and ``GRUCell`` for one step.

Each layer and direction of an LSTM is ONE graph node (:mod:`tinygrad_reg.ops.recurrent`:
``LSTMLayer``, its steps looped in numpy; step by step, ``LSTMStep``, with zoneout, which
acts between steps); each time step of a GRU or an RNN is one node (``GRUStep``,
``RNNStep``), whose gates come from one product per weight matrix. PyTorch's conventions,
which surprise:

- gate order: LSTM rows of ``weight_ih``/``weight_hh`` are (i, f, g, o) blocks of H; GRU
  rows are (r, z, n), and the GRU's reset gate multiplies ``W_hn h + b_hn`` (bias included);
- ``h_n`` (and ``c_n``) is (num_layers · num_directions, N, H) even with ``batch_first``,
  layer-major: row 2·l + d is layer l, direction d (1 = reverse);
- ``dropout`` acts between layers only: after every layer but the last (so it does nothing
  with ``num_layers=1``, which PyTorch warns about, and so does this);
- the output concatenates the two directions on the feature axis: (…, 2H).

Beyond PyTorch, two regularizers of recurrent networks are arguments of RNN/LSTM/GRU
(keyword-only; 0 by default, so a model built with PyTorch's arguments behaves as PyTorch's):
``weight_dropout`` (weight drop, Merity et al. 2017: DropConnect on every ``weight_hh``, one
mask per forward pass shared by the time steps) and ``zoneout`` (Krueger et al. 2017: one
rate, or ``(p_h, p_c)`` for the LSTM). Both keep the parameters and the state dict exactly
PyTorch's.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from .._guard import prepare_inplace
from .._tensor import Tensor
from ..errors import ArgumentError, DTypeError, NotSupportedError, ShapeError
from ..ops.recurrent import NONLINEARITIES, GRUStep, LSTMLayer, LSTMStep, RNNStep, ZeroState
from ..ops.shape import GetItem, cat, stack
from ..random import resolve
from ..regularization import noise as N
from ..regularization import sequence as S
from .layers import _float_dtype
from .module import Module
from .parameter import Parameter

_GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}


def _check_size(value: Any, name: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{where}: {name} should be of type int, got: {type(value).__name__}")
    if value <= 0:
        raise ValueError(f"{where}: {name} must be greater than zero, got {value}")
    return int(value)


def _check_flag(value: Any, name: str, where: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{where}: {name} should be of type bool, got: "
                        f"{type(value).__name__}")
    return bool(value)


def _uniform(module: Module, generator: Any) -> None:
    """Every parameter of ``module`` from U(-1/√H, 1/√H), in registration order (PyTorch's
    ``reset_parameters`` of the recurrent layers and cells)."""
    bound = 1.0 / math.sqrt(module.hidden_size)
    gen = resolve(generator)
    for p in module.parameters():
        np.copyto(prepare_inplace(p), gen.uniform(-bound, bound, p._data.shape))


def _as_input(x: Any, where: str) -> Tensor:
    if not isinstance(x, Tensor):
        x = Tensor(x)
    return x


def _zoneout_rate(value: Any, mode: str, where: str) -> Any:
    if isinstance(value, (tuple, list)):
        if mode != "LSTM" or len(value) != 2:
            raise ArgumentError(f"{where}: zoneout takes one rate, or (p_h, p_c) for an LSTM; "
                                f"got {value!r}")
        rates = tuple(N._probability(v, "zoneout", where) for v in value)
        return rates if rates[0] != rates[1] else rates[0]
    return N._probability(value, "zoneout", where)


class RNNBase(Module):
    """What RNN, LSTM and GRU share (PyTorch's ``RNNBase``): the parameters of every layer and
    direction, and the loop over layers, directions and time steps. ``mode`` is "LSTM",
    "GRU", "RNN_TANH" or "RNN_RELU"."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device: Any = None,
                 dtype: Any = None, *, weight_dropout: float = 0.0, zoneout: Any = 0.0,
                 generator: np.random.Generator | None = None) -> None:
        super().__init__()
        where = {"RNN_TANH": "RNN", "RNN_RELU": "RNN"}.get(mode, mode)
        if mode not in _GATES:
            raise ArgumentError(f"RNNBase: unrecognized mode {mode!r}; use one of "
                                f"{sorted(_GATES)}")
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float, np.number)) \
                or not 0 <= dropout <= 1:
            raise ValueError(f"{where}: dropout should be a number in range [0, 1] "
                             f"representing the probability of an element being zeroed, got "
                             f"{dropout!r}")
        if proj_size != 0:
            raise NotSupportedError(f"{where}: proj_size={proj_size!r} (LSTM projections) is "
                                    f"not supported here; use proj_size=0 and a linear "
                                    f"layer on the output")
        self.mode = mode
        self.input_size = _check_size(input_size, "input_size", where)
        self.hidden_size = _check_size(hidden_size, "hidden_size", where)
        self.num_layers = _check_size(num_layers, "num_layers", where)
        self.bias = _check_flag(bias, "bias", where)
        self.batch_first = _check_flag(batch_first, "batch_first", where)
        self.dropout = float(dropout)
        self.bidirectional = _check_flag(bidirectional, "bidirectional", where)
        self.proj_size = 0
        self.weight_dropout = N._probability(weight_dropout, "weight_dropout", where)
        self.zoneout = _zoneout_rate(zoneout, mode, where)
        self.generator = generator
        if dropout > 0 and num_layers == 1:
            warnings.warn(f"dropout option adds dropout after all but last recurrent layer, so "
                          f"non-zero dropout expects num_layers greater than 1, but got "
                          f"dropout={dropout} and num_layers={num_layers}", UserWarning,
                          stacklevel=3)
        dt = _float_dtype(dtype, device, where)
        gates = _GATES[mode] * self.hidden_size
        directions = 2 if self.bidirectional else 1
        self._flat_weights_names: list[str] = []
        self._all_weights: list[list[str]] = []
        for layer in range(self.num_layers):
            for d in range(directions):
                n_in = self.input_size if layer == 0 else self.hidden_size * directions
                suffix = "_reverse" if d else ""
                shapes = {"weight_ih": (gates, n_in), "weight_hh": (gates, self.hidden_size)}
                if self.bias:
                    shapes.update(bias_ih=(gates,), bias_hh=(gates,))
                names = []
                for name, shape in shapes.items():
                    key = f"{name}_l{layer}{suffix}"
                    setattr(self, key, Parameter(np.zeros(shape, dtype=dt)))
                    names.append(key)
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every weight and bias drawn from U(-1/√hidden_size, 1/√hidden_size), PyTorch's
        initialisation, from ``generator`` (or the package generator)."""
        _uniform(self, self.generator)

    def flatten_parameters(self) -> None:
        """Nothing to do here (PyTorch packs the weights for cuDNN); kept so that code which
        calls it runs unchanged."""

    @property
    def all_weights(self) -> list[list[Parameter]]:
        """The parameters of each layer and direction: [[w_ih, w_hh, b_ih, b_hh], ...]."""
        return [[getattr(self, n) for n in names] for names in self._all_weights]

    # -- the forward pass ------------------------------------------------------------------
    def forward(self, input: Any, hx: Any = None) -> tuple:
        """(output, h_n) — for the LSTM (output, (h_n, c_n)): output (T, N, D·H) (or
        (N, T, D·H) with ``batch_first``; (T, D·H) for an unbatched (T, input_size) input),
        h_n (num_layers·D, N, H). ``hx``: the initial state(s) of that shape (zeros if
        None)."""
        x = _as_input(input, self._name)
        batched = self._check_input(x)
        if not batched:
            x = x.unsqueeze(0 if self.batch_first else 1)
        n = x.shape[0 if self.batch_first else 1]
        states = self._initial_states(hx, n, batched, x)
        if self.mode == "LSTM" and not self.zoneout:
            output, h_n = self._lstm_sequence(x, states)
        else:
            steps = [GetItem.apply(x, index=(slice(None), t) if self.batch_first else t)
                     for t in range(x.shape[1 if self.batch_first else 0])]
            last, finals = self._layers(steps, states)
            output, h_n = self._assemble(last, finals)
        if not batched:
            output = output.squeeze(0 if self.batch_first else 1)
            h_n = tuple(h.squeeze(1) for h in h_n) if isinstance(h_n, tuple) else h_n.squeeze(1)
        return output, h_n

    @property
    def _name(self) -> str:
        return type(self).__name__

    def _check_input(self, x: Tensor) -> bool:
        w = self.weight_ih_l0
        if x.ndim not in (2, 3):
            seq = "(N, T, input_size)" if self.batch_first else "(T, N, input_size)"
            raise ShapeError(f"{self._name}: Expected input to be 2D or 3D, got {x.ndim}D "
                             f"tensor instead (shape {x.shape}); give a batch {seq}, or one "
                             f"sequence (T, input_size)")
        if x.dtype != w.dtype:
            raise DTypeError(f"{self._name}: input dtype ({x.dtype}) does not match weight "
                             f"dtype ({w.dtype}). Convert input: input.to({w.dtype}), or "
                             f"convert model: model.to({x.dtype})")
        if x.shape[-1] != self.input_size:
            want = "(N, T, " if self.batch_first else "(T, N, "
            raise ShapeError(f"{self._name}: input.size(-1) must be equal to input_size. "
                             f"Expected {self.input_size}, got {x.shape[-1]} (input shape "
                             f"{x.shape}); give an input {want}{self.input_size}), or build "
                             f"the layer with input_size={x.shape[-1]}")
        t = x.shape[1 if (self.batch_first and x.ndim == 3) else 0]
        if t == 0:
            raise ShapeError(f"{self._name}: the input sequence is empty (shape {x.shape})")
        return x.ndim == 3

    def _expected_hidden(self, n: int) -> tuple[int, int, int]:
        return (self.num_layers * (2 if self.bidirectional else 1), n, self.hidden_size)

    def _check_hidden(self, h: Any, n: int, batched: bool, what: str) -> Tensor:
        h = _as_input(h, self._name)
        if h.ndim != (3 if batched else 2):
            kind = "batched 3-D" if batched else "unbatched 2-D"
            raise ShapeError(f"{self._name}: for {kind} input, {what} should also be "
                             f"{3 if batched else 2}-D but got {h.ndim}-D tensor (shape "
                             f"{h.shape})")
        if not batched:
            h = h.unsqueeze(1)
        want = self._expected_hidden(n)
        if h.shape != want:
            raise ShapeError(f"{self._name}: Expected hidden size {want}, got {list(h.shape)} "
                             f"({what} is (num_layers * num_directions, N, hidden_size))")
        if h.dtype != self.weight_ih_l0.dtype:
            raise DTypeError(f"{self._name}: {what} dtype ({h.dtype}) does not match weight "
                             f"dtype ({self.weight_ih_l0.dtype}); convert it: "
                             f"{what}.to({self.weight_ih_l0.dtype})")
        return h

    def _initial_states(self, hx: Any, n: int, batched: bool, x: Tensor) -> list:
        """One initial state per layer and direction (an LSTM state is [h; c], (2, N, H))."""
        k = self._expected_hidden(n)[0]
        lstm = self.mode == "LSTM"
        if hx is None:
            zeros = ZeroState.apply(x, lead=(2,) if lstm else (), hidden=self.hidden_size,
                                    axis=0 if self.batch_first else 1)
            return [zeros] * k
        if lstm:
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise ArgumentError(f"LSTM: hx must be a tuple (h_0, c_0), got "
                                    f"{type(hx).__name__}")
            h0 = self._check_hidden(hx[0], n, batched, "h_0")
            c0 = self._check_hidden(hx[1], n, batched, "c_0")
            both = stack([h0, c0], dim=1)
            return [GetItem.apply(both, index=i) for i in range(k)]
        h0 = self._check_hidden(hx, n, batched, "hx")
        return [GetItem.apply(h0, index=i) for i in range(k)]

    def _step_fn(self) -> tuple[type, dict]:
        if self.mode == "LSTM":
            return LSTMStep, {}
        if self.mode == "GRU":
            return GRUStep, {}
        return RNNStep, {"nonlinearity": "tanh" if self.mode == "RNN_TANH" else "relu"}

    def _weights(self, k: int) -> list:
        """Layer-direction k's parameters, weight_hh through weight drop while training."""
        w = [getattr(self, name) for name in self._all_weights[k]]
        if self.weight_dropout and self.training:
            w[1] = S.weight_drop(w[1], self.weight_dropout, True, generator=self.generator)
        return w

    def _lstm_sequence(self, x: Tensor, states: list) -> tuple[Tensor, tuple]:
        """The LSTM without zoneout: ONE ``LSTMLayer`` node per layer and direction (its
        input products batched over the sequence, its steps looped in numpy), dropout
        between layers with a fresh mask per step and unit."""
        seq = x.transpose(0, 1) if self.batch_first else x
        directions = 2 if self.bidirectional else 1
        finals = []
        for layer in range(self.num_layers):
            if layer and self.dropout and self.training:
                p = self.dropout
                seq = N.Dropout.apply(seq, N._mask(self.generator, seq.shape, 1.0 - p), p=p)
            runs = []
            for d in range(directions):
                k = layer * directions + d
                out = LSTMLayer.apply(seq, states[k], *self._weights(k), reverse=d == 1)
                runs.append(GetItem.apply(out, index=(slice(None), 0)))
                finals.append(GetItem.apply(out, index=0 if d else -1))
            seq = runs[0] if directions == 1 else cat(runs, dim=-1)
        both = stack(finals, dim=0)  # (L·D, 2, N, H)
        h_n = (GetItem.apply(both, index=(slice(None), 0)),
               GetItem.apply(both, index=(slice(None), 1)))
        return (seq.transpose(0, 1) if self.batch_first else seq), h_n

    def _layers(self, inputs: list, states: list) -> tuple[list, list]:
        """Run every layer and direction over the time steps; the last layer's per-step
        outputs (states for the LSTM) and each layer-direction's final state."""
        op, attrs = self._step_fn()
        directions = 2 if self.bidirectional else 1
        finals = []
        for layer in range(self.num_layers):
            if layer and self.dropout and self.training:
                inputs = self._dropped(inputs)
            runs = []
            for d in range(directions):
                k = layer * directions + d
                seq, final = self._run(op, attrs, inputs, states[k], self._weights(k), d == 1)
                runs.append(seq)
                finals.append(final)
            inputs = runs[0] if directions == 1 else [cat([a, b], dim=-1)
                                                       for a, b in zip(*runs)]
        return inputs, finals

    def _run(self, op: type, attrs: dict, inputs: list, state: Tensor, weights: list,
             reverse: bool) -> tuple[list, Tensor]:
        """One direction of one layer: a step per time step, zoneout between steps."""
        seq: list = [None] * len(inputs)
        order = range(len(inputs) - 1, -1, -1) if reverse else range(len(inputs))
        z = self.zoneout
        for t in order:
            new = op.apply(inputs[t], state, *weights, **attrs)
            if z:
                new = S.zoneout(state, new, z, self.training, generator=self.generator)
            seq[t] = state = new
        return seq, state

    def _dropped(self, inputs: list) -> list:
        """Dropout between layers: a fresh mask per time step over (N, features) (for the
        LSTM, the mask broadcasts over the state's [h; c] rows; the next layer reads h)."""
        p = self.dropout
        shape = inputs[0].shape[-2:]
        return [N.Dropout.apply(x, N._mask(self.generator, shape, 1.0 - p), p=p) for x in inputs]

    def _assemble(self, last: list, finals: list) -> tuple:
        """(output, h_n) from the last layer's per-step outputs and the final states."""
        if self.mode == "LSTM":
            if self.batch_first:  # (2, N, T, DH), then h
                output = GetItem.apply(stack(last, dim=2), index=0)
            else:  # (T, 2, N, DH), then h
                output = GetItem.apply(stack(last, dim=0), index=(slice(None), 0))
            both = stack(finals, dim=0)
            h_n = (GetItem.apply(both, index=(slice(None), 0)),
                   GetItem.apply(both, index=(slice(None), 1)))
            return output, h_n
        return stack(last, dim=1 if self.batch_first else 0), stack(finals, dim=0)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        if self.weight_dropout:
            s += f", weight_dropout={self.weight_dropout}"
        if self.zoneout:
            s += f", zoneout={self.zoneout}"
        return s


class RNN(RNNBase):
    """``nn.RNN(input_size, hidden_size, num_layers=1, nonlinearity='tanh', bias=True,
    batch_first=False, dropout=0.0, bidirectional=False, device=None, dtype=None)``: a
    multi-layer Elman RNN, h_t = act(x_t W_ihᵀ + b_ih + h_(t-1) W_hhᵀ + b_hh), act = tanh or
    relu. Returns (output, h_n). Keys ``weight_ih_l0``, ``weight_hh_l0``, ``bias_ih_l0``,
    ``bias_hh_l0``, then ``_l1``…, ``_reverse`` for the second direction. Keyword-only
    extras: ``weight_dropout``, ``zoneout``, ``generator`` (see the module docstring)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, device: Any = None,
                 dtype: Any = None, **kwargs: Any) -> None:
        if "proj_size" in kwargs:
            raise ValueError("RNN: proj_size argument is only supported for LSTM, not RNN or "
                             "GRU")
        if nonlinearity not in NONLINEARITIES:
            raise ValueError(f"RNN: Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' "
                             f"or 'relu'.")
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size,
                         hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         0, device, dtype, **kwargs)
        self.nonlinearity = nonlinearity

    def extra_repr(self) -> str:
        s = super().extra_repr()
        return s if self.nonlinearity == "tanh" else s + f", nonlinearity={self.nonlinearity}"


class LSTM(RNNBase):
    """``nn.LSTM(input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
    dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None)``: a multi-layer
    LSTM with PyTorch's gate order (i, f, g, o). ``lstm(x, (h_0, c_0))`` returns
    (output, (h_n, c_n)). ``proj_size`` must be 0 (projections are not supported).
    Keyword-only extras: ``weight_dropout``, ``zoneout`` (one rate or (p_h, p_c)),
    ``generator`` (see the module docstring)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device: Any = None,
                 dtype: Any = None, **kwargs: Any) -> None:
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, proj_size, device, dtype, **kwargs)


class GRU(RNNBase):
    """``nn.GRU(input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
    dropout=0.0, bidirectional=False, device=None, dtype=None)``: a multi-layer GRU with
    PyTorch's gate order (r, z, n) and its reset gate on ``W_hn h + b_hn``. Returns
    (output, h_n). Keyword-only extras: ``weight_dropout``, ``zoneout``, ``generator``."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, device: Any = None, dtype: Any = None,
                 **kwargs: Any) -> None:
        if "proj_size" in kwargs:
            raise ValueError("GRU: proj_size argument is only supported for LSTM, not RNN or "
                             "GRU")
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, 0, device, dtype, **kwargs)


# -- cells ------------------------------------------------------------------------------------

class RNNCellBase(Module):
    """What the cells share: ``weight_ih`` (chunks·H, input_size), ``weight_hh`` (chunks·H, H),
    ``bias_ih``, ``bias_hh`` (chunks·H,) or None, all from U(-1/√H, 1/√H)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int,
                 device: Any = None, dtype: Any = None, *,
                 generator: np.random.Generator | None = None) -> None:
        super().__init__()
        where = type(self).__name__
        self.input_size = _check_size(input_size, "input_size", where)
        self.hidden_size = _check_size(hidden_size, "hidden_size", where)
        self.bias = _check_flag(bias, "bias", where)
        dt = _float_dtype(dtype, device, where)
        rows = num_chunks * self.hidden_size
        self.weight_ih = Parameter(np.zeros((rows, self.input_size), dtype=dt))
        self.weight_hh = Parameter(np.zeros((rows, self.hidden_size), dtype=dt))
        self.bias_ih = Parameter(np.zeros(rows, dtype=dt)) if bias else None
        self.bias_hh = Parameter(np.zeros(rows, dtype=dt)) if bias else None
        self.generator = generator
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every parameter from U(-1/√hidden_size, 1/√hidden_size) (PyTorch's)."""
        _uniform(self, self.generator)

    def _params(self) -> list:
        p = [self.weight_ih, self.weight_hh]
        return p + [self.bias_ih, self.bias_hh] if self.bias else p

    def _input(self, x: Any) -> tuple[Tensor, bool]:
        x = _as_input(x, type(self).__name__)
        name = type(self).__name__
        if x.ndim not in (1, 2):
            raise ShapeError(f"{name}: Expected input to be 1D or 2D, got {x.ndim}D instead "
                             f"(shape {x.shape})")
        if x.shape[-1] != self.input_size:
            raise ShapeError(f"{name}: input has {x.shape[-1]} features (shape {x.shape}), "
                             f"expected input_size={self.input_size}")
        if x.dtype != self.weight_ih.dtype:
            raise DTypeError(f"{name}: input dtype ({x.dtype}) does not match weight dtype "
                             f"({self.weight_ih.dtype}); convert the input with "
                             f"x.to({self.weight_ih.dtype}) or the cell with .to()")
        return (x, True) if x.ndim == 2 else (x.unsqueeze(0), False)

    def _hidden(self, h: Any, x: Tensor, batched: bool, what: str) -> Tensor:
        name = type(self).__name__
        if h is None:
            return ZeroState.apply(x, lead=(), hidden=self.hidden_size, axis=0)
        h = _as_input(h, name)
        if h.ndim not in (1, 2):
            raise ShapeError(f"{name}: Expected {what} to be 1D or 2D, got {h.ndim}D instead")
        h = h if batched else h.unsqueeze(0)
        if h.shape != (x.shape[0], self.hidden_size):
            raise ShapeError(f"{name}: {what} has shape {h.shape}, expected "
                             f"{(x.shape[0], self.hidden_size)} for input of batch "
                             f"{x.shape[0]}")
        if h.dtype != x.dtype:
            raise DTypeError(f"{name}: {what} dtype ({h.dtype}) does not match the input's "
                             f"({x.dtype}); convert it: {what}.to({x.dtype})")
        return h

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        nl = getattr(self, "nonlinearity", "tanh")
        return s if nl == "tanh" else s + f", nonlinearity={nl}"


class RNNCell(RNNCellBase):
    """``nn.RNNCell(input_size, hidden_size, bias=True, nonlinearity='tanh')``: one Elman
    step, h' = act(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh), one ``RNNStep`` node. ``cell(x, h)``
    with x (N, input_size) or (input_size,), h of the same batch (zeros if None)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device: Any = None, dtype: Any = None,
                 **kwargs: Any) -> None:
        if nonlinearity not in NONLINEARITIES:
            raise ValueError(f"RNNCell: Unknown nonlinearity: {nonlinearity!r}; use 'tanh' or "
                             f"'relu'")
        super().__init__(input_size, hidden_size, bias, 1, device, dtype, **kwargs)
        self.nonlinearity = nonlinearity

    def forward(self, input: Any, hx: Any = None) -> Tensor:
        x, batched = self._input(input)
        h = self._hidden(hx, x, batched, "hx")
        out = RNNStep.apply(x, h, *self._params(), nonlinearity=self.nonlinearity)
        return out if batched else out.squeeze(0)


class LSTMCell(RNNCellBase):
    """``nn.LSTMCell(input_size, hidden_size, bias=True)``: one LSTM step, gate order
    (i, f, g, o), one ``LSTMStep`` node. ``cell(x, (h, c))`` returns (h', c')."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 device: Any = None, dtype: Any = None, **kwargs: Any) -> None:
        super().__init__(input_size, hidden_size, bias, 4, device, dtype, **kwargs)

    def forward(self, input: Any, hx: Any = None) -> tuple[Tensor, Tensor]:
        x, batched = self._input(input)
        if hx is None:
            state = ZeroState.apply(x, lead=(2,), hidden=self.hidden_size, axis=0)
        else:
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise ArgumentError(f"LSTMCell: hx must be a tuple (h, c), got "
                                    f"{type(hx).__name__}")
            state = stack([self._hidden(hx[0], x, batched, "hx[0]"),
                           self._hidden(hx[1], x, batched, "hx[1]")])
        out = LSTMStep.apply(x, state, *self._params())
        h, c = GetItem.apply(out, index=0), GetItem.apply(out, index=1)
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    """``nn.GRUCell(input_size, hidden_size, bias=True)``: one GRU step, gate order
    (r, z, n), one ``GRUStep`` node. ``cell(x, h)`` returns h'."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 device: Any = None, dtype: Any = None, **kwargs: Any) -> None:
        super().__init__(input_size, hidden_size, bias, 3, device, dtype, **kwargs)

    def forward(self, input: Any, hx: Any = None) -> Tensor:
        x, batched = self._input(input)
        h = self._hidden(hx, x, batched, "hx")
        out = GRUStep.apply(x, h, *self._params())
        return out if batched else out.squeeze(0)


__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]
