"""Export a model's eval-mode forward pass to ONNX.

``tg.onnx.export(model, example_input, "model.onnx")`` runs the forward once with a tracer that
sees every op, maps each op to ONNX nodes through a registry (one mapping per op class, found
along the class's MRO, so ``Conv2d`` uses ``Conv``'s), stores the parameters and buffers as
initializers named by their ``state_dict`` keys, checks the model with ``onnx.checker`` and
saves it. A second trace, with other input values (and, with ``dynamic_batch``, one more
example), proves that the graph does not depend on the example: an op that consumed a
constant computed from the input's values, a shape that cannot follow the batch size, or
Python control flow that took another path is an error naming the op, not a model that is
right only for the example.

Your own ops get a mapping with :func:`register`::

    @tg.onnx.register(MyOp)
    def _(g, inputs, attrs, arrays, out):
        return g.node("Mul", [inputs[0], g.const(np.asarray(2.0, out.dtype))])

where ``g`` is the :class:`Builder`, ``inputs`` the ONNX names of the op's inputs,
``attrs`` its keyword attributes, ``arrays`` the traced input arrays and ``out`` the traced
output (for shapes and dtypes). Needs the ``onnx`` extra (``pip install
"tinygrad_reg[onnx]"``: onnx, and onnxruntime to run the result).
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from ._tensor import Tensor
from .autograd import no_grad
from .trace import same, traced

_REGISTRY: dict[type, Callable] = {}
_INT64_MAX = np.iinfo(np.int64).max
_PROTO_LIMIT = 2**31 - 1  # protobuf serializes no message of 2 GB or more


def register(fn_class: type) -> Callable[[Callable], Callable]:
    """Decorator: ``mapping(g, inputs, attrs, arrays, out) -> output name`` for the op class
    ``fn_class`` (and its subclasses without a mapping of their own)."""
    def deco(mapping: Callable) -> Callable:
        _REGISTRY[fn_class] = mapping
        return mapping
    return deco


def mapping_for(cls: type) -> Callable | None:
    """The mapping registered for ``cls`` or its nearest base class, or None."""
    for base in cls.__mro__:
        if base in _REGISTRY:
            return _REGISTRY[base]
    return None


class ExportError(ValueError):
    """An op or a shape that cannot be exported, named in the message."""


# -- the graph under construction ------------------------------------------------------------

class Builder:
    """Collects ONNX nodes and initializers; handed to each op's mapping."""

    def __init__(self, opset: int, dynamic_batch: bool, reserved: Any = ()) -> None:
        from onnx import helper, numpy_helper

        self._helper, self._numpy_helper = helper, numpy_helper
        self.opset = opset
        self.dynamic_batch = dynamic_batch
        self.nodes: list = []
        self.initializers: list = []
        self._count = 0
        # every name in the graph names one value: fresh names skip the inputs', the outputs'
        # and the parameters' names
        self._taken: set[str] = set(reserved)
        self.batch_dependent: dict[str, Any] = {}  # attrs whose value follows the batch size
        self.in_batched: list[bool] = []  # per input of the op being mapped: dim 0 = batch

    def fresh(self, hint: str = "t") -> str:
        """A name not yet used in the graph: ``hint_<n>``."""
        while True:
            self._count += 1
            name = f"{hint}_{self._count}"
            if name not in self._taken:
                self._taken.add(name)
                return name

    def node(self, op_type: str, inputs: list[str], outputs: int = 1, **attrs: Any) -> Any:
        """Append a node; its output name (or names, when ``outputs`` > 1)."""
        names = [self.fresh(op_type.lower()) for _ in range(outputs)]
        attrs = {k: v for k, v in attrs.items() if v is not None}
        self.nodes.append(self._helper.make_node(op_type, inputs, names, **attrs))
        return names[0] if outputs == 1 else names

    def const(self, value: Any, name: str | None = None) -> str:
        """An initializer holding ``value`` (an array or a number, its dtype kept)."""
        arr = np.require(np.asarray(value), requirements="C")  # (0-d stays 0-d)
        name = name or self.fresh("const")
        self._taken.add(name)
        self.initializers.append(self._numpy_helper.from_array(arr, name))
        return name

    def ints(self, values: Any) -> str:
        return self.const(np.asarray(list(values), dtype=np.int64))

    def cast(self, name: str, to: Any) -> str:
        from onnx import helper

        return self.node("Cast", [name], to=helper.np_dtype_to_tensor_dtype(np.dtype(to)))

    def reduce(self, op: str, x: str, axes: Any, keepdims: bool, ndim: int) -> str:
        """A Reduce* node over ``axes`` (None: all), in the form the opset wants."""
        if axes is None:
            axes = tuple(range(ndim))
        axes = [int(a) % max(ndim, 1) for a in ((axes,) if isinstance(axes, (int, np.integer))
                                              else axes)]
        if op == "ReduceSum" or self.opset >= 18:
            return self.node(op, [x, self.ints(axes)], keepdims=int(keepdims))
        return self.node(op, [x], axes=axes, keepdims=int(keepdims))


# -- tracing ---------------------------------------------------------------------------------

