"""Collapsed views are true, over random module compositions (Hypothesis): for every
``collapse_modules`` depth the DOT is a DAG whose nodes are module *calls* (two calls, two
nodes; every residual addition its own node), every edge of the full graph maps to an edge
between the nodes holding its ends or lies inside one node, named inputs stay, internal
constants are folded away, and labels carry dotted names and parameter counts."""

from __future__ import annotations

import re

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_reg as tg
from tinygrad_reg import nn, viz
from tinygrad_reg.autograd import Context
from tinygrad_reg.viz import dot as vdot
from tinygrad_reg.viz import labels

D = 3


def parse(dot: str) -> tuple[dict[int, str], list[tuple[int, int]]]:
    """node number -> label, and the edges, of a to_dot result (legend left out)."""
    found = re.findall(r'^\t+n(\d+) \[label="((?:[^"\\]|\\.)*)"', dot, re.M)
    nodes = {int(k): v.replace("\\n", "\n") for k, v in found}
    edges = [(int(a), int(b)) for a, b in re.findall(r"^\tn(\d+) -> n(\d+)$", dot, re.M)]
    return nodes, edges


# -- the modules a composition is built of ----------------------------------------------------

class Lin(nn.Linear):
    def __init__(self, gen):
        super().__init__(D, D, dtype=np.float64, generator=gen)


class Act(nn.Module):
    def forward(self, x):
        return x.tanh()


class Scale(nn.Module):
    """Internal constants: a scalar and a bool mask made inside the call."""

    def forward(self, x):
        return (x * 2.0).masked_fill(x > 1.5, 0.0)


class Gate(nn.Module):
    """Reads a named constant (a model input it keeps as a plain attribute)."""

    def __init__(self, name):
        super().__init__()
        self.g = tg.Tensor(np.full(D, 0.5), name=name)

    def forward(self, x):
        return x * self.g


