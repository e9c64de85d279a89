"""An op class carries its facts: ``kind`` (read by the drawing's colours and by
penalty_breakdown), ``to_onnx`` (the ONNX mapping) and ``lower`` (the jit lowering), for a
user's ``tg.Function`` exactly as for the built-in ops."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import tinygrad_reg as tg
from tinygrad_reg import nn
from tinygrad_reg.autograd import Function
from tinygrad_reg.jit import codegen
from tinygrad_reg.ops import activation, elementwise, jit_rules, onnx_rules
from tinygrad_reg.ops.jit_rules import Lowered
from tinygrad_reg.regularization import noise, penalties, sequence
from tinygrad_reg.viz.dot import _STYLES

DOCS = Path(__file__).resolve().parent.parent / "docs"


class L4Penalty(tg.Function):
    """out = lam · Σ w⁴.   dw = grad · 4 lam · w³."""
    kind = "penalty"

    @staticmethod
    def forward(ctx, w, lam):
        ctx.save_for_backward(w)
        return np.asarray(lam * np.sum(w ** 4), dtype=w.dtype)

    @staticmethod
    def backward(ctx, grad):
        (w,) = ctx.saved_tensors
        return grad * (4 * ctx.attrs["lam"]) * w ** 3

    @staticmethod
    def to_onnx(g, inputs, attrs, arrays, out):
        sq = g.node("Mul", [inputs[0], inputs[0]])
        total = g.reduce("ReduceSum", g.node("Mul", [sq, sq]), None, False, arrays[0].ndim)
        return g.node("Mul", [total, onnx_rules.scalar(g, attrs["lam"], out)])


class SquaredError(tg.Function):
    """out = Σ (p - y)².   dp = grad · 2 (p - y), dy = -dp."""
    kind = "loss"

    @staticmethod
    def forward(ctx, p, y):
        ctx.save_for_backward(p, y)
        return np.asarray(np.sum((p - y) ** 2), dtype=p.dtype)

    @staticmethod
    def backward(ctx, grad):
        p, y = ctx.saved_tensors
        d = grad * 2.0 * (p - y)
        return d, -d


def _node_lines(dot: str, name: str) -> list[str]:
    return [line for line in dot.splitlines() if f'label="{name}' in line]


def _style(kind: str) -> str:
    return _STYLES[kind][1]


# -- kind -------------------------------------------------------------------------------------

def test_a_users_penalty_is_drawn_as_a_regularizer_and_counted_by_the_breakdown():
    w = tg.Tensor(np.array([1.0, -2.0]), requires_grad=True)
    x = tg.Tensor(np.array([0.5, 0.25]))
    data = ((w * x).sum() - 1.0) ** 2
    loss = data + L4Penalty.apply(w, lam=0.5) + tg.regularization.l2_penalty([w], lam=0.1)
    dot = tg.viz.to_dot(loss)
    (line,) = _node_lines(dot, "L4Penalty")
    assert _style("reg") in line
    assert "L4Penalty" in tg.viz.REGULARIZATION_OPS and "L4Penalty" not in tg.viz.LOSS_OPS
    assert L4Penalty in tg.regularization.PENALTY_OPS
    parts = tg.regularization.penalty_breakdown(loss)
    assert list(parts) == ["data", "L4Penalty(lam=0.5)", "L2Penalty(lam=0.1)"]
    assert parts["L4Penalty(lam=0.5)"] == 0.5 * (1.0 + 16.0)
    assert parts["L2Penalty(lam=0.1)"] == pytest.approx(0.05 * 5.0, rel=1e-15)
    assert parts["data"] == pytest.approx(float(data.item()), rel=1e-12)
    assert sum(parts.values()) == pytest.approx(loss.item(), rel=1e-12)


def test_a_users_loss_is_drawn_in_the_loss_colour_and_is_not_a_penalty():
    p = tg.Tensor(np.array([0.5, 1.5]), requires_grad=True)
    loss = SquaredError.apply(p, np.array([1.0, 1.0])) + L4Penalty.apply(p, lam=1.0)
    dot = tg.viz.to_dot(loss)
    (line,) = _node_lines(dot, "SquaredError")
    assert _style("loss") in line
    assert "SquaredError" in tg.viz.LOSS_OPS and "SquaredError" not in tg.viz.REGULARIZATION_OPS
    assert SquaredError not in tg.regularization.PENALTY_OPS
    parts = tg.regularization.penalty_breakdown(loss)
    assert list(parts) == ["data", "L4Penalty(lam=1)"]
    assert parts["data"] == pytest.approx(0.5, rel=1e-15)  # the loss is data, not a penalty


def test_a_collapsed_module_that_only_computes_a_users_loss_keeps_the_loss_colour():
    class Criterion(nn.Module):
        def forward(self, p, y):
            return SquaredError.apply(p, y)

    p = tg.Tensor(np.array([0.5, 1.5]), requires_grad=True)
    dot = tg.viz.to_dot(Criterion()(p, np.ones(2)), collapse_modules=True)
    (line,) = [ln for ln in dot.splitlines() if "Criterion" in ln and "label=" in ln]
    fill = re.search(r'fillcolor="[^"]+"', _style("loss")).group(0)
    assert "shape=box3d" in line and fill in line


def test_kind_is_inherited_and_can_be_taken_back():
    class Heavier(L4Penalty):
        pass

    class NotAPenalty(L4Penalty):
        kind = None

    w = tg.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    loss = Heavier.apply(w, lam=1.0) + NotAPenalty.apply(w, lam=1.0)
    assert list(tg.regularization.penalty_breakdown(loss)) == ["data", "Heavier(lam=1)"]
    dot = tg.viz.to_dot(loss)
    assert _style("reg") in _node_lines(dot, "Heavier")[0]
    assert _style("op") in _node_lines(dot, "NotAPenalty")[0]
    assert "Heavier" in tg.viz.REGULARIZATION_OPS
    assert "NotAPenalty" not in tg.viz.REGULARIZATION_OPS


def test_the_built_in_kinds():
    assert Function.kind is None
    assert {c for c in [noise.Dropout, noise.Dropout1d, noise.Dropout2d, noise.DropConnect,
                        noise.GaussianDropout, noise.AlphaDropout, noise.GaussianNoise,
                        sequence.LockedDropout, sequence.EmbeddingDropout, sequence.WeightDrop,
                        sequence.DropPath, sequence.Zoneout]
            if c.kind == "regularization"} == set(_built_in("regularization"))
    built_in_penalties = {penalties.L1Penalty, penalties.L2Penalty,
                          penalties.ElasticNetPenalty, penalties.ActivityL1,
                          penalties.ActivityL2}
    assert set(_built_in("penalty")) == built_in_penalties
    assert built_in_penalties <= set(tg.regularization.PENALTY_OPS)
    assert {c.__name__ for c in _built_in("loss")} == {
        "BinaryCrossEntropyWithLogits", "WeightedBinaryCrossEntropyWithLogits",
        "BinaryCrossEntropy", "CrossEntropy", "NegativeLogLikelihood", "MeanSquaredError",
        "AbsoluteError", "Huber", "SmoothL1"}
    # (a backward op of a loss is a plain op)
    assert tg.nn.losses.BinaryCrossEntropyWithLogitsBackward.kind is None
    assert {c.__name__ for c in _built_in("regularization", "penalty")} <= \
        tg.viz.REGULARIZATION_OPS
    assert {c.__name__ for c in _built_in("loss")} <= tg.viz.LOSS_OPS


def _built_in(*kinds: str) -> list[type]:
    from tinygrad_reg.ops.kinds import ops_of_kind
    return [c for c in ops_of_kind(*kinds) if c.__module__.startswith("tinygrad_reg.")]


def test_the_visualization_page_lists_the_penalties():
    page = (DOCS / "visualization.md").read_text(encoding="utf-8")
    words = "or a penalty: "
    row = page[page.index(words) + len(words):]
    listed = re.findall(r"`(\w+)`", row[:row.index("(")])
    assert listed == sorted(listed)
    assert set(listed) == {c.__name__ for c in _built_in("penalty")}


# -- ONNX -------------------------------------------------------------------------------------

class _Penalized(nn.Module):
    def __init__(self):
        super().__init__()
        gen = np.random.default_rng(3)
        self.fc = nn.Linear(4, 3)
        self.fc.weight.data = gen.standard_normal((3, 4)).astype(np.float32)

    def forward(self, x):
        return self.fc(x), L4Penalty.apply(self.fc.weight, lam=0.25)


def test_a_users_penalty_exports_to_onnx_through_its_to_onnx_facet():
    ort = pytest.importorskip("onnxruntime")
    model = _Penalized().eval()
    x = np.random.default_rng(0).standard_normal((2, 4)).astype(np.float32)
    proto = tg.onnx.export(model, x)
    assert "ReduceSum" in [n.op_type for n in proto.graph.node]
    sess = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    for batch in (2, 5):
        xb = np.random.default_rng(batch).standard_normal((batch, 4)).astype(np.float32)
        got = sess.run(None, {"input": xb})
        want = model(tg.tensor(xb))
        for g_, w_ in zip(got, want):
            assert g_.shape == w_.numpy().shape and g_.dtype == w_.numpy().dtype
            np.testing.assert_allclose(g_, w_.numpy(), rtol=1e-5, atol=1e-6)


def test_the_mapping_is_found_along_the_mro_registration_first_at_each_class():
    def registered(g, inputs, attrs, arrays, out):
        return g.node("Identity", inputs)

    class Child(L4Penalty):
        pass

    class OwnMapping(L4Penalty):
        @staticmethod
        def to_onnx(g, inputs, attrs, arrays, out):
            return g.node("Identity", inputs)

    class NoMapping(L4Penalty):
        to_onnx = None

    assert tg.onnx.mapping_for(L4Penalty) is L4Penalty.to_onnx
    assert tg.onnx.mapping_for(Child) is L4Penalty.to_onnx
    assert tg.onnx.mapping_for(OwnMapping) is OwnMapping.to_onnx
    assert tg.onnx.mapping_for(NoMapping) is None
    tg.onnx.register(L4Penalty)(registered)
    try:
        assert tg.onnx.mapping_for(L4Penalty) is registered  # the registration wins...
        assert tg.onnx.mapping_for(Child) is registered
        assert tg.onnx.mapping_for(OwnMapping) is OwnMapping.to_onnx  # ...at its own class
    finally:
        tg.onnx._REGISTRY.pop(L4Penalty)
    assert tg.onnx.mapping_for(activation.Hardtanh) is elementwise.Clip.to_onnx
    assert tg.onnx.ExportError is onnx_rules.ExportError


def test_an_op_without_to_onnx_is_refused_with_both_ways_to_map_it():
    pytest.importorskip("onnx")

    class Model(nn.Module):
        def forward(self, x):
            return SquaredError.apply(x, np.zeros((1, 3), np.float32))

    with pytest.raises(tg.onnx.ExportError, match=r"SquaredError[\s\S]*to_onnx static "
                                                   r"method[\s\S]*register\(SquaredError\)"):
        tg.onnx.export(Model().eval(), np.ones((2, 3), np.float32), dynamic_batch=False)


# -- jit --------------------------------------------------------------------------------------

class Twice(tg.Function):
    """out = x + x.   dx = 2 · grad."""

    @staticmethod
    def forward(ctx, x):
        return np.add(x, x)

    @staticmethod
    def backward(ctx, grad):
        return grad * 2.0

    @staticmethod
    def lower(ins, out, attrs):
        return Lowered(("add({i0}, {i0}, out={o})",), inplace=(0,))


class TwiceAgain(Twice):
    """Twice under another name: its forward, so its lowering."""


class TwiceNegated(Twice):
    """out = -(x + x): another forward, so Twice's lowering must not be used."""

    @staticmethod
    def forward(ctx, x):
        return np.negative(np.add(x, x))


