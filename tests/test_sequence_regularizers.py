"""The sequence regularizers (tinygrad_reg.regularization.sequence and their nn modules):
identity in eval mode, the right statistics in training (locked dropout: one mask per sequence
shared over time; embedding dropout: whole rows; weight drop: DropConnect on weight_hh, one
mask per forward pass; zoneout: keep the previous state with probability p, the expectation in
eval mode; drop path: per sample or per batch, as torchvision's stochastic_depth), first and
second derivatives with the mask fixed (check_op), named nodes of kind "regularization" drawn
in the regularization colour, bad p refused; and nn.utils.rnn.pad_sequence."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import strategies as st

import tinygrad_reg as tg
from tinygrad_reg import nn
from tinygrad_reg.regularization.sequence import (
    DropPath,
    EmbeddingDropout,
    LockedDropout,
    WeightDrop,
    Zoneout,
    drop_path,
    embedding_dropout,
    locked_dropout,
    weight_drop,
    zoneout,
)
from tinygrad_reg.testing import check_op
from tinygrad_reg.testing import strategies as T
from tinygrad_reg.viz.dot import _STYLES


def _rng(seed=0):
    return np.random.default_rng(seed)


def _close_to(frac, p, n):
    """A kept (or zoned-out) fraction within 5 standard deviations of its expectation."""
    return abs(frac - p) <= 5 * math.sqrt(p * (1 - p) / n) + 1e-12


# -- eval mode ---------------------------------------------------------------------------------

@pytest.mark.parametrize("call", [
    lambda x: locked_dropout(x, 0.5, training=False),
    lambda x: embedding_dropout(x, 0.5, training=False),
    lambda x: weight_drop(x, 0.5, training=False),
    lambda x: drop_path(x, 0.5, training=False),
    lambda x: drop_path(x, 0.5, training=False, mode="batch"),
    lambda x: locked_dropout(x, 0.0),
    lambda x: drop_path(x, 0.0)])
def test_identity_in_eval_mode_or_with_p_0(call):
    x = tg.tensor(_rng().standard_normal((4, 3)), requires_grad=True)
    assert call(x) is x  # no node, no draw


def test_the_modules_are_the_identity_in_eval_mode():
    x = tg.tensor(_rng().standard_normal((5, 2, 3)).astype(np.float32))
    for m in (nn.LockedDropout(0.5), nn.DropPath(0.5), nn.DropPath(0.5, "batch")):
        assert m(x) is not x or not m.training
        m.eval()
        assert m(x) is x
    emb = nn.EmbeddingDropout(10, 4, p=0.5)
    idx = tg.tensor(np.array([[1, 2], [2, 9]]))
    plain = nn.Embedding(10, 4)
    plain.load_state_dict(emb.state_dict())
    emb.eval()
    assert np.array_equal(emb(idx).numpy(), plain(idx).numpy())
    assert list(emb.state_dict()) == ["weight"]


def test_zoneout_in_eval_mode_is_its_expectation():
    prev, new = (tg.tensor(_rng(s).standard_normal((2, 3, 4))) for s in (0, 1))
    out = zoneout(prev, new, 0.3, training=False)
    np.testing.assert_allclose(out.numpy(), 0.3 * prev.numpy() + 0.7 * new.numpy(), rtol=1e-15)
    both = zoneout(prev, new, (0.3, 0.6), training=False)  # (p_h, p_c) for an LSTM state
    want = np.stack([0.3 * prev.numpy()[0] + 0.7 * new.numpy()[0],
                     0.6 * prev.numpy()[1] + 0.4 * new.numpy()[1]])
    np.testing.assert_allclose(both.numpy(), want, rtol=1e-15)
    assert zoneout(prev, new, 0.0) is new
    m = nn.Zoneout(0.3)
    m.eval()
    np.testing.assert_array_equal(m(prev, new).numpy(), out.numpy())


# -- statistics in training --------------------------------------------------------------------

@pytest.mark.parametrize("batch_first", [False, True])
def test_locked_dropout_shares_one_mask_over_time(batch_first):
    t, n, c, p = 7, 50, 40, 0.3
    shape = (n, t, c) if batch_first else (t, n, c)
    out = locked_dropout(tg.ones(*shape), p, batch_first=batch_first,
                         generator=_rng()).numpy()
    if batch_first:
        out = out.transpose(1, 0, 2)
    assert np.array_equal(out, np.broadcast_to(out[:1], out.shape))  # the same at every step
    assert set(np.unique(out)) == {0.0, np.float32(1 / (1 - p))}
    assert _close_to((out[0] > 0).mean(), 1 - p, n * c)
    assert out.dtype == np.float32
    m = nn.LockedDropout(p, batch_first=batch_first, generator=_rng())
    assert np.array_equal(m(tg.ones(*shape)).numpy(), locked_dropout(
        tg.ones(*shape), p, batch_first=batch_first, generator=_rng()).numpy())


def test_embedding_dropout_drops_whole_rows_and_every_occurrence():
    v, e, p = 400, 6, 0.25
    w = tg.tensor(_rng().standard_normal((v, e)))
    out = embedding_dropout(w, p, generator=_rng(1)).numpy()
    kept = np.abs(out).sum(axis=1) > 0
    np.testing.assert_allclose(out[kept], w.numpy()[kept] / (1 - p), rtol=1e-15)
    assert np.array_equal(out[~kept], np.zeros((int((~kept).sum()), e)))
    assert _close_to(kept.mean(), 1 - p, v)
    emb = nn.EmbeddingDropout(v, e, p=0.5, generator=_rng(2))
    idx = np.array([[3, 3, 7], [7, 3, 3]])
    rows = emb(tg.tensor(idx)).numpy()
    for word in (3, 7):  # dropped or kept everywhere it occurs
        got = rows[idx == word]
        assert np.array_equal(got, np.broadcast_to(got[:1], got.shape))


def test_weight_drop_masks_entries_of_the_weight():
    w = tg.ones(60, 50, dtype=tg.float64)
    out = weight_drop(w, 0.4, generator=_rng()).numpy()
    assert set(np.unique(out)) == {0.0, 1 / 0.6}
    assert _close_to((out > 0).mean(), 0.6, w.numel())


def _nodes(t):
    seen, todo, out = set(), [t.grad_fn], []
    while todo:
        node = todo.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        out.append(node)
        todo.extend(i.grad_fn for i in node.inputs if i is not None)
    return out


@pytest.mark.parametrize("kind, node, per_run", [("LSTM", "LSTMLayer", 1),
                                                  ("GRU", "GRUStep", 6)])
def test_weight_drop_is_one_mask_per_forward_shared_by_every_step(kind, node, per_run):
    # (the LSTM runs each layer and direction as one LSTMLayer node, the GRU step by step)
    m = getattr(nn, kind)(3, 4, num_layers=2, bidirectional=True, weight_dropout=0.5,
                          generator=_rng())
    x = tg.tensor(_rng(1).standard_normal((6, 2, 3)).astype(np.float32))
    out, _ = m(x)
    nodes = _nodes(out)
    drops = [n for n in nodes if n.fn is WeightDrop]
    assert len(drops) == 4  # one per layer and direction, on weight_hh only
    hh = {id(getattr(m, k)) for k in m._flat_weights_names if k.startswith("weight_hh")}
    assert {id(n.inputs[0]) for n in drops} == hh
    steps = [n for n in nodes if n.fn.__name__ == node]
    assert len(steps) == per_run * 4
    # every step's weight_hh is the output of one of the four WeightDrop nodes
    assert all(s.inputs[3].grad_fn.fn is WeightDrop for s in steps)
    assert len({id(s.inputs[3]) for s in steps}) == 4
    m.eval()  # no weight drop in eval mode: the plain layer
    plain = getattr(nn, kind)(3, 4, num_layers=2, bidirectional=True)
    plain.load_state_dict(m.state_dict())
    np.testing.assert_array_equal(m(x)[0].numpy(), plain(x)[0].numpy())
    assert not any(n.fn is WeightDrop for n in _nodes(m(x)[0]))


def test_zoneout_keeps_the_previous_unit_with_probability_p():
    prev = tg.tensor(_rng(0).standard_normal((2, 40, 50)))
    new = tg.tensor(_rng(1).standard_normal((2, 40, 50)))
    out = zoneout(prev, new, (0.2, 0.7), generator=_rng(2)).numpy()
    kept = out == prev.numpy()
    assert np.array_equal(out, np.where(kept, prev.numpy(), new.numpy()))  # bit for bit
    assert _close_to(kept[0].mean(), 0.2, 2000) and _close_to(kept[1].mean(), 0.7, 2000)


def test_zoneout_in_a_gru_keeps_states_and_is_the_expectation_in_eval():
    m = nn.GRU(3, 20, zoneout=0.5, generator=_rng())
    x = tg.tensor(_rng(1).standard_normal((5, 30, 3)).astype(np.float32))
    out = m(x)[0].numpy()
    held = (out[1:] == out[:-1]).mean()  # a unit zoned out repeats its previous value
    assert _close_to(held, 0.5, out[1:].size)
    m.eval()
    plain = nn.GRU(3, 20)
    plain.load_state_dict(m.state_dict())
    h, want = tg.zeros(30, 20), []
    for t in range(5):  # eval: h_t = p·h_(t-1) + (1 - p)·GRU(x_t, h_(t-1))
        h = 0.5 * h + 0.5 * plain(x[t:t + 1], h.unsqueeze(0))[0][0]
        want.append(h.numpy())
    np.testing.assert_allclose(m(x)[0].numpy(), np.stack(want), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("mode", ["row", "batch"])
def test_drop_path_drops_whole_samples_or_the_whole_batch(mode):
    n, p = 400, 0.3
    x = tg.tensor(_rng().standard_normal((n, 3, 2)))
    outs = [drop_path(x, p, mode=mode, generator=_rng(s)).numpy() for s in range(5)]
    for out in outs:
        kept = np.abs(out).reshape(n, -1).sum(axis=1) > 0
        np.testing.assert_allclose(out[kept], x.numpy()[kept] / (1 - p), rtol=1e-15)
        assert not out[~kept].any()
        if mode == "batch":
            assert kept.all() or not kept.any()
        else:
            assert _close_to(kept.mean(), 1 - p, n)
    assert not drop_path(x, 1.0).numpy().any()  # torchvision: p = 1 gives zeros
    m = nn.DropPath(p, mode, generator=_rng(0))
    np.testing.assert_array_equal(m(x).numpy(), outs[0])


# -- gradients with the mask fixed -------------------------------------------------------------

@st.composite
def _masked(draw, mask_shape):
    x = draw(T.tensors(st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3))))
    mask = draw(T.tensors(mask_shape(x.shape), dtype=bool))
    return x, mask


def _ref_drop(p):
    return lambda x, mask: x * mask / (1 - p)


@pytest.mark.parametrize("op, mask_shape", [
    (LockedDropout, lambda s: (1,) + s[1:]), (EmbeddingDropout, lambda s: s[:-1] + (1,)),
    (WeightDrop, lambda s: s), (DropPath, lambda s: (s[0], 1, 1))],
    ids=["locked", "embedding", "weight_drop", "drop_path"])
def test_the_masked_ops_to_second_order(op, mask_shape):
    check_op(lambda x, m: op.apply(x, m, p=0.3), _masked(mask_shape), ref=_ref_drop(0.3),
             out_shape=None, name=op.__name__)


@st.composite
def _zoneout_inputs(draw, with_mask):
    shape = draw(st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3)))
    prev, new = draw(T.tensors(shape)), draw(T.tensors(shape))
    return (prev, new, draw(T.tensors(shape, dtype=bool))) if with_mask else (prev, new)


def test_zoneout_to_second_order_in_training_and_eval():
    check_op(lambda a, b, m: Zoneout.apply(a, b, m, p=0.3), _zoneout_inputs(True),
             ref=lambda a, b, m: np.where(m, a, b), name="Zoneout_train")
    check_op(lambda a, b: Zoneout.apply(a, b, p=0.3), _zoneout_inputs(False),
             ref=lambda a, b: 0.3 * a + 0.7 * b, name="Zoneout_eval")


def test_zoneout_with_one_rate_per_row_to_second_order():
    shapes = st.tuples(st.integers(1, 3), st.integers(1, 3))
    pair = shapes.flatmap(lambda s: st.tuples(T.tensors((2,) + s), T.tensors((2,) + s)))
    check_op(lambda a, b: Zoneout.apply(a, b, p=(0.2, 0.9)), pair,
             ref=lambda a, b: np.stack([0.2 * a[0] + 0.8 * b[0], 0.9 * a[1] + 0.1 * b[1]]),
             name="Zoneout_rows")


# -- named nodes, drawn as regularization --------------------------------------------------------

@pytest.mark.parametrize("make, op", [
    (lambda x: locked_dropout(x, 0.3), "LockedDropout"),
    (lambda x: embedding_dropout(x, 0.3), "EmbeddingDropout"),
    (lambda x: weight_drop(x, 0.3), "WeightDrop"),
    (lambda x: drop_path(x, 0.3), "DropPath"),
    (lambda x: zoneout(x * 2.0, x, 0.3), "Zoneout"),
    (lambda x: zoneout(x * 2.0, x, 0.3, training=False), "Zoneout")])
def test_each_is_a_named_node_drawn_in_the_regularization_colour(make, op):
    x = tg.Tensor(_rng().standard_normal((3, 4)), requires_grad=True, name="x")
    y = make(x)
    assert y.grad_fn.fn.__name__ == op and y.grad_fn.fn.kind == "regularization"
    assert op in tg.viz.REGULARIZATION_OPS
    dot = tg.viz.to_dot(y.sum())
    lines = [line for line in dot.splitlines() if f'label="{op}' in line]
    assert lines and _STYLES["reg"][1] in lines[0]
    assert 'label="mask' in dot or op == "Zoneout"


# -- bad arguments -----------------------------------------------------------------------------

@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan"), "0.5", True, None])
@pytest.mark.parametrize("call, fn", [
    (lambda x, p: locked_dropout(x, p) if p is not None else locked_dropout(x, keep_prob=2.0),
     "locked_dropout"),
    (lambda x, p: embedding_dropout(x, p) if p is not None else embedding_dropout(x, p=-1),
     "embedding_dropout"),
    (lambda x, p: weight_drop(x, p) if p is not None else weight_drop(x, 0.2, keep_prob=0.8),
     "weight_drop"),
    (lambda x, p: drop_path(x, p), "drop_path"),
    (lambda x, p: zoneout(x, x, p), "zoneout"),
    (lambda x, p: nn.LockedDropout(p if p is not None else 2.0), "LockedDropout"),
    (lambda x, p: nn.DropPath(p), "drop_path"),
    (lambda x, p: nn.Zoneout(p), "zoneout"),
    (lambda x, p: nn.LSTM(2, 3, zoneout=p if p is not None else (0.1, 0.2, 0.3)), "LSTM"),
    (lambda x, p: nn.GRU(2, 3, weight_dropout=p if p is not None else -3), "GRU")])
def test_bad_p_is_refused_naming_the_function(call, fn, bad):
    x = tg.ones(3, 4)
    with pytest.raises(ValueError) as err:
        call(x, bad)
    assert fn in str(err.value)


@pytest.mark.parametrize("call, words", [
    (lambda: drop_path(tg.ones(2, 3), 0.2, mode="rows"),
     ["drop_path", "'batch' or 'row'", "'rows'"]),
    (lambda: locked_dropout(tg.ones(3), 0.2), ["locked_dropout", "(T, N, ...)", "(3,)"]),
    (lambda: embedding_dropout(tg.ones(2, 3, 4), 0.2), ["embedding_dropout", "(V, E)"]),
    (lambda: zoneout(tg.ones(2, 3), tg.ones(3, 2), 0.2), ["zoneout", "(2, 3)", "(3, 2)"]),
    (lambda: zoneout(tg.ones(3, 2), tg.ones(3, 2), (0.1, 0.2)),
     ["zoneout", "2 rates", "3 rows", "(p_h, p_c)"]),
    (lambda: nn.GRU(2, 3, zoneout=(0.1, 0.2)), ["GRU", "(p_h, p_c) for an LSTM"]),
    (lambda: locked_dropout(tg.ones(3, 2, dtype=tg.int64), 0.2),
     ["locked_dropout", "floating-point", "int64"]),
])
def test_bad_arguments_get_clear_errors(call, words):
    with pytest.raises((ValueError, TypeError)) as err:
        call()
    for w in words:
        assert w in str(err.value), (w, str(err.value))


# -- pad_sequence ------------------------------------------------------------------------------

def test_pad_sequence_is_pytorchs():
    a, b = tg.tensor([[1.0, 2.0]], requires_grad=True), tg.tensor([[3.0, 4.0], [5.0, 6.0]])
    out = nn.utils.rnn.pad_sequence([a, b])
    # PyTorch: pad_sequence([a, b]) is (T, B, *) = (2, 2, 2), zeros after the short one
    assert out.shape == (2, 2, 2)
    np.testing.assert_array_equal(out.numpy(), [[[1, 2], [3, 4]], [[0, 0], [5, 6]]])
    left = nn.utils.rnn.pad_sequence([a, b], batch_first=True, padding_value=-1.0,
                                     padding_side="left")
    np.testing.assert_array_equal(left.numpy(), [[[-1, -1], [1, 2]], [[3, 4], [5, 6]]])
    (left * tg.tensor(np.arange(8.0).reshape(2, 2, 2))).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [[2.0, 3.0]])
    with pytest.raises(ValueError, match="padding_side"):
        nn.utils.rnn.pad_sequence([a], padding_side="middle")
    with pytest.raises(ValueError, match="sequence 1 has shape"):
        nn.utils.rnn.pad_sequence([a, tg.ones(2, 3)])
