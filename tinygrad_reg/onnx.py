"""Export a model's eval-mode forward pass to ONNX.

``tg.onnx.export(model, example_input, "model.onnx")`` runs the forward once with a tracer that
sees every op, maps each op to ONNX nodes (one mapping per op class, found along the class's
MRO, so ``Conv2d`` uses ``Conv``'s), stores the parameters and buffers as initializers named
by their ``state_dict`` keys, checks the model with ``onnx.checker`` and saves it. A second
trace, with other input values (and, with ``dynamic_batch``, one more example), proves that
the graph does not depend on the example: an op that consumed a constant computed from the
input's values, a shape that cannot follow the batch size, or Python control flow that took
another path is an error naming the op, not a model that is right only for the example.

An op carries its mapping itself, as its ``to_onnx`` facet (the built-in ops do; the helpers
they are written with are in :mod:`tinygrad_reg.ops.onnx_rules`)::

    class MyOp(tg.Function):
        ...
        @staticmethod
        def to_onnx(g, inputs, attrs, arrays, out):
            return g.node("Mul", [inputs[0], g.const(np.asarray(2.0, out.dtype))])

where ``g`` is the :class:`Builder`, ``inputs`` the ONNX names of the op's inputs,
``attrs`` its keyword attributes, ``arrays`` the traced input arrays and ``out`` the traced
output (for shapes and dtypes). An op class you cannot edit gets one with :func:`register`
(``@tg.onnx.register(MyOp)`` on the same function), which takes precedence over the
class's own. Needs the ``onnx`` extra (``pip install "tinygrad_reg[onnx]"``: onnx, and
onnxruntime to run the result).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from ._tensor import Tensor
from .autograd import no_grad
from .ops.onnx_rules import ExportError, axes_tuple
from .trace import first_divergence, same, traced

_REGISTRY: dict[type, Callable] = {}
_PROTO_LIMIT = 2**31 - 1  # protobuf serializes no message of 2 GB or more


def register(fn_class: type) -> Callable[[Callable], Callable]:
    """Decorator: ``mapping(g, inputs, attrs, arrays, out) -> output name`` for the op class
    ``fn_class`` (and its subclasses without a mapping of their own)."""
    def deco(mapping: Callable) -> Callable:
        _REGISTRY[fn_class] = mapping
        return mapping
    return deco


def mapping_for(cls: type) -> Callable | None:
    """The mapping of op class ``cls``, or None: along its MRO, at each class the mapping
    registered for it, else the ``to_onnx`` that class defines itself (a class that sets
    ``to_onnx = None`` has none, whatever its bases have)."""
    for base in cls.__mro__:
        if base in _REGISTRY:
            return _REGISTRY[base]
        if "to_onnx" in base.__dict__:
            return base.to_onnx
    return None


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
        axes = [int(a) % max(ndim, 1) for a in axes_tuple(axes, ndim)]
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
    (``(x, x)``) exports two inputs. The model returns a Tensor or a tuple of them (nested
    tuples are flattened: an LSTM's ``(output, (h_n, c_n))`` gives three outputs). ``input_names`` /
    ``output_names`` name the graph's inputs and outputs (default ``input`` or ``input_0``,
    ``input_1``..., and ``output`` or ``output_0``...); parameters and buffers are initializers
    named by their ``state_dict`` keys. With ``dynamic_batch`` (the default) dim 0 of every
    input and of the outputs that follow it is symbolic ("batch"). A model in training mode is
    switched to eval mode for the trace (with a warning: dropout and noise layers export as the
    identity, batch norm with its running statistics) and switched back afterwards. ``opset``:
    17 (the default) or later.

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
        import onnx  # noqa: F401 - (the extra is needed from here on)
    except ImportError as err:  # pragma: no cover - the extra is installed in the suite
        raise ImportError('tg.onnx.export needs the onnx package: pip install '
                          '"tinygrad_reg[onnx]"') from err
    if not isinstance(opset, int) or opset < 17:
        raise ValueError(f"onnx.export: opset must be an int >= 17, got {opset!r}")
    tensors = _example_tensors(example_input, dynamic_batch)
    in_names = _names(input_names, len(tensors), "input", "input_names")
    trace, out, trace2, out2 = _trace_eval_mode(model, tensors, dynamic_batch)
    outs, out2 = _flat(out), _flat(out2)
    if not outs or not all(isinstance(o, Tensor) for o in outs):
        raise ExportError(f"onnx.export: the model must return a Tensor or a tuple of Tensors, "
                          f"got {type(out).__name__}")
    out_names = _names(output_names, len(outs), "output", "output_names")
    both = [n for n in in_names if n in out_names]
    if both:
        raise ExportError(f"onnx.export: {both} named both an input and an output; every name "
                          f"in an ONNX graph names one value: give input_names and "
                          f"output_names that differ")
    params = _parameter_names(model)
    g = Builder(opset, dynamic_batch, reserved=[*in_names, *out_names, *params.values()])
    names: dict[int, str] = {id(t._data): n for t, n in zip(tensors, in_names)}
    stored = _map_ops(g, trace, trace2, names, params, set(in_names) if dynamic_batch else set())
    _refuse_shadowing(in_names, out_names, {params[k] for k in stored if k in params})
    proto = _model_proto(g, type(model).__name__, list(zip(tensors, in_names)),
                         list(zip(outs, out2, out_names)), names)
    return _check_and_save(proto, path)


def _flat(out: Any) -> tuple:
    """The model's outputs in order, nested tuples and lists flattened (an LSTM's
    ``(output, (h_n, c_n))`` gives three graph outputs)."""
    if not isinstance(out, (tuple, list)):
        return (out,)
    return tuple(o for item in out for o in _flat(item))


def _example_tensors(example_input: Any, dynamic_batch: bool) -> tuple[Tensor, ...]:
    """One fresh Tensor per example input: the trace tells values apart by their arrays, so
    the same tensor given twice (a siamese pair traced on (x, x)), or a parameter given as
    an input, must still become distinct graph inputs."""
    examples = example_input if isinstance(example_input, (tuple, list)) else (example_input,)
    tensors = tuple(Tensor(np.array(t._data if isinstance(t, Tensor) else t, copy=True))
                    for t in examples)
    if not tensors:
        raise ValueError("onnx.export: give at least one example input")
    if dynamic_batch and any(t.ndim == 0 for t in tensors):
        raise ExportError("onnx.export: dynamic_batch needs inputs with a batch dim (dim 0); "
                          "a scalar input has none (pass dynamic_batch=False)")
    return tensors


def _trace_eval_mode(model: Any, tensors: tuple, dynamic_batch: bool) -> tuple:
    """(trace, output, second trace, its output): the model traced in eval mode on the
    example and on another input (other values, and one more example with
    ``dynamic_batch``); a model in training mode is switched back afterwards."""
    modules = list(model.modules()) if callable(getattr(model, "modules", None)) else []
    modes_before = [(m, m.training) for m in modules]
    if any(m.training for m in modules):
        warnings.warn("onnx.export: the model is in training mode; its eval-mode behaviour is "
                      "exported (dropout and noise as the identity, batch norm with its "
                      "running statistics) and its mode is restored afterwards", UserWarning,
                      stacklevel=3)
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
    return trace, out, trace2, out2


def _parameter_names(model: Any) -> dict[int, str]:
    """id(array) -> state_dict key of every parameter and buffer of ``model``."""
    params: dict[int, str] = {}
    if callable(getattr(model, "named_parameters", None)):
        state_items = getattr(model, "_state_items", None)
        items = ([(n, t) for n, t, _ in state_items()] if callable(state_items)
                 else list(model.named_parameters()))
        for name, t in items:
            params.setdefault(id(t._data), name)
    return params


def _map_ops(g: Builder, trace: _Trace, trace2: _Trace, names: dict[int, str],
             params: dict[int, str], batched: set[str]) -> dict[int, str]:
    """Map every traced op to ONNX nodes in ``g``; ``names`` (id(array) -> ONNX name) grows
    by each op's output, ``batched`` by the names whose dim 0 is the batch. Returns the
    initializers stored (id(array) -> name)."""
    where = first_divergence(trace.records, trace2.records, lambda a, b: a[0] is not b[0])
    if where is not None:
        ran = (f" (op {where}: {trace.records[where][0].__name__}, then "
               f"{trace2.records[where][0].__name__})"
               if where < min(len(trace.records), len(trace2.records)) else "")
        hint = (" If dim 0 of an input is not its batch (dim 0 is time for a recurrent layer "
                "with batch_first=False), export with dynamic_batch=False, or use "
                "batch_first=True" if g.dynamic_batch and len(trace.records) != len(
                    trace2.records) else "")
        raise ExportError(f"onnx.export: the forward ran other ops on another input{ran}: it "
                          f"depends on the input's values (Python control flow on data) or on "
                          f"the batch size, so no single ONNX graph computes it.{hint}")
    stored: dict[int, str] = {}
    for (cls, arrays, attrs, out_arr), (_, arrays2, attrs2, out_arr2) in zip(trace.records,
                                                                           trace2.records):
        mapping = mapping_for(cls)
        if mapping is None:
            raise ExportError(
                f"onnx.export: no ONNX mapping for the op {cls.__name__} (module "
                f"{cls.__module__}). Give its class a to_onnx static method with the "
                f"signature below, or register one:\n\n"
                f"    @tg.onnx.register({cls.__name__})\n"
                f"    def _(g, inputs, attrs, arrays, out):\n"
                f"        return g.node(\"<OnnxOp>\", inputs)  # g.const(array) for "
                f"constants\n")
        inputs = [_input_name(g, cls, a, a2, names, params, stored)
                  for a, a2 in zip(arrays, arrays2)]
        g.batch_dependent = {k: attrs2[k] for k in attrs if not same(attrs[k], attrs2[k])}
        g.in_batched = [n in batched for n in inputs]
        if g.batch_dependent and not getattr(mapping, "follows_batch", False):
            k = next(iter(g.batch_dependent))
            fix = ("a symbolic batch cannot follow it: export with dynamic_batch=False"
                   if g.dynamic_batch else
                   "the graph would hold it as a constant: compute it with ops that take the "
                   "index as a tensor (index_select, gather, where, masked_fill)")
            raise ExportError(f"onnx.export: {cls.__name__} has an attribute that depends on "
                              f"the input ({k}={attrs[k]!r}, then {attrs2[k]!r}); {fix}")
        name = mapping(g, inputs, attrs, arrays, out_arr)
        names[id(out_arr)] = name
        if g.dynamic_batch and out_arr.ndim and out_arr2.ndim and \
                out_arr.shape[0] != out_arr2.shape[0]:
            batched.add(name)
    return stored


def _input_name(g: Builder, cls: type, a: np.ndarray, a2: np.ndarray, names: dict[int, str],
                params: dict[int, str], stored: dict[int, str]) -> str:
    """The ONNX name of one input array of an op (``a2``: the same input in the second
    trace): a graph input or an earlier op's output, a parameter's initializer, or a
    constant that must be the same in both traces."""
    key = id(a)
    if key in names:
        return names[key]
    if key in params:  # a parameter or buffer: an initializer under its own name
        if key not in stored:
            stored[key] = g.const(a, name=params[key])
        return stored[key]
    if not same(a, a2):
        if getattr(cls, "kind", None) == "regularization":
            raise ExportError(f"onnx.export: {cls.__name__} drew a random mask or noise while "
                              f"the model was exported in eval mode (called with training=True, "
                              f"as F.dropout(x, p, training=True)?): no ONNX graph computes a "
                              f"new draw per call. Pass training=self.training, so that the "
                              f"export gets the eval-mode identity")
        why = "the batch size" if a.shape[:1] != a2.shape[:1] else "the input's values"
        raise ExportError(f"onnx.export: {cls.__name__} uses a constant that depends on {why} "
                          f"(shape {a.shape}): it was computed outside the graph's ops, so the "
                          f"export would be right only for the example")
    if key not in stored:
        stored[key] = g.const(a)
    return stored[key]


def _model_proto(g: Builder, graph_name: str, inputs: list[tuple], outputs: list[tuple],
                 names: dict[int, str]) -> Any:
    """The ModelProto: ``inputs`` (tensor, name), ``outputs`` (tensor, the same output in the
    second trace, name); each output an Identity of the node that made it."""
    from onnx import helper

    graph_outputs = []
    for o, o2, oname in outputs:
        src = names.get(id(o._data))
        if src is None:
            src = g.const(o._data)
        g.nodes.append(helper.make_node("Identity", [src], [oname]))
        dims = list(o.shape)
        if g.dynamic_batch and dims and o2.shape[:1] != o.shape[:1]:
            dims[0] = "batch"
        graph_outputs.append(helper.make_tensor_value_info(
            oname, helper.np_dtype_to_tensor_dtype(o._data.dtype), dims))
    graph_inputs = []
    for t, n in inputs:
        dims = list(t.shape)
        if g.dynamic_batch:
            dims[0] = "batch"
        graph_inputs.append(helper.make_tensor_value_info(
            n, helper.np_dtype_to_tensor_dtype(t._data.dtype), dims))
    graph = helper.make_graph(g.nodes, graph_name, graph_inputs, graph_outputs,
                              initializer=g.initializers)
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", g.opset)],
                              producer_name="tinygrad_reg")
    # the oldest IR version that carries the opset, so older runtimes read the file too
    proto.ir_version = {17: 8, 18: 8, 19: 9, 20: 9, 21: 10, 22: 10}.get(g.opset,
                                                                      proto.ir_version)
    return proto


def _check_and_save(proto: Any, path: Any) -> Any:
    """Check ``proto`` with onnx.checker and save it to ``path`` (if given); over protobuf's
    2 GB limit, with the weights as external data beside it."""
    import onnx

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


__all__ = ["export", "register", "mapping_for", "Builder", "ExportError"]