class _Trace:
    def __init__(self) -> None:
        # (holding every array it saw keeps their ids unique while the trace lives)
        self.records: list[tuple] = []

    def op(self, cls: type, inputs: tuple, attrs: dict, out: np.ndarray, ctx: Any) -> None:
        self.records.append((cls, [t._data for t in inputs], dict(attrs), out))


def _run_traced(model: Callable, inputs: tuple) -> tuple[_Trace, Any]:
    with no_grad(), traced(_Trace()) as trace:
        out = model(*inputs)
    return trace, out


def _other_input(x: np.ndarray, grow: bool) -> np.ndarray:
    """Another input of the same kind: other values (and one more example when ``grow``)."""
    y = np.roll(x, 1, axis=0) if x.ndim else x
    if x.dtype.kind == "f":
        y = (y * 0.75 + 0.125).astype(x.dtype)
    if grow and x.ndim:
        y = np.concatenate([y, y[:1]], axis=0)
    return y


# -- export ----------------------------------------------------------------------------------

def export(model: Any, example_input: Any, path: Any = None, *, input_names: Any = None,
           output_names: Any = None, dynamic_batch: bool = True, opset: int = 17) -> Any:
    """Trace ``model``'s eval-mode forward on ``example_input`` (a Tensor or array, or a tuple
    of them, one per argument of ``model``) and write it to ``path`` as ONNX; returns the
    ``onnx.ModelProto``.

    Inputs are told apart by their position: the same tensor given for two arguments
    (``(x, x)``) exports two inputs. ``input_names`` / ``output_names`` name the graph's
    inputs and outputs (default ``input`` or ``input_0``, ``input_1``..., and ``output`` or
    ``output_0``...); parameters and buffers are initializers named by their ``state_dict``
    keys. With ``dynamic_batch`` (the default) dim 0 of every input and of the outputs that
    follow it is symbolic ("batch"). A model in training mode is switched to eval mode for
    the trace (with a warning: dropout and noise layers export as the identity, batch norm
    with its running statistics) and switched back afterwards. ``opset``: 17 (the default)
    or later.

    A model over protobuf's 2 GB limit for one serialized message is written in ONNX's
    external-data format: the weights (every initializer of 1 KiB or more) to
    ``<path>.data`` beside ``path``, which holds the graph and where each tensor lies in that
    file; ``onnx.load(path)`` and ``onnxruntime.InferenceSession(path)`` read both, and the
    returned proto refers to the file.

    Errors (:class:`ExportError`, a ValueError): an op without a mapping (the message shows
    how to :func:`register` one), an op whose attributes or constants depend on the input's
    values, or on the batch size under ``dynamic_batch``, an op that cannot follow a
    symbolic batch, an input or output name that is also a parameter's name (it would
    replace the weights) or both an input's and an output's, and a model over 2 GB without
    a ``path``. ``onnx.checker`` validates the result."""
    try:
        import onnx
        from onnx import helper
    except ImportError as err:  # pragma: no cover - the extra is installed in the suite
        raise ImportError('tg.onnx.export needs the onnx package: pip install '
                          '"tinygrad_reg[onnx]"') from err
    if not isinstance(opset, int) or opset < 17:
        raise ValueError(f"onnx.export: opset must be an int >= 17, got {opset!r}")
    examples = example_input if isinstance(example_input, (tuple, list)) else (example_input,)
    # one fresh array per position: the trace tells values apart by their arrays, so the same
    # tensor given twice (a siamese pair traced on (x, x)), or a parameter given as an input,
    # must still become distinct graph inputs
    tensors = tuple(Tensor(np.array(t._data if isinstance(t, Tensor) else t, copy=True))
                    for t in examples)
    if not tensors:
        raise ValueError("onnx.export: give at least one example input")
    if dynamic_batch and any(t.ndim == 0 for t in tensors):
        raise ExportError("onnx.export: dynamic_batch needs inputs with a batch dim (dim 0); "
                          "a scalar input has none (pass dynamic_batch=False)")
    in_names = _names(input_names, len(tensors), "input", "input_names")

    modules = list(model.modules()) if callable(getattr(model, "modules", None)) else []
    modes_before = [(m, m.training) for m in modules]
    if any(m.training for m in modules):
        warnings.warn("onnx.export: the model is in training mode; its eval-mode behaviour is "
                      "exported (dropout and noise as the identity, batch norm with its "
                      "running statistics) and its mode is restored afterwards", UserWarning,
                      stacklevel=2)
    try:
        for m in modules:
            m.training = False
        trace, out = _run_traced(model, tensors)
        other = tuple(Tensor(_other_input(t._data, dynamic_batch)) for t in tensors)
        try:
            trace2, out2 = _run_traced(model, other)
        except Exception as err:
            if not dynamic_batch:
                raise
            raise ExportError(f"onnx.export: the model fails on a batch of "
                              f"{other[0].shape[0]} ({type(err).__name__}: {err}); it only "
                              f"works for the example's batch size: export with "
                              f"dynamic_batch=False") from err
    finally:
        for m, mode in modes_before:
            m.training = mode
    outs = out if isinstance(out, (tuple, list)) else (out,)
    if not outs or not all(isinstance(o, Tensor) for o in outs):
        raise ExportError(f"onnx.export: the model must return a Tensor or a tuple of Tensors, "
                          f"got {type(out).__name__}")
    out_names = _names(output_names, len(outs), "output", "output_names")
    both = [n for n in in_names if n in out_names]
    if both:
        raise ExportError(f"onnx.export: {both} named both an input and an output; every name "
                          f"in an ONNX graph names one value: give input_names and "
                          f"output_names that differ")

    params: dict[int, str] = {}
    if callable(getattr(model, "named_parameters", None)):
        state_items = getattr(model, "_state_items", None)
        items = ([(n, t) for n, t, _ in state_items()] if callable(state_items)
                 else list(model.named_parameters()))
        for name, t in items:
            params.setdefault(id(t._data), name)

    g = Builder(opset, dynamic_batch, reserved=[*in_names, *out_names, *params.values()])
    names: dict[int, str] = {id(t._data): n for t, n in zip(tensors, in_names)}
    batched: set[str] = set(in_names) if dynamic_batch else set()
    stored: dict[int, str] = {}
    if len(trace.records) != len(trace2.records) or any(
            a[0] is not b[0] for a, b in zip(trace.records, trace2.records)):
        raise ExportError("onnx.export: the forward ran other ops on another input: it "
                          "depends on the input's values (Python control flow on data), so no "
                          "single ONNX graph computes it")
    for (cls, arrays, attrs, out_arr), (_, arrays2, attrs2, out_arr2) in zip(trace.records,
                                                                           trace2.records):
        mapping = mapping_for(cls)
        if mapping is None:
            raise ExportError(
                f"onnx.export: no ONNX mapping for the op {cls.__name__} (module "
                f"{cls.__module__}). Register one:\n\n"
                f"    @tg.onnx.register({cls.__name__})\n"
                f"    def _(g, inputs, attrs, arrays, out):\n"
                f"        return g.node(\"<OnnxOp>\", inputs)  # g.const(array) for "
                f"constants\n")
        inputs = []
        for a, a2 in zip(arrays, arrays2):
            key = id(a)
            if key in names:
                inputs.append(names[key])
                continue
            if key in params:  # a parameter or buffer: an initializer under its own name
                if key not in stored:
                    stored[key] = g.const(a, name=params[key])
                inputs.append(stored[key])
                continue
            if not same(a, a2):
                why = ("the batch size" if a.shape[:1] != a2.shape[:1] else
                       "the input's values")
                raise ExportError(f"onnx.export: {cls.__name__} uses a constant that depends "
                                  f"on {why} (shape {a.shape}): it was computed outside the "
                                  f"graph's ops, so the export would be right only for the "
                                  f"example")
            if key not in stored:
                stored[key] = g.const(a)
            inputs.append(stored[key])
        g.batch_dependent = {k: attrs2[k] for k in attrs if not same(attrs[k], attrs2[k])}
        g.in_batched = [n in batched for n in inputs]
        if g.batch_dependent and not getattr(mapping, "follows_batch", False):
            k = next(iter(g.batch_dependent))
            raise ExportError(f"onnx.export: {cls.__name__} has an attribute that depends on "
                              f"the input ({k}={attrs[k]!r}, then {attrs2[k]!r}); a symbolic "
                              f"batch cannot follow it: export with dynamic_batch=False")
        name = mapping(g, inputs, attrs, arrays, out_arr)
        names[id(out_arr)] = name
        if dynamic_batch and out_arr.ndim and out_arr2.ndim and \
                out_arr.shape[0] != out_arr2.shape[0]:
            batched.add(name)

    _refuse_shadowing(in_names, out_names, {params[k] for k in stored if k in params})

    graph_outputs = []
    for o, o2, oname in zip(outs, out2 if isinstance(out2, (tuple, list)) else (out2,),
                            out_names):
        src = names.get(id(o._data))
        if src is None:
            src = g.const(o._data)
        g.nodes.append(helper.make_node("Identity", [src], [oname]))
        dims = list(o.shape)
        if dynamic_batch and dims and o2.shape[:1] != o.shape[:1]:
            dims[0] = "batch"
        graph_outputs.append(helper.make_tensor_value_info(
            oname, helper.np_dtype_to_tensor_dtype(o._data.dtype), dims))
    graph_inputs = []
    for t, n in zip(tensors, in_names):
        dims = list(t.shape)
        if dynamic_batch:
            dims[0] = "batch"
        graph_inputs.append(helper.make_tensor_value_info(
            n, helper.np_dtype_to_tensor_dtype(t._data.dtype), dims))
    graph = helper.make_graph(g.nodes, type(model).__name__, graph_inputs, graph_outputs,
                              initializer=g.initializers)
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="tinygrad_reg")
    # the oldest IR version that carries the opset, so older runtimes read the file too
    proto.ir_version = {17: 8, 18: 8, 19: 9, 20: 9, 21: 10, 22: 10}.get(opset, proto.ir_version)
    size = _estimated_size(proto)
    if size <= _PROTO_LIMIT:
        onnx.checker.check_model(proto, full_check=True)
        if path is not None:
            onnx.save(proto, str(path))
        return proto
    if path is None:
        raise ExportError(f"onnx.export: the model is about {size / 2**30:.2f} GiB, over "
                          f"protobuf's 2 GB limit for one serialized model, so it cannot be "
                          f"checked or kept in one piece: give a path, and the weights are "
                          f"written beside it as ONNX external data (<path>.data)")
    _save_with_external_data(proto, str(path))
    return proto