class Residual(nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return x + self.inner(x)


class Twice(nn.Module):
    """Calls one module twice: two calls, two nodes."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return self.inner(self.inner(x))


class Branch(nn.Module):
    def __init__(self, a, b):
        super().__init__()
        self.a, self.b = a, b

    def forward(self, x):
        return self.a(x) + self.b(x) * 0.5


LEAVES = st.sampled_from(["lin", "act", "scale", "drop", "gate", "tied"])
SPECS = st.recursive(
    LEAVES,
    lambda inner: st.one_of(
        st.tuples(st.just("seq"), st.lists(inner, min_size=1, max_size=3)),
        st.tuples(st.just("res"), inner), st.tuples(st.just("twice"), inner),
        st.tuples(st.just("branch"), inner, inner)),
    max_leaves=7)


def build(spec, gen, made):
    """The module a spec stands for; ``made`` collects Lin layers and gate names (a "tied"
    leaf is a Lin whose weight is the first Lin's)."""
    if isinstance(spec, str):
        if spec == "gate":
            made["gates"].append(f"gate{len(made['gates'])}")
            return Gate(made["gates"][-1])
        if spec in ("lin", "tied"):
            m = Lin(gen)
            if spec == "tied" and made["lins"]:
                m.weight = made["lins"][0].weight
            made["lins"].append(m)
            return m
        return {"act": Act, "scale": Scale,
                "drop": lambda: nn.Dropout(0.5, generator=gen)}[spec]()
    kind, *args = spec
    if kind == "seq":
        return nn.Sequential(*[build(s, gen, made) for s in args[0]])
    if kind == "branch":
        return Branch(build(args[0], gen, made), build(args[1], gen, made))
    return (Residual if kind == "res" else Twice)(build(args[0], gen, made))


def composition(spec, seed=0):
    gen = np.random.default_rng(seed)
    made = {"lins": [], "gates": []}
    # a root holding it all; the first layer makes x's successors require grad
    model = nn.Sequential(Lin(gen), build(spec, gen, made), Lin(gen))
    x = tg.Tensor(gen.standard_normal((2, D)), name="x")
    out = model(x).sum()
    out.backward()
    return out, model, made


# -- the truth, from the scopes each op recorded ------------------------------------------------

def chain(scope):
    """The scope objects of the calls an op ran in, outermost first (one object per call)."""
    out = []
    while scope:
        out.append(scope)
        scope = scope.outer
    return out[::-1]


def expected_holders(graph, depth):
    """For each op item: the scope object of the call that holds it at ``depth`` (an int,
    or None for True), or the item's position when it stands alone."""
    ops = [(i, chain(x.scope)) for i, x in enumerate(graph.items) if isinstance(x, Context)]
    parents_of_calls = {id(s) for _, c in ops for s in c[:-1]}  # calls that made calls
    holders = {}
    for i, c in ops:
        holders[i] = ("op", i)
        for s in c:
            if (depth is not None and len(s) == depth) or id(s) not in parents_of_calls:
                holders[i] = ("call", id(s))
                break
    return holders, ops, parents_of_calls


def depths(out):
    deepest = max(len(x.scope) for x in tg.autograd.iter_graph([out]))
    return [*range(1, deepest + 1), True]


@given(SPECS, st.integers(0, 2**16))
def test_collapsed_views_are_true(spec, seed):
    out, model, made = composition(spec, seed)
    full_nodes, full_edges = parse(viz.to_dot(out, params=model, max_nodes=10_000))
    assert all(a < b for a, b in full_edges)
    names = {id(m): n for n, m in model.named_modules()}
    for depth in depths(out):
        dot = viz.to_dot(out, params=model, collapse_modules=depth, max_nodes=10_000)
        nodes, edges = parse(dot)
        graph, v, _, _ = vdot.drawing(out, model, depth, 10_000)
        # a DAG, numbered in a topological order; no edge given twice
        assert all(a < b for a, b in edges), (depth, edges)
        assert len(set(edges)) == len(edges)
        # node k of the DOT is node k of the view
        assert sorted(nodes) == list(range(len(v.nodes)))
        # each op sits in the node of its call at this depth (two calls, two nodes; an op a
        # module runs around its children, a residual addition, its own node)
        holders, ops, parents_of_calls = expected_holders(graph, None if depth is True
                                                          else depth)
        by_truth: dict = {}
        for i, truth in holders.items():
            by_truth.setdefault(truth, set()).add(v.holder[i])
        assert all(len(held) == 1 for held in by_truth.values())
        assert len({next(iter(h)) for h in by_truth.values()}) == len(by_truth)
        # every edge of the full graph lies inside a node or is an edge of the view, and
        # every edge of the view comes from one of the full graph
        mapped = {(v.holder[p], v.holder[i]) for i, ps in enumerate(graph.parents) for p in ps}
        assert set(edges) == {(a, b) for a, b in mapped if a != b}
        # named inputs stay; internal constants (dropout masks, scalars, comparisons made
        # inside a module) are folded into the collapsed call that reads them
        firsts = {k: label.split("\n")[0] for k, label in nodes.items()}
        assert "x" in firsts.values() and set(made["gates"]) <= set(firsts.values())
        assert "mask" not in firsts.values()
        assert not any(label in ("scalar float64\n2", "(2, 3) bool") for label in nodes.values())
        # a collapsed call: its dotted name (the class alone for the root), its parameter
        # count, and "call k/n" when its module was called more than once
        for k, node in enumerate(v.nodes):
            if node.call is None:
                continue
            m = node.call.module
            head = f"{names[id(m)]}: {type(m).__name__}" if names[id(m)] else type(m).__name__
            if node.call.of > 1:
                head += f" (call {node.call.number}/{node.call.of})"
            assert firsts[k] == head
            count = sum(p.numpy().size for p in m.parameters())
            assert (labels.fmt_count(count) in nodes[k].split("\n")) == (count > 0)
        # the number of call nodes is the number of calls that are collapsed at this depth
        collapsed = {t for t in holders.values() if t[0] == "call"}
        assert sum(node.call is not None for node in v.nodes) == len(collapsed)
    # a view never has more nodes than the full graph
    assert len(nodes) <= len(full_nodes)


def test_two_calls_of_one_module_are_two_nodes():
    lin = Lin(np.random.default_rng(0))
    x = tg.Tensor(np.ones((2, D)), name="x")
    out = lin(lin(x)).sum()
    nodes, edges = parse(viz.to_dot(out, params={"lin.weight": lin.weight,
                                                 "lin.bias": lin.bias},
                                    collapse_modules=True))
    calls = [k for k, label in nodes.items() if label.startswith("Lin")]
    assert [nodes[k].split("\n")[0] for k in calls] == ["Lin (call 1/2)", "Lin (call 2/2)"]
    assert (calls[0], calls[1]) in edges
    # the shared weight and bias are read by both calls: drawn once each, not folded
    assert sum(label.startswith("lin.weight") for label in nodes.values()) == 1


def test_two_residual_additions_are_two_nodes_and_no_cycle():
    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            gen = np.random.default_rng(0)
            self.attn, self.mlp = Lin(gen), Lin(gen)

        def forward(self, x):
            x = x + self.attn(x)
            return x + self.mlp(x)

    block = Block()
    out = block(tg.Tensor(np.ones((2, D)), name="x")).sum()
    nodes, edges = parse(viz.to_dot(out, params=block, collapse_modules=True))
    adds = [k for k, label in nodes.items() if label.startswith("Add")]
    assert len(adds) == 2
    attn = next(k for k, label in nodes.items() if label.startswith("attn: Lin"))
    mlp = next(k for k, label in nodes.items() if label.startswith("mlp: Lin"))
    # x -> attn -> Add1 -> mlp -> Add2, and Add1 -> Add2: no edge back
    assert {(attn, adds[0]), (adds[0], mlp), (mlp, adds[1]), (adds[0], adds[1])} <= set(edges)
    assert all(a < b for a, b in edges)
