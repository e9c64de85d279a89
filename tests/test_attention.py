"""scaled_dot_product_attention: values and first and second derivatives through
``tg.testing.check_op`` against numpy, with masks, causality, scale and grouped heads, and
PyTorch's refusals."""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import strategies as st

import tinygrad_reg as tg
import tinygrad_reg.nn.functional as F
from tinygrad_reg.testing import strategies as S

FEW = None if os.environ.get("HYPOTHESIS_PROFILE") == "deep" else 10


def _softmax(z):
    dead = np.isneginf(z).all(-1, keepdims=True)  # PyTorch 2.13: a fully masked row -> 0
    z = np.where(dead, 0.0, z)
    e = np.exp(z - z.max(-1, keepdims=True))
    return np.where(dead, 0.0, e / e.sum(-1, keepdims=True))


def _ref(q, k, v, mask=None, causal=False, scale=None, groups=1):
    if groups > 1:
        k, v = np.repeat(k, groups, axis=-3), np.repeat(v, groups, axis=-3)
    s = (1 / np.sqrt(q.shape[-1]) if scale is None else scale)
    z = q @ np.swapaxes(k, -1, -2) * s
    if causal:
        mask = np.tril(np.ones(z.shape[-2:], dtype=bool))
    if mask is not None:
        z = np.where(mask, z, -np.inf) if mask.dtype == bool else z + mask
    return _softmax(z) @ v


@st.composite
def attention_inputs(draw, kind):
    heads = draw(st.integers(1, 2))
    groups = draw(st.integers(1, 2)) if kind == "gqa" else 1
    L, S_, E, Ev = (draw(st.integers(1, 3)) for _ in range(4))
    q = draw(S.tensors((2, heads * groups, L, E)))
    k, v = draw(S.tensors((2, heads, S_, E))), draw(S.tensors((2, heads, S_, Ev)))
    if kind == "float_mask":
        return q, k, v, draw(S.tensors((L, S_), requires_grad=False))
    if kind in ("bool_mask", "dead_rows"):
        mask = draw(S.tensors((L, S_), dtype=bool))
        if kind == "bool_mask":
            mask.numpy()[:, 0] = True  # (every query attends to something)
        return q, k, v, mask
    return q, k, v, groups


CASES = [
    ("plain", lambda q, k, v, g: F.scaled_dot_product_attention(q, k, v),
     lambda q, k, v, g: _ref(q, k, v)),
    ("causal_scaled", lambda q, k, v, g: F.scaled_dot_product_attention(
        q, k, v, is_causal=True, scale=0.7), lambda q, k, v, g: _ref(q, k, v, causal=True,
                                                                      scale=0.7)),
    ("float_mask", lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m),
     lambda q, k, v, m: _ref(q, k, v, m)),
    ("bool_mask", lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m),
     lambda q, k, v, m: _ref(q, k, v, m)),
    ("dead_rows", lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m),
     lambda q, k, v, m: _ref(q, k, v, m)),
    ("gqa", lambda q, k, v, g: F.scaled_dot_product_attention(q, k, v, enable_gqa=True),
     lambda q, k, v, g: _ref(q, k, v, groups=g)),
]


@pytest.mark.parametrize("name, op, ref", CASES, ids=[c[0] for c in CASES])
def test_attention(name, op, ref):
    kind = name if name in ("float_mask", "bool_mask", "dead_rows", "gqa") else "plain"
    tg.testing.check_op(op, attention_inputs(kind), ref=ref, out_shape=None, name=name,
                        max_examples=FEW)


def test_attention_refusals_and_dropout():
    q = k = v = tg.ones(1, 2, 3, 4)
    with pytest.raises(RuntimeError, match="attn_mask or is_causal"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=tg.ones(3, 3), is_causal=True)
    with pytest.raises(RuntimeError, match="multiple of"):
        F.scaled_dot_product_attention(tg.ones(1, 3, 3, 4), k, v, enable_gqa=True)
    with pytest.raises(RuntimeError):  # heads that do not match without enable_gqa
        F.scaled_dot_product_attention(tg.ones(1, 3, 3, 4), tg.ones(1, 2, 3, 4), v)
    # dropout keeps the expected value: with p = 0.5 each weight is 0 or doubled
    gen = np.random.default_rng(0)
    out = F.scaled_dot_product_attention(tg.zeros(1, 1, 200, 4), tg.zeros(1, 1, 8, 4),
                                         tg.ones(1, 1, 8, 1), dropout_p=0.5, generator=gen)
    assert set(np.round(out.numpy().ravel() * 8, 6)) <= set(range(0, 17, 2))
    assert 0.8 < out.numpy().mean() < 1.2


def test_a_fully_masked_row_gives_zeros_and_finite_gradients_as_pytorch_2_13():
    # PyTorch 2.13's F.scaled_dot_product_attention (its _safe_softmax): a query that may
    # attend to nothing gets zero weights, hence a zero output row and zero gradient
    def inp(phase):
        x = np.sin(np.arange(6) * 0.37 + phase).reshape(1, 3, 2) * 1.5
        return tg.tensor(x, requires_grad=True)

    q, k, v = inp(0.1), inp(0.7), inp(1.9)
    mask = tg.tensor([[True, False, False], [False, False, False], [True, True, False]])
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    out.sum().backward()
    pinned = {  # PyTorch 2.13, rounded to 15 decimals
        "out": [[[1.419450131531122, 1.14803242879388], [0.0, 0.0],
                 [0.954174843379496, 0.514166113892122]]],
        "q": [[[0.0, 0.0], [0.0, 0.0], [-0.135056765095926, -0.036687596936376]]],
        "k": [[[0.388926356141649, 0.361312219796396],
               [-0.388926356141649, -0.361312219796396], [0.0, 0.0]]],
        "v": [[[1.333622906311618, 1.333622906311618], [0.666377093688382, 0.666377093688382],
               [0.0, 0.0]]],
    }
    for got, key in [(out, "out"), (q.grad, "q"), (k.grad, "k"), (v.grad, "v")]:
        np.testing.assert_allclose(got.numpy(), pinned[key], rtol=1e-13, atol=1e-14)
    assert out.numpy()[0, 1].tolist() == [0.0, 0.0]