def _estimated_size(proto: Any) -> int:
    """An upper bound of the serialized size in bytes: the initializers' data and their
    headers (the only parts that can approach 2 GB), plus the rest of the graph."""
    graph = proto.graph
    size = 4096 + sum(v.ByteSize() + 16 for v in (*graph.input, *graph.output))
    size += sum(n.ByteSize() + 16 for n in graph.node)
    size += sum(len(t.raw_data) + len(t.name) + 11 * len(t.dims) + 64
                for t in graph.initializer)
    return size


def _save_with_external_data(proto: Any, path: str) -> None:
    """ONNX's external-data format: every initializer of 1 KiB or more goes to
    ``<path>.data`` beside the model (each at an offset aligned to 4 KiB, so a runtime can map
    it), the graph to ``path`` with each tensor's location, offset and length; then the
    checker reads the pair back from disk. ``proto`` keeps those references."""
    import onnx
    from onnx.external_data_helper import set_external_data

    location = os.path.basename(path) + ".data"
    with open(os.path.join(os.path.dirname(os.path.abspath(path)), location), "wb") as f:
        for t in proto.graph.initializer:
            if not t.HasField("raw_data") or len(t.raw_data) < 1024:
                continue
            f.write(b"\0" * (-f.tell() % 4096))
            offset = f.tell()
            f.write(t.raw_data)
            set_external_data(t, location, offset=offset, length=len(t.raw_data))
            t.data_location = onnx.TensorProto.EXTERNAL
            t.ClearField("raw_data")
    onnx.save(proto, path)
    onnx.checker.check_model(path, full_check=True)


