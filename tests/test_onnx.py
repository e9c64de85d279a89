"""ONNX export: every mapped op, and the example networks, run in onnxruntime at several batch
sizes equal our outputs; bad input and unexportable ops are clear errors."""

from __future__ import annotations

import importlib.util
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import tinygrad_reg as tg
from tinygrad_reg import nn
from tinygrad_reg.nn import functional as F

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


class Fn(nn.Module):
    """A module around a function of its input, with a parameter tensor ``p`` (3, 4)."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn
        gen = np.random.default_rng(11)
        self.p = nn.Parameter(gen.standard_normal((3, 4)).astype(np.float32))
        self.w = nn.Parameter(gen.standard_normal((4, 5)).astype(np.float32))

    def forward(self, *xs):
        return self.fn(self, *xs)


def run_onnx(proto, feeds):
    sess = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


def check(model, make_input, batches=(2, 5), atol=1e-5, **kw):
    """Export with the first batch size; compare onnxruntime with eager at every size."""
    model.eval()
    x0 = make_input(batches[0])
    proto = tg.onnx.export(model, x0, **kw)
    names = [i.name for i in proto.graph.input]
    for b in batches:
        x = make_input(b)
        xs = x if isinstance(x, tuple) else (x,)
        want = model(*[tg.tensor(a) for a in xs])
        want = want if isinstance(want, tuple) else (want,)
        got = run_onnx(proto, {n: a for n, a in zip(names, xs)})
        assert len(got) == len(want)
        for g_, w_ in zip(got, want):
            w_ = w_.numpy()
            assert g_.shape == w_.shape and g_.dtype == w_.dtype, (g_.shape, w_.shape)
            if w_.dtype.kind == "f":
                np.testing.assert_allclose(g_, w_, rtol=1e-5, atol=atol)
            else:
                np.testing.assert_array_equal(g_, w_)
    return proto


def floats(*shape, low=-2.0, high=2.0):
    def make(b):
        gen = np.random.default_rng(b)
        return gen.uniform(low, high, (b,) + shape).astype(np.float32)
    return make


def ints(high, *shape):
    return lambda b: np.random.default_rng(b).integers(0, high, (b,) + shape).astype(np.int64)


X34 = floats(3, 4)
POS = floats(3, 4, low=0.1, high=2.0)
IMG = floats(2, 6, 6)
SEQ = floats(2, 9)

OPS = {
    # elementwise
    "add": (lambda m, x: x + 1.5, X34), "sub_param": (lambda m, x: x - m.p, X34),
    "mul": (lambda m, x: x * m.p, X34), "div": (lambda m, x: x / 3.0, X34),
    "rdiv": (lambda m, x: 1.0 / (x.abs() + 1.0), X34), "neg": (lambda m, x: -x, X34),
    "pow": (lambda m, x: x ** 2, X34), "pow_tensor": (lambda m, x: x ** m.p.abs(), POS),
    "exp": (lambda m, x: x.exp(), X34), "log": (lambda m, x: x.log(), POS),
    "sqrt": (lambda m, x: x.sqrt(), POS), "abs": (lambda m, x: x.abs(), X34),
    "maximum": (lambda m, x: tg.maximum(x, m.p), X34),
    "minimum": (lambda m, x: tg.minimum(x, 0.3), X34),
    "where": (lambda m, x: tg.where(x > 0, x, 0.1 * x), X34),
    "clamp": (lambda m, x: x.clamp(-0.5, 0.5), X34), "clamp_min": (lambda m, x: x.clamp(min=0.2),
                                                                   X34),
    "clamp_tensor": (lambda m, x: x.clamp(m.p, m.p + 1.0), X34),
    "clamp_tensor_max": (lambda m, x: x.clamp(max=m.p), X34),
    "astype": (lambda m, x: x.double() * 2, X34), "sin": (lambda m, x: x.sin(), X34),
    "cos": (lambda m, x: x.cos(), X34), "tan": (lambda m, x: (x * 0.5).tan(), X34),
    "sign": (lambda m, x: x.sign(), X34), "floor": (lambda m, x: x.floor(), X34),
    "ceil": (lambda m, x: x.ceil(), X34), "round": (lambda m, x: (x * 3).round(), X34),
    "round_decimals": (lambda m, x: x.round(decimals=1), X34),
    "trunc": (lambda m, x: (x * 3).trunc(), X34), "log1p": (lambda m, x: x.log1p(), POS),
    "expm1": (lambda m, x: x.expm1(), X34), "log2": (lambda m, x: x.log2(), POS),
    "log10": (lambda m, x: x.log10(), POS), "reciprocal": (lambda m, x: x.reciprocal(), POS),
    "rsqrt": (lambda m, x: x.rsqrt(), POS), "square": (lambda m, x: x.square(), X34),
    "erf": (lambda m, x: x.erf(), X34),
    "compare": (lambda m, x: (x > 0).float() + (x <= m.p).float() + (x != x).float(), X34),
    "logical": (lambda m, x: ((x > 0) & (x < 1) | ~(x > -1)).float(), X34),
    "masked_fill": (lambda m, x: x.masked_fill(x < 0, 0.0), X34),
    # activations
    "relu": (lambda m, x: x.relu(), X34), "sigmoid": (lambda m, x: x.sigmoid(), X34),
    "tanh": (lambda m, x: x.tanh(), X34), "leaky_relu": (lambda m, x: F.leaky_relu(x, 0.2), X34),
    "elu": (lambda m, x: F.elu(x, 0.7), X34), "celu": (lambda m, x: F.celu(x, 1.3), X34),
    "selu": (lambda m, x: F.selu(x), X34), "gelu": (lambda m, x: F.gelu(x), X34),
    "gelu_tanh": (lambda m, x: F.gelu(x, approximate="tanh"), X34),
    "silu": (lambda m, x: F.silu(x), X34), "mish": (lambda m, x: F.mish(x), X34),
    "softplus": (lambda m, x: F.softplus(x, beta=2.0, threshold=1.0), X34),
    "softsign": (lambda m, x: F.softsign(x), X34),
    "hardsigmoid": (lambda m, x: F.hardsigmoid(x * 4), X34),
    "hardswish": (lambda m, x: F.hardswish(x * 4), X34),
    "logsigmoid": (lambda m, x: F.logsigmoid(x), X34),
    "softmax": (lambda m, x: F.softmax(x, dim=1), X34),
    "log_softmax": (lambda m, x: F.log_softmax(x, dim=-1), X34),
    # reductions
    "sum": (lambda m, x: x.sum(dim=1), X34), "sum_keep": (lambda m, x: x.sum(-1, keepdim=True),
                                                          X34),
    "mean": (lambda m, x: x.mean(dim=(1, 2)), X34), "amax": (lambda m, x: x.amax(dim=2), X34),
    "max_dim": (lambda m, x: x.max(dim=1), X34), "min": (lambda m, x: x.min(dim=-1).values, X34),
    "prod": (lambda m, x: x.prod(dim=2), X34), "var": (lambda m, x: x.var(dim=2), X34),
    "std": (lambda m, x: x.std(dim=1, keepdim=True), X34),
    "logsumexp": (lambda m, x: x.logsumexp(dim=2), X34),
    "norm": (lambda m, x: x.norm(dim=2), X34), "norm1": (lambda m, x: x.norm(p=1, dim=1), X34),
    "argmax": (lambda m, x: x.argmax(dim=2), X34), "argmin": (lambda m, x: x.argmin(dim=1), X34),
    "any_all": (lambda m, x: ((x > 1).any(dim=2)).float() + (x > -3).all(dim=2).float(), X34),
    "cumsum": (lambda m, x: x.cumsum(dim=2), X34),
    # shapes
    "reshape": (lambda m, x: x.reshape(x.shape[0], 12), X34),
    "view_flatten": (lambda m, x: x.flatten(1) @ m.p.reshape(12, 1), X34),
    "transpose": (lambda m, x: x.transpose(1, 2), X34),
    "permute": (lambda m, x: x.permute(2, 0, 1), X34),
    "expand": (lambda m, x: x + m.p[0].reshape(1, 1, 4).expand(1, 3, 4), X34),
    "cat": (lambda m, x: tg.cat([x, x * 2], dim=1), X34),
    "stack": (lambda m, x: tg.stack([x, x + 1], dim=-1), X34),
    "flip": (lambda m, x: x.flip(2), X34), "roll": (lambda m, x: x.roll(1, 2), X34),
    "tril": (lambda m, x: x.tril(), X34), "triu": (lambda m, x: x.triu(1), X34),
    "gather": (lambda m, x: x.gather(2, x.argmax(dim=2, keepdim=True)), X34),
    "index_select": (lambda m, x: x.index_select(2, tg.tensor([3, 0])), X34),
    "repeat": (lambda m, x: x.repeat(1, 2, 1), X34),
    "pad": (lambda m, x: F.pad(x, (1, 2), value=0.5), X34),
    "pad_reflect": (lambda m, x: F.pad(x, (1, 1), mode="reflect"), X34),
    "pad_replicate": (lambda m, x: F.pad(x, (2, 1), mode="replicate"), X34),
    "getitem_slice": (lambda m, x: x[:, 1:3, ::2], X34),
    "getitem_int": (lambda m, x: x[:, 0], X34),
    "getitem_neg_step": (lambda m, x: x[..., ::-1], X34),
    "getitem_none": (lambda m, x: x[:, None, 2], X34),
    "getitem_array": (lambda m, x: x[:, [2, 0, 2]], X34),
    "getitem_array_2d_int": (lambda m, x: x[:, [[2, 0]], 1], X34),
    "clone": (lambda m, x: x.clone() + 0, X34),
    "contiguous": (lambda m, x: x.transpose(1, 2).contiguous() * 2, X34),
    "split": (lambda m, x: tg.cat(x.split([1, 3], dim=2)[::-1], dim=2), X34),
    "chunk": (lambda m, x: x.chunk(3, dim=1)[2] - x.chunk(2, dim=-1)[0].sum(-1, keepdim=True),
              X34),
    "unsqueeze_squeeze": (lambda m, x: x.unsqueeze(1).squeeze(1), X34),
    # linear algebra
    "matmul": (lambda m, x: x @ m.w, X34), "linear3d": (lambda m, x: F.linear(x, m.p, m.p[:, 0]),
                                                        X34),
    # convolution, pooling, normalization
    "conv1d": (lambda m, x: F.conv1d(x, m.p.reshape(3, 2, 2)[:, :2], stride=2, padding=1), SEQ),
    "conv2d_groups": (lambda m, x: F.conv2d(x, m.p.reshape(6, 1, 2, 1)[:4], groups=2,
                                            padding=(1, 0), dilation=(2, 1)), IMG),
    "conv2d_same": (lambda m, x: F.conv2d(x, m.p.reshape(2, 2, 3, 1), padding="same"), IMG),
    "max_pool2d": (lambda m, x: F.max_pool2d(x, 3, stride=2, padding=1, ceil_mode=True), IMG),
    "max_pool2d_dilated": (lambda m, x: F.max_pool2d(x, 2, dilation=2), IMG),
    "max_pool1d": (lambda m, x: F.max_pool1d(x, 2), SEQ),
    "avg_pool2d": (lambda m, x: F.avg_pool2d(x, 3, stride=2, padding=1, ceil_mode=True,
                                             count_include_pad=False), IMG),
    "avg_pool2d_pad": (lambda m, x: F.avg_pool2d(x, 2, padding=1), IMG),
    "avg_pool1d": (lambda m, x: F.avg_pool1d(x, 3, stride=2), SEQ),
    "adaptive_1": (lambda m, x: F.adaptive_avg_pool2d(x, 1), IMG),
    "adaptive_3": (lambda m, x: F.adaptive_avg_pool2d(x, 3), IMG),
    "adaptive_4": (lambda m, x: F.adaptive_avg_pool2d(x, 4), IMG),
    "layer_norm": (lambda m, x: F.layer_norm(x, (4,), m.p[0], m.p[1]), X34),
    "group_norm": (lambda m, x: F.group_norm(x, 2, m.p[0, :2], m.p[1, :2]), IMG),
    "embedding": (lambda m, x: F.embedding(x, m.p), ints(3, 5)),
}


@pytest.mark.parametrize("name", sorted(OPS))
def test_each_mapped_op_runs_in_onnxruntime(name):
    fn, make = OPS[name]
    check(Fn(fn), make)


def load(name):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_the_digits_cnn_exports_with_batch_norm_and_dropout(tmp_path):
    tg.manual_seed(0)
    model = load("digits_cnn").build_model()
    model(tg.randn(8, 1, 8, 8))  # training steps move the running statistics
    with pytest.warns(UserWarning, match="training mode"):
        tg.onnx.export(model, floats(1, 8, 8)(4), tmp_path / "cnn.onnx")
    assert model.training  # restored
    check(model, floats(1, 8, 8), batches=(4, 1, 64), path=tmp_path / "cnn.onnx",
          input_names=["images"], output_names=["logits"])
    proto = onnx.load(tmp_path / "cnn.onnx")
    assert [i.name for i in proto.graph.input] == ["images"]
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    inits = {i.name for i in proto.graph.initializer}
    assert {"0.weight", "1.running_mean", "1.running_var", "6.weight"} <= inits
    ops = {n.op_type for n in proto.graph.node}
    assert "Conv" in ops and "MaxPool" in ops and "Dropout" not in ops


def test_an_mlp_and_the_articles_network_export():
    tg.manual_seed(1)
    mlp = nn.Sequential(nn.Linear(10, 32), nn.GELU(), nn.LayerNorm(32), nn.Dropout(0.3),
                        nn.Linear(32, 3), nn.LogSoftmax(dim=1))
    check(mlp, floats(10), batches=(3, 1, 17))
    article = load("reproduce_article").build_model(0.8, np.random.default_rng(0))
    check(article, lambda b: np.random.default_rng(b).standard_normal((b, 200)),
          batches=(5, 2, 200), atol=1e-12)  # float64 end to end


def test_a_static_batch_export_and_names():
    # merges the batch dim into another: a symbolic batch cannot follow
    model = Fn(lambda m, x: x.reshape(x.shape[0] * 3, 4) @ m.w)
    with pytest.raises(tg.onnx.ExportError, match="Reshape .* mixes the batch dim"):
        tg.onnx.export(model.eval(), X34(2))
    fixed = Fn(lambda m, x: x.reshape(6, 4) @ m.w)  # works for a batch of 2 only
    with pytest.raises(tg.onnx.ExportError, match="fails on a batch of 3 .* dynamic_batch=False"):
        tg.onnx.export(fixed.eval(), X34(2))
    proto = check(fixed, X34, batches=(2,), dynamic_batch=False)
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_value == 2


class Double(tg.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2.0

    @staticmethod
    def backward(ctx, grad):
        return grad * 2.0


def test_an_op_without_a_mapping_says_how_to_register_one():
    model = Fn(lambda m, x: Double.apply(x))
    with pytest.raises(tg.onnx.ExportError, match=r"no ONNX mapping for the op Double"
                                                   r"[\s\S]*@tg.onnx.register\(Double\)"):
        tg.onnx.export(model.eval(), X34(2))
    tg.onnx.register(Double)(lambda g, inputs, attrs, arrays, out: g.node(
        "Mul", [inputs[0], g.const(np.asarray(2.0, out.dtype))]))
    try:
        check(model, X34)
    finally:
        tg.onnx._REGISTRY.pop(Double)


def test_input_dependent_graphs_are_refused():
    # a constant computed with numpy from the input's values
    leak = Fn(lambda m, x: x * tg.tensor(np.sign(x.numpy())))
    with pytest.raises(tg.onnx.ExportError, match="Mul uses a constant that depends on"):
        tg.onnx.export(leak.eval(), X34(2))
    # Python control flow on the data
    # (the second trace uses x·0.75 + 0.125, whose maximum is below 0.9 here)
    branch = Fn(lambda m, x: x.exp() if float(x.max().item()) > 0.9 else x.sin())
    with pytest.raises(tg.onnx.ExportError, match="ran other ops on another input"):
        tg.onnx.export(branch.eval(), floats(3, 4, low=0.5, high=1.0)(2))
    with pytest.raises(tg.onnx.ExportError, match="boolean mask"):
        tg.onnx.export(Fn(lambda m, x: x[:, x[0, :, 0] > 0]).eval(), X34(2),
                       dynamic_batch=False)


def test_bad_arguments():
    model = Fn(lambda m, x: x + 1).eval()
    with pytest.raises(ValueError, match="opset must be an int >= 17"):
        tg.onnx.export(model, X34(2), opset=13)
    with pytest.raises(ValueError, match="input_names must be 1 distinct non-empty names"):
        tg.onnx.export(model, X34(2), input_names=["a", "b"])
    with pytest.raises(tg.onnx.ExportError, match="scalar input"):
        tg.onnx.export(model, np.float32(1.0))
    with pytest.raises(tg.onnx.ExportError, match="must return a Tensor"):
        tg.onnx.export(Fn(lambda m, x: {"y": x}).eval(), X34(2))


def test_no_warning_for_a_model_in_eval_mode():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tg.onnx.export(Fn(lambda m, x: x.relu()).eval(), X34(2))


# -- inputs are told apart by position; names never shadow one another --------------------------

class Siamese(nn.Module):
    """The squared distance between two embeddings of the same encoder."""

    def __init__(self):
        super().__init__()
        gen = np.random.default_rng(5)
        self.encoder = nn.Linear(4, 3)
        with tg.no_grad():
            self.encoder.weight.data[...] = gen.standard_normal((3, 4))
            self.encoder.bias.data[...] = gen.standard_normal(3)

    def forward(self, a, b):
        return ((self.encoder(a) - self.encoder(b)) ** 2).sum(dim=1)


def test_the_same_example_tensor_for_two_inputs_gives_two_inputs():
    model = Siamese().eval()
    x = tg.tensor(X34(3)[:, 0])
    proto = tg.onnx.export(model, (x, x))  # one tensor traced as both inputs
    assert [i.name for i in proto.graph.input] == ["input_0", "input_1"]
    a = floats(4)(5)
    b = np.random.default_rng(99).uniform(-2.0, 2.0, (5, 4)).astype(np.float32)
    (got,) = run_onnx(proto, {"input_0": a, "input_1": b})
    want = model(tg.tensor(a), tg.tensor(b)).numpy()
    assert (want > 0.1).all()  # distinct pairs are far apart (before the fix: all 0.0)
    np.testing.assert_allclose(got, want, rtol=1e-5)
    # three inputs, the first and the last the same tensor
    three = Fn(lambda m, x, y, z: x * 2.0 + y - z)
    proto = tg.onnx.export(three.eval(), (x, tg.tensor(a[:3]), x))
    feeds = {"input_0": a, "input_1": b, "input_2": a[::-1].copy()}
    (got,) = run_onnx(proto, feeds)
    np.testing.assert_allclose(got, a * 2.0 + b - a[::-1], rtol=1e-6)


def test_a_parameter_given_as_the_example_input_stays_a_parameter():
    model = Fn(lambda m, x: x * 2.0 + m.p).eval()
    proto = tg.onnx.export(model, model.p, dynamic_batch=False)  # (3, 4), like the input
    x = X34(3)[:, 0]
    (got,) = run_onnx(proto, {"input": x})
    np.testing.assert_allclose(got, x * 2.0 + model.p.numpy(), rtol=1e-6)
    assert "p" in {i.name for i in proto.graph.initializer}


@pytest.mark.parametrize("kw, words", [
    ({"input_names": ["p"]}, r"the input name 'p' is also the name of a parameter .* "
                             r"input for the weights. Pass other names in input_names="),
    ({"output_names": ["w"]}, r"the output name 'w' is also the name of a parameter .* "
                              r"Pass other names in output_names="),
    ({"input_names": ["y"], "output_names": ["y"]}, r"\['y'\] named both an input and an "
                                                    r"output"),
])
def test_names_that_would_shadow_a_value_are_refused(kw, words):
    # input_names=["0.weight"] used to replace the weights: the checker passed and
    # onnxruntime computed with the input in their place
    model = Fn(lambda m, x: x @ m.w + m.p.sum()).eval()
    with pytest.raises(tg.onnx.ExportError, match=words):
        tg.onnx.export(model, X34(2), **kw)


def test_an_input_may_take_a_name_the_exporter_would_have_made():
    model = Fn(lambda m, x: (x * 2.0).exp() * 3.0).eval()
    names = {n.output[0] for n in tg.onnx.export(model, X34(2)).graph.node}
    taken = sorted(n for n in names if n != "output")[:2]
    proto = check(model, X34, input_names=[taken[0]], output_names=[taken[1]])
    assert [i.name for i in proto.graph.input] == [taken[0]]


def test_a_parameter_named_like_the_default_input_is_refused_with_the_fix():
    class Named(nn.Module):
        def __init__(self):
            super().__init__()
            self.input = nn.Parameter(np.ones(4, np.float32))

        def forward(self, x):
            return x * self.input

    with pytest.raises(tg.onnx.ExportError, match="input name 'input' .* input_names="):
        tg.onnx.export(Named().eval(), X34(2))
    check(Named(), X34, input_names=["x"])


# -- models over protobuf's 2 GB limit -----------------------------------------------------------

def test_a_model_over_the_2gb_limit_is_written_with_external_data(tmp_path, monkeypatch):
    tg.manual_seed(2)
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 3)).eval()
    whole = tg.onnx.export(model, floats(64)(2))
    # the limit lowered to half this model stands for protobuf's 2 GB (serializing a message
    # of 2 GB or more fails with "EncodeError: Failed to serialize proto")
    monkeypatch.setattr(tg.onnx, "_PROTO_LIMIT", whole.ByteSize() // 2)
    with pytest.raises(tg.onnx.ExportError, match="over protobuf's 2 GB limit .* give a path"):
        tg.onnx.export(model, floats(64)(2))
    path = tmp_path / "big.onnx"
    (tmp_path / "big.onnx.data").write_bytes(b"an older export" * 1000)
    tg.onnx.export(model, floats(64)(2), path)
    # 0.weight (64·32 float32) is the one initializer of 1 KiB or more: it alone moves out,
    # and the older file is replaced, not appended to
    assert (tmp_path / "big.onnx.data").read_bytes() == model[0].weight.numpy().tobytes()
    assert path.stat().st_size < whole.ByteSize() - 8000
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for b in (1, 7):
        x = floats(64)(b)
        np.testing.assert_allclose(sess.run(None, {"input": x})[0],
                                   model(tg.tensor(x)).numpy(), rtol=1e-5, atol=1e-6)
    loaded = onnx.load(str(path))  # reads the weights back from big.onnx.data
    weights = {t.name: onnx.numpy_helper.to_array(t) for t in loaded.graph.initializer}
    np.testing.assert_array_equal(weights["0.weight"], model[0].weight.numpy())
    np.testing.assert_array_equal(weights["2.bias"], model[2].bias.numpy())


def test_the_size_estimate_bounds_the_serialized_size():
    tg.manual_seed(3)
    for model, x in [(load("digits_cnn").build_model().eval(), floats(1, 8, 8)(2)),
                     (nn.Sequential(nn.Linear(300, 200), nn.Tanh(), nn.Linear(200, 1)).eval(),
                      floats(300)(2)),
                     (Fn(lambda m, x: x[:, ::-1].exp().cumsum(dim=1) @ m.w).eval(), X34(2))]:
        proto = tg.onnx.export(model, x)
        actual = len(proto.SerializeToString())
        assert actual <= tg.onnx._estimated_size(proto) <= actual + 8192, actual


@pytest.mark.parametrize("p", [0.3, (0.2, 0.7)])
def test_zoneout_in_eval_mode_exports_as_its_expectation(p):
    # eval-mode zoneout is p·prev + (1 - p)·new, with p one rate or one per leading row
    from tinygrad_reg.regularization import zoneout

    model = Fn(lambda m, x: zoneout(x.transpose(0, 1).tanh(), x.transpose(0, 1) * 2.0, p,
                                    training=m.training))  # x (N, 2, 3): the state (2, N, 3)
    check(model, floats(2, 3), batches=(4, 6))
    x = floats(2, 3)(3).transpose(1, 0, 2)
    keep = np.reshape(p, (-1, 1, 1))
    np.testing.assert_allclose(model.eval()(tg.tensor(x.transpose(1, 0, 2))).numpy(),
                               keep * np.tanh(x) + (1 - keep) * 2 * x, rtol=1e-6)


@pytest.mark.parametrize("noise", [
    lambda x: F.dropout(x, 0.5, training=True),
    lambda x: F.alpha_dropout(x, 0.2, training=True),
    lambda x: tg.regularization.gaussian_noise(x, 0.1, training=True),
])
def test_noise_forced_on_in_eval_mode_is_refused_with_the_fix(noise):
    # a draw per call cannot be a graph; the export traces eval mode, so the message says
    # to follow the module's mode instead of forcing training=True
    model = Fn(lambda m, x: noise(x @ m.w))
    with pytest.raises(tg.onnx.ExportError, match=r"drew a random mask or noise while the "
                                                  r"model was exported in eval mode.*Pass "
                                                  r"training=self.training"):
        tg.onnx.export(model.eval(), tg.tensor(floats(4)(2)))


class Recurrent(nn.Module):
    """A recurrent module's output sequence and final state(s), all as graph outputs."""

    def __init__(self, rnn):
        super().__init__()
        self.rnn = rnn

    def forward(self, x):
        out, state = self.rnn(x)
        return (out,) + (tuple(state) if isinstance(state, tuple) else (state,))