def test_a_lowering_is_used_only_with_the_forward_of_the_class_that_defines_it():
    assert codegen.rule_for(Twice) is Twice.lower
    assert codegen.rule_for(TwiceAgain) is Twice.lower
    assert codegen.rule_for(TwiceNegated) is None
    assert codegen.rule_for(L4Penalty) is None
    assert codegen.rule_for(noise.Dropout2d) is noise.Dropout.lower
    assert codegen.rule_for(activation.Hardtanh) is None  # (Clip has no lowering either)


@pytest.mark.parametrize("cls, sign", [(Twice, 1.0), (TwiceAgain, 1.0), (TwiceNegated, -1.0)])
def test_a_users_lowering_runs_in_the_replay(cls, sign):
    step = tg.jit(lambda x: cls.apply(x * 3.0))
    for v in (1.0, 2.0, -0.5, 4.0):
        x = tg.tensor(np.full((2, 3), v))
        assert np.array_equal(step(x).numpy(), np.full((2, 3), sign * 6.0 * v))
    lowered = re.search(r"add\((\w+), \1, out=\w+\)", step.code) is not None
    assert lowered == (cls is not TwiceNegated), step.code


def test_ufunc_lowerings_and_assigning_lowerings_are_marked():
    assert not getattr(elementwise.Add.lower, "assigns", False)
    assert elementwise.Add.lower([], None, {}) == Lowered(("add({i0}, {i1}, out={o})",),
                                                          inplace=(0, 1))
    assert penalties.L2Penalty.lower.assigns
    rule = jit_rules.assigning(lambda ins, out, attrs: None)
    assert rule.assigns