def _refuse_shadowing(in_names: list[str], out_names: list[str], weights: set[str]) -> None:
    """An input named like a parameter replaces its initializer (ONNX lets an input override
    an initializer of the same name, so the checker accepts it); an output so named would
    define one name twice."""
    for names, arg, what, effect in (
            (in_names, "input_names", "input", "a runtime would take the input for the "
             "weights"),
            (out_names, "output_names", "output", "the graph would give one name two values")):
        clash = [n for n in names if n in weights]
        if clash:
            listed = ", ".join(repr(n) for n in clash)
            raise ExportError(
                f"onnx.export: the {what} name {listed} is also the name of a parameter of "
                f"the model (its state_dict key, which names its initializer in the graph): "
                f"{effect}. Pass other names in {arg}=")


def _names(given: Any, n: int, stem: str, arg: str) -> list[str]:
    if given is None:
        return [stem] if n == 1 else [f"{stem}_{i}" for i in range(n)]
    given = [given] if isinstance(given, str) else list(given)
    if len(given) != n or len(set(given)) != n or not all(isinstance(x, str) and x
                                                          for x in given):
        raise ValueError(f"onnx.export: {arg} must be {n} distinct non-empty names, got "
                         f"{given!r}")
    return given


# -- the mappings of the built-in ops -----------------------------------------------------------

def _follows_batch(fn: Callable) -> Callable:
    fn.follows_batch = True
    return fn


def _typed(g: Builder, name: str, arr: np.ndarray, dtype: Any) -> str:
    """``name`` as ``dtype``: a Cast node when the traced array has another dtype."""
    return name if arr.dtype == np.dtype(dtype) else g.cast(name, dtype)


def _simple(op_type: str, **fixed: Any) -> Callable:
    def mapping(g, x, a, arrs, out):
        return g.node(op_type, [_typed(g, n, arr, out.dtype) for n, arr in zip(x, arrs)],
                      **fixed)
    return mapping