def rng(seed=0):
    return np.random.default_rng(seed)


@pytest.mark.parametrize("make", [
    lambda: nn.LSTM(3, 4, generator=rng()),
    lambda: nn.LSTM(3, 4, num_layers=2, bidirectional=True, batch_first=True, generator=rng()),
    lambda: nn.LSTM(3, 4, bias=False, generator=rng()),
    lambda: nn.GRU(3, 4, num_layers=2, generator=rng()),
    lambda: nn.GRU(3, 4, bidirectional=True, bias=False, batch_first=True, generator=rng()),
    lambda: nn.RNN(3, 4, generator=rng()),
    lambda: nn.RNN(3, 4, num_layers=2, nonlinearity="relu", bidirectional=True,
                   generator=rng()),
], ids=["lstm", "lstm_2layers_bidirectional", "lstm_no_bias", "gru_2layers",
        "gru_bidirectional_no_bias", "rnn_tanh", "rnn_relu_2layers_bidirectional"])
def test_recurrent_layers_export_and_match_in_onnxruntime(make):
    # the gates are PyTorch's order in the weights and ONNX's in its LSTM/GRU/RNN nodes; a
    # sequence of 5 steps; the default initial state is built for the batch given
    model = Recurrent(make())
    seq = (lambda b: floats(5, 3)(b)) if model.rnn.batch_first else \
        (lambda b: floats(b, 3)(5))
    if model.rnn.batch_first:  # the batch symbolic (checked at 2 and 5)
        proto = check(model, seq, atol=1e-5)
    else:  # dim 0 is time: a symbolic dim 0 would be a symbolic length, so a static export
        proto = check(model, seq, batches=(2,), atol=1e-5, dynamic_batch=False)
    assert {n.op_type for n in proto.graph.node} & {"LSTM", "GRU", "RNN"}