def _install() -> None:  # noqa: C901 - one table of mappings
    from .ops import activation as A
    from .ops import conv as C
    from .ops import elementwise as E
    from .ops import linalg as LA
    from .ops import normalization as N
    from .ops import reduce as R
    from .ops import shape as S
    from .regularization import noise as NZ

    for cls, op in [(E.Add, "Add"), (E.Sub, "Sub"), (E.Mul, "Mul"), (E.Div, "Div"),
                    (E.PowTensor, "Pow"), (E.Maximum, "Max"), (E.Minimum, "Min"),
                    (E.Neg, "Neg"), (E.Exp, "Exp"), (E.Log, "Log"), (E.Sqrt, "Sqrt"),
                    (E.Abs, "Abs"), (E.Sin, "Sin"), (E.Cos, "Cos"), (E.Tan, "Tan"),
                    (E.Sign, "Sign"), (E.Floor, "Floor"), (E.Ceil, "Ceil"), (E.Erf, "Erf"),
                    (E.Reciprocal, "Reciprocal"), (A.ReLU, "Relu"), (A.Sigmoid, "Sigmoid"),
                    (A.Tanh, "Tanh"), (A.Softsign, "Softsign"), (S.Clone, "Identity"),
                    (LA.MatMul, "MatMul")]:
        register(cls)(_simple(op))

    def scalar(g, value, like):
        return g.const(np.asarray(value, dtype=like.dtype))

    register(E.Pow)(lambda g, x, a, arrs, out: g.node(
        "Pow", [x[0], scalar(g, a["exponent"], out)]))
    register(E.Square)(lambda g, x, a, arrs, out: g.node("Mul", [x[0], x[0]]))
    register(E.Rsqrt)(lambda g, x, a, arrs, out: g.node("Reciprocal", [g.node("Sqrt", x)]))
    register(E.Log1p)(lambda g, x, a, arrs, out: g.node(
        "Log", [g.node("Add", [x[0], scalar(g, 1.0, out)])]))
    register(E.Expm1)(lambda g, x, a, arrs, out: g.node(
        "Sub", [g.node("Exp", x), scalar(g, 1.0, out)]))
    register(E.Log2)(lambda g, x, a, arrs, out: g.node(
        "Div", [g.node("Log", x), scalar(g, math.log(2.0), out)]))
    register(E.Log10)(lambda g, x, a, arrs, out: g.node(
        "Div", [g.node("Log", x), scalar(g, math.log(10.0), out)]))
    register(E.Trunc)(lambda g, x, a, arrs, out: g.node(
        "Mul", [g.node("Sign", x), g.node("Floor", [g.node("Abs", x)])]))

    @register(E.Round)
    def _round(g, x, a, arrs, out):
        d = a.get("decimals", 0) or 0
        if d == 0:
            return g.node("Round", x)
        k = scalar(g, 10.0 ** d, out)
        return g.node("Div", [g.node("Round", [g.node("Mul", [x[0], k])]), k])

    @register(E.Clip)
    def _clip(g, x, a, arrs, out):
        lo = "" if a.get("lo") is None else scalar(g, a["lo"], out)
        hi = "" if a.get("hi") is None else scalar(g, a["hi"], out)
        return g.node("Clip", [x[0], lo, hi])

    @register(E.ClampTensor)
    def _clamp_tensor(g, x, a, arrs, out):
        y = _typed(g, x[0], arrs[0], out.dtype)
        bounds = [_typed(g, n, arr, out.dtype) for n, arr in zip(x[1:], arrs[1:])]
        if a["given"] != "max":
            y = g.node("Max", [y, bounds[0]])
        return y if a["given"] == "min" else g.node("Min", [y, bounds[-1]])

    @register(E.Where)
    def _where(g, x, a, arrs, out):
        cond = _typed(g, x[0], arrs[0], bool)
        return g.node("Where", [cond, _typed(g, x[1], arrs[1], out.dtype),
                                _typed(g, x[2], arrs[2], out.dtype)])

    register(E.AsType)(lambda g, x, a, arrs, out: g.cast(x[0], out.dtype))

    @register(E.Compare)
    def _compare(g, x, a, arrs, out):
        dt = np.result_type(*arrs)
        args = [_typed(g, n, arr, dt) for n, arr in zip(x, arrs)]
        op = a["op"]
        table = {"lt": "Less", "le": "LessOrEqual", "gt": "Greater", "ge": "GreaterOrEqual",
                 "eq": "Equal"}
        if op == "ne":
            return g.node("Not", [g.node("Equal", args)])
        return g.node(table[op], args)

    @register(E.Logical)
    def _logical(g, x, a, arrs, out):
        args = [_typed(g, n, arr, bool) for n, arr in zip(x, arrs)]
        op = {"and": "And", "or": "Or", "xor": "Xor", "not": "Not"}[a["op"]]
        return _typed(g, g.node(op, args), np.empty(0, bool), out.dtype)

    # activations
    register(A.LeakyReLU)(lambda g, x, a, arrs, out: g.node(
        "LeakyRelu", x, alpha=float(a["negative_slope"])))
    register(A.ELU)(lambda g, x, a, arrs, out: g.node("Elu", x, alpha=float(a["alpha"])))
    register(A.CELU)(lambda g, x, a, arrs, out: g.node("Celu", x, alpha=float(a["alpha"])))
    register(A.SELU)(lambda g, x, a, arrs, out: g.node(
        "Selu", x, alpha=1.6732632423543772, gamma=1.0507009873554805))
    register(A.Hardsigmoid)(lambda g, x, a, arrs, out: g.node(
        "HardSigmoid", x, alpha=1.0 / 6.0, beta=0.5))
    register(A.Hardswish)(lambda g, x, a, arrs, out: g.node("HardSwish", x))
    register(A.SiLU)(lambda g, x, a, arrs, out: g.node("Mul", [x[0], g.node("Sigmoid", x)]))
    register(A.LogSigmoid)(lambda g, x, a, arrs, out: g.node(
        "Neg", [g.node("Softplus", [g.node("Neg", x)])]))
    register(A.Softmax)(lambda g, x, a, arrs, out: g.node("Softmax", x, axis=int(a["axis"])))
    register(A.LogSoftmax)(lambda g, x, a, arrs, out: g.node(
        "LogSoftmax", x, axis=int(a["axis"])))

    @register(A.Mish)
    def _mish(g, x, a, arrs, out):
        return g.node("Mul", [x[0], g.node("Tanh", [g.node("Softplus", x)])])

    @register(A.Softplus)
    def _softplus(g, x, a, arrs, out):
        beta, threshold = float(a["beta"]), float(a["threshold"])
        bx = x[0] if beta == 1.0 else g.node("Mul", [x[0], scalar(g, beta, out)])
        soft = g.node("Softplus", [bx])
        if beta != 1.0:
            soft = g.node("Div", [soft, scalar(g, beta, out)])
        return g.node("Where", [g.node("Greater", [bx, scalar(g, threshold, out)]), x[0], soft])

    @register(A.GELU)
    def _gelu(g, x, a, arrs, out):
        half = g.node("Mul", [x[0], scalar(g, 0.5, out)])
        if a.get("approximate", "none") == "tanh":
            cube = g.node("Mul", [g.node("Mul", [x[0], x[0]]), x[0]])
            inner = g.node("Mul", [g.node("Add", [x[0], g.node(
                "Mul", [cube, scalar(g, 0.044715, out)])]), scalar(g, math.sqrt(2 / math.pi),
                                                                    out)])
            t = g.node("Tanh", [inner])
        else:
            t = g.node("Erf", [g.node("Div", [x[0], scalar(g, math.sqrt(2.0), out)])])
        return g.node("Mul", [half, g.node("Add", [t, scalar(g, 1.0, out)])])

    # reductions
    def _reducer(op):
        def mapping(g, x, a, arrs, out):
            return g.reduce(op, x[0], a["axis"], a["keepdims"], arrs[0].ndim)
        return mapping

    for cls, op in [(R.Sum, "ReduceSum"), (R.Mean, "ReduceMean"), (R.Max, "ReduceMax"),
                    (R.Min, "ReduceMin"), (R.Prod, "ReduceProd"),
                    (R.LogSumExp, "ReduceLogSumExp")]:
        register(cls)(_reducer(op))

    @register(R.Var)
    def _var(g, x, a, arrs, out):
        nd, axes = arrs[0].ndim, a["axis"]
        axes_t = tuple(range(nd)) if axes is None else (
            (axes,) if isinstance(axes, (int, np.integer)) else tuple(axes))
        if g.dynamic_batch and g.in_batched[0] and any(int(ax) % nd == 0 for ax in axes_t):
            raise ExportError("onnx.export: Var over the batch dim needs the batch size as "
                              "a constant: export with dynamic_batch=False")
        n = math.prod(arrs[0].shape[int(ax) % nd] for ax in axes_t)
        mean = g.reduce("ReduceMean", x[0], axes_t, True, nd)
        d = g.node("Sub", [x[0], mean])
        ms = g.reduce("ReduceMean", g.node("Mul", [d, d]), axes_t, a["keepdims"], nd)
        c = a.get("correction", 0) or 0
        if not c:
            return ms
        return g.node("Mul", [ms, scalar(g, n / max(n - c, 0) if n > c else np.inf, out)])

    @register(R.Norm)
    def _norm(g, x, a, arrs, out):
        p, nd = a["p"], arrs[0].ndim
        if p == 2:
            return g.reduce("ReduceL2", x[0], a["axis"], a["keepdims"], nd)
        if p == 1:
            return g.reduce("ReduceL1", x[0], a["axis"], a["keepdims"], nd)
        if p == np.inf:
            return g.reduce("ReduceMax", g.node("Abs", x), a["axis"], a["keepdims"], nd)
        powered = g.node("Pow", [g.node("Abs", x), scalar(g, p, out)])
        total = g.reduce("ReduceSum", powered, a["axis"], a["keepdims"], nd)
        return g.node("Pow", [total, scalar(g, 1.0 / p, out)])

    @register(R.ArgExtreme)
    def _arg(g, x, a, arrs, out):
        op = "ArgMax" if a["largest"] else "ArgMin"
        if a["axis"] is None:
            flat = g.node("Reshape", [x[0], g.ints([-1])])
            res = g.node(op, [flat], axis=0, keepdims=0)
            if a["keepdims"]:
                res = g.node("Reshape", [res, g.ints([1] * arrs[0].ndim)])
            return res
        return g.node(op, x, axis=int(a["axis"]), keepdims=int(a["keepdims"]))

    @register(R.Truth)
    def _truth(g, x, a, arrs, out):
        as_int = g.cast(g.cast(x[0], bool), np.int32)
        red = g.reduce("ReduceMin" if a["every"] else "ReduceMax", as_int, a["axis"],
                       a["keepdims"], arrs[0].ndim)
        return g.cast(red, bool)

    register(R.CumSum)(lambda g, x, a, arrs, out: g.node(
        "CumSum", [x[0], g.const(np.asarray(int(a["axis"]), np.int64))]))

    # shapes
    @register(S.Reshape)
    @_follows_batch
    def _reshape(g, x, a, arrs, out):
        shape = list(a["shape"])
        if "shape" in g.batch_dependent:
            other = list(g.batch_dependent["shape"])
            differ = [i for i, (p, q) in enumerate(zip(shape, other)) if p != q]
            if differ != [0] or not g.in_batched[0] or arrs[0].shape[0] != out.shape[0]:
                raise ExportError(f"onnx.export: Reshape to {tuple(shape)} mixes the batch dim "
                                  f"with others; a symbolic batch cannot follow it: export "
                                  f"with dynamic_batch=False")
            shape[0] = 0  # ONNX: copy the input's dim 0
        return g.node("Reshape", [x[0], g.ints(shape)])

    @register(S.BroadcastTo)
    @_follows_batch
    def _broadcast(g, x, a, arrs, out):
        shape = list(a["shape"])
        if "shape" in g.batch_dependent:
            lead = len(shape) - arrs[0].ndim
            if lead != 0 or not g.in_batched[0]:
                raise ExportError("onnx.export: BroadcastTo a batch-sized shape from an input "
                                  "without the batch: export with dynamic_batch=False")
            shape[0] = 1  # Expand keeps the input's dim where the target says 1
        return g.node("Expand", [x[0], g.ints(shape)])

    register(S.Transpose)(lambda g, x, a, arrs, out: g.node(
        "Transpose", x, perm=[int(p) for p in a["axes"]]))
    register(S.Concatenate)(lambda g, x, a, arrs, out: g.node(
        "Concat", [_typed(g, n, arr, out.dtype) for n, arr in zip(x, arrs)],
        axis=int(a["axis"])))

    @register(S.Stack)
    def _stack(g, x, a, arrs, out):
        axis = int(a["axis"]) % out.ndim
        parts = [g.node("Unsqueeze", [_typed(g, n, arr, out.dtype), g.ints([axis])])
                 for n, arr in zip(x, arrs)]
        return g.node("Concat", parts, axis=axis)

    @register(S.Flip)
    def _flip(g, x, a, arrs, out):
        axes = a["axes"]
        axes = tuple(range(arrs[0].ndim)) if axes is None else (
            (axes,) if isinstance(axes, (int, np.integer)) else tuple(axes))
        n = len(axes)
        return g.node("Slice", [x[0], g.ints([-1] * n), g.ints([-_INT64_MAX] * n),
                                g.ints(axes), g.ints([-1] * n)])

    @register(S.Roll)
    def _roll(g, x, a, arrs, out):
        shifts, axes = a["shifts"], a["axes"]
        src = x[0]
        if axes is None:
            src = g.node("Reshape", [src, g.ints([-1])])
            shifts, axes, shape = (shifts,), (0,), arrs[0].shape
        else:
            shape = None
            shifts = (shifts,) if isinstance(shifts, (int, np.integer)) else tuple(shifts)
            axes = (axes,) if isinstance(axes, (int, np.integer)) else tuple(axes)
        sizes = (arrs[0].size,) if shape is not None else tuple(arrs[0].shape[ax] for ax in axes)
        for s_, ax, n in zip(shifts, axes, sizes):
            k = int(s_) % n if n else 0
            if k:
                tail = g.node("Slice", [src, g.ints([n - k]), g.ints([n]), g.ints([ax])])
                head = g.node("Slice", [src, g.ints([0]), g.ints([n - k]), g.ints([ax])])
                src = g.node("Concat", [tail, head], axis=int(ax))
        if shape is not None:
            src = g.node("Reshape", [src, g.ints(shape)])
        return src

    register(S.Tri)(lambda g, x, a, arrs, out: g.node(
        "Trilu", [x[0], g.const(np.asarray(int(a["diagonal"]), np.int64))],
        upper=int(bool(a["upper"]))))
    register(S.Gather)(lambda g, x, a, arrs, out: g.node(
        "GatherElements", [x[0], _typed(g, x[1], arrs[1], np.int64)], axis=int(a["axis"])))
    register(S.IndexSelect)(lambda g, x, a, arrs, out: g.node(
        "Gather", [x[0], _typed(g, x[1], arrs[1], np.int64)], axis=int(a["axis"])))
    register(S.Embedding)(lambda g, x, a, arrs, out: g.node(
        "Gather", [x[0], _typed(g, x[1], arrs[1], np.int64)], axis=0))

    @register(S.Repeat)
    def _repeat(g, x, a, arrs, out):
        reps = [int(r) for r in a["reps"]]
        src = x[0]
        if len(reps) > arrs[0].ndim:
            src = g.node("Reshape", [src, g.ints([1] * (len(reps) - arrs[0].ndim)
                                                 + list(arrs[0].shape))])
        return g.node("Tile", [src, g.ints(reps)])

    @register(S.Pad)
    def _pad(g, x, a, arrs, out):
        widths = a["widths"]
        pads = [int(lo) for lo, _ in widths] + [int(hi) for _, hi in widths]
        mode = {"constant": "constant", "reflect": "reflect", "replicate": "edge",
                "circular": "wrap"}[a["mode"]]
        if mode == "wrap" and g.opset < 19:
            raise ExportError("onnx.export: circular padding needs opset 19 (Pad mode 'wrap')")
        value = scalar(g, a.get("value", 0.0) or 0.0, out)
        return g.node("Pad", [x[0], g.ints(pads), value], mode=mode)

    register(S.GetItem)(_getitem)

    # linear algebra, convolution, pooling, normalization
    @register(LA.Linear)
    def _linear(g, x, a, arrs, out):
        if arrs[0].ndim == 2:
            return g.node("Gemm", x, transB=1)
        y = g.node("MatMul", [x[0], g.node("Transpose", [x[1]], perm=[1, 0])])
        return g.node("Add", [y, x[2]]) if len(x) > 2 else y

    def _pads(padding):
        return [int(lo) for lo, _ in padding] + [int(hi) for _, hi in padding]

    @register(C.Conv)
    def _conv(g, x, a, arrs, out):
        w = arrs[1]
        return g.node("Conv", x, kernel_shape=list(w.shape[2:]), strides=list(a["stride"]),
                      pads=_pads(a["padding"]), dilations=list(a["dilation"]),
                      group=int(a["groups"]))

    @register(C.MaxPool)
    def _maxpool(g, x, a, arrs, out):
        return g.node("MaxPool", x, kernel_shape=list(a["kernel"]), strides=list(a["stride"]),
                      pads=_pads(a["padding"]), dilations=list(a["dilation"]))

    @register(C.AvgPool)
    def _avgpool(g, x, a, arrs, out):
        kernel = tuple(a["kernel"])
        # the sum over each window (an average counting the zero padding, times its size),
        # then the op's own divisor per window (1/count, the same for every kernel offset)
        mean = g.node("AveragePool", [x[0]], kernel_shape=list(kernel),
                      strides=list(a["stride"]), pads=_pads(a["padding"]),
                      count_include_pad=1)
        s = np.asarray(arrs[1])[(0,) * len(kernel)] * math.prod(kernel)
        return g.node("Mul", [mean, g.const(s.astype(out.dtype))])

    @register(N.Normalize)
    def _normalize(g, x, a, arrs, out):
        axes, nd = tuple(a["axes"]), arrs[0].ndim
        mean = g.reduce("ReduceMean", x[0], axes, True, nd)
        d = g.node("Sub", [x[0], mean])
        var = g.reduce("ReduceMean", g.node("Mul", [d, d]), axes, True, nd)
        std = g.node("Sqrt", [g.node("Add", [var, scalar(g, a["eps"], out)])])
        return g.node("Div", [d, std])

    # noise: the identity (eval-mode behaviour, whatever was traced)
    for cls in (NZ.Dropout, NZ.GaussianDropout, NZ.AlphaDropout, NZ.GaussianNoise):
        register(cls)(lambda g, x, a, arrs, out: g.node("Identity", [x[0]]))


def _getitem(g: Builder, x: list[str], a: dict, arrs: list, out: np.ndarray) -> str:
    """Basic indexing (ints, slices, None, Ellipsis) as Slice, Squeeze and Unsqueeze, and one
    integer array on one axis as Gather; a boolean mask has a data-dependent shape."""
    index = a["index"]
    index = index if isinstance(index, tuple) else (index,)
    shape = arrs[0].shape
    nd = len(shape)
    if any(isinstance(i, np.ndarray) and i.dtype == bool for i in index):
        raise ExportError("onnx.export: indexing with a boolean mask gives a shape that "
                          "depends on the data; use tg.where instead")
    used = sum(1 for i in index if i is not None and i is not Ellipsis)
    expanded: list = []
    for i in index:
        expanded += [slice(None)] * (nd - used) if i is Ellipsis else [i]
    expanded += [slice(None)] * (nd - sum(1 for i in expanded if i is not None))
    arrays = [i for i in expanded if isinstance(i, (np.ndarray, list))]
    if len(arrays) > 1 or (arrays and any(i is None for i in expanded)):
        raise ExportError("onnx.export: indexing with several integer arrays, or with an "
                          "array and None, has no ONNX mapping here; index in steps")
    starts, ends, axes_, steps, squeeze, new_axes = [], [], [], [], [], []
    gather = None
    in_ax = out_ax = 0
    for i in expanded:
        if i is None:
            new_axes.append(out_ax)
            out_ax += 1
            continue
        batch = g.dynamic_batch and in_ax == 0 and g.in_batched[0]
        if isinstance(i, slice):
            st, en, sp = i.indices(shape[in_ax])
            if (st, en, sp) != (0, shape[in_ax], 1):
                if batch:
                    raise ExportError("onnx.export: slicing the batch dim; a symbolic batch "
                                      "cannot follow it: export with dynamic_batch=False")
                starts.append(st)
                ends.append(-_INT64_MAX if sp < 0 and en < 0 else en)
                axes_.append(in_ax)
                steps.append(sp)
            out_ax += 1
        elif isinstance(i, (int, np.integer)):
            if batch:
                raise ExportError("onnx.export: an integer index on the batch dim; export "
                                  "with dynamic_batch=False")
            k = int(i) % shape[in_ax]
            starts.append(k)
            ends.append(k + 1)
            axes_.append(in_ax)
            steps.append(1)
            squeeze.append(in_ax)
        else:
            idx = np.asarray(i, dtype=np.int64)
            gather = (in_ax, idx)
            out_ax += idx.ndim
        in_ax += 1
    src = x[0]
    if starts:
        src = g.node("Slice", [src, g.ints(starts), g.ints(ends), g.ints(axes_),
                               g.ints(steps)])
    if gather is not None:
        ax, idx = gather
        src = g.node("Gather", [src, g.const(idx)], axis=ax)
        squeeze = [s + idx.ndim - 1 if s > ax else s for s in squeeze]
    if squeeze:
        src = g.node("Squeeze", [src, g.ints(squeeze)])
    if new_axes:
        src = g.node("Unsqueeze", [src, g.ints(new_axes)])
    return src


_install()

__all__ = ["export", "register", "mapping_for", "Builder", "ExportError"]