@pytest.mark.parametrize("cell", [nn.LSTMCell, nn.GRUCell, nn.RNNCell])
def test_recurrent_cells_export_and_match_in_onnxruntime(cell):
    class Cell(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell = cell(3, 4, generator=rng(1))

        def forward(self, x, h):
            state = (h, h * 0.5) if cell is nn.LSTMCell else h
            out = self.cell(x, state)
            return out if isinstance(out, tuple) else (out,)

    check(Cell(), lambda b: (floats(3)(b), floats(4)(b)[:, ::-1].copy()))
    check(nn.Sequential(cell(3, 4, generator=rng(2))), floats(3))  # the zero state


def test_nested_outputs_are_flattened_and_a_time_first_layer_says_what_to_do():
    lstm = nn.LSTM(3, 4, batch_first=True, generator=rng()).eval()
    proto = tg.onnx.export(lstm, tg.tensor(floats(5, 3)(2)))  # (output, (h_n, c_n))
    assert [o.name for o in proto.graph.output] == ["output_0", "output_1", "output_2"]
    x = floats(5, 3)(3)
    out, (h, c) = lstm(tg.tensor(x))
    for got, want in zip(run_onnx(proto, {"input": x}), (out, h, c)):
        np.testing.assert_allclose(got, want.numpy(), rtol=1e-5, atol=1e-6)
    with pytest.raises(tg.onnx.ExportError, match=r"dim 0 is time for a recurrent layer with "
                                                  r"batch_first=False\), export with "
                                                  r"dynamic_batch=False"):
        tg.onnx.export(nn.GRU(3, 4).eval(), tg.randn(5, 2, 3))
