"""The packed self-attention node (tinygrad_reg/ops/attention.py): values against a per-head
numpy reference, gradients to second order (float64, central differences) with and without a
mask, fully masked rows, the fast row reductions it is built on, and that multi-head
self-attention takes it and gives the composite form's values."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import strategies as st

import tinygrad_reg as tg
from tinygrad_reg import nn
from tinygrad_reg.ops.attention import PackedAttentionBackward, packed_attention, row_max, row_sum
from tinygrad_reg.testing import check_op
from tinygrad_reg.testing.strategies import arrays


def reference(x, heads, scale, mask=None):
    """Per head and per batch row, in float64 loops: softmax(q kᵀ · scale, masked) v."""
    n, length, e3 = x.shape
    e = e3 // 3
    d = e // heads
    out = np.zeros((n, length, e))
    for b in range(n):
        for h in range(heads):
            q, k, v = (x[b, :, i * e + h * d:i * e + (h + 1) * d] for i in range(3))
            s = q @ k.T * scale
            if mask is not None:
                s = np.where(np.broadcast_to(mask, (n, heads, length, length))[b, h], -np.inf, s)
            for i in range(length):
                if np.all(s[i] == -np.inf):
                    continue  # every key masked: zeros
                p = np.exp(s[i] - s[i].max())
                out[b, i, h * d:(h + 1) * d] = p / p.sum() @ v
    return out


@st.composite
def attention_case(draw, masked):
    n, length = draw(st.integers(1, 2)), draw(st.integers(1, 4))
    heads, d = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    x = tg.tensor(draw(arrays((n, length, 3 * heads * d))), requires_grad=True)
    scale = draw(st.sampled_from([1.0, 0.5, 0.7]))
    if not masked:
        return x, heads, scale
    mask = np.array(draw(st.lists(st.booleans(), min_size=length * length,
                                  max_size=length * length))).reshape(length, length)
    return x, heads, scale, tg.tensor(mask)


@pytest.mark.parametrize("masked", [False, True])
def test_packed_attention_values_and_gradients_to_second_order(masked):
    def ref(x, heads, scale, mask=None):
        return reference(x, heads, scale, mask)
    check_op(packed_attention, attention_case(masked), ref=ref, out_shape=None,
             name=f"packed_attention_{'masked' if masked else 'plain'}")


def test_a_fully_masked_row_gives_zeros_and_no_nan_gradient():
    rng = np.random.default_rng(0)
    x = tg.tensor(rng.standard_normal((2, 3, 6)), requires_grad=True)
    mask = tg.tensor(np.array([[True, True, True], [False, True, True], [False, False, True]]))
    out = packed_attention(x, 1, 0.5, mask)
    assert np.all(out.numpy()[:, 0] == 0.0)
    np.testing.assert_allclose(out.numpy(), reference(x.numpy(), 1, 0.5, mask.numpy()),
                               rtol=1e-12, atol=1e-15)
    out.sum().backward()
    g = x.grad.numpy()
    assert np.all(np.isfinite(g))
    assert np.all(g[:, 0, :2] == 0.0)  # the dead query row
    assert np.all(g[:, 2, 2:] == 0.0)  # key and value 2, which no query attends to


def test_the_row_reductions_are_numpys():
    rng = np.random.default_rng(3)
    for shape in [(5, 1), (4, 7), (3, 2, 32), (2, 33)]:
        a = rng.standard_normal(shape).astype(np.float32)
        assert np.array_equal(row_max(a), a.max(-1, keepdims=True))
        np.testing.assert_allclose(row_sum(a), a.sum(-1, keepdims=True), rtol=1e-5, atol=1e-6)
    a = np.array([[1.0, np.nan, 2.0], [-np.inf, -np.inf, -np.inf]])
    m = row_max(a)
    assert np.isnan(m[0, 0]) and m[1, 0] == -np.inf


@pytest.mark.parametrize("masked", [False, True])
def test_self_attention_takes_the_packed_node_and_gives_the_composite_values(masked):
    rng = np.random.default_rng(5)
    mha = nn.MultiheadAttention(8, 2, batch_first=True, generator=np.random.default_rng(1))
    mha.double()
    x = tg.tensor(rng.standard_normal((3, 5, 8)), requires_grad=True)
    mask = tg.ones(5, 5, dtype=bool).triu(1) if masked else None
    fast, none = mha(x, x, x, attn_mask=mask, need_weights=False)
    assert none is None and fast.grad_fn.inputs[0].grad_fn.name == "PackedAttention"
    slow, _ = mha(x, x, x, attn_mask=mask, need_weights=True)  # the composite form
    np.testing.assert_allclose(fast.numpy(), slow.numpy(), rtol=1e-12, atol=1e-14)
    g = rng.standard_normal(fast.shape)
    (ga,) = tg.autograd.grad(fast, x, tg.tensor(g))
    (gb,) = tg.autograd.grad(slow, x, tg.tensor(g))
    np.testing.assert_allclose(ga.numpy(), gb.numpy(), rtol=1e-11, atol=1e-13)


def test_the_first_order_kernel_refuses_to_be_differentiated():
    rng = np.random.default_rng(0)
    x = tg.tensor(rng.standard_normal((1, 2, 6)), requires_grad=True)
    with pytest.raises(RuntimeError, match="first-order kernel"):
        PackedAttentionBackward.backward(None, None)
    out = packed_attention(x, 1, 1.0)
    (g,) = tg.autograd.grad(out.sum(), x, create_graph=True)
    assert g.requires_grad  # the Tensor-op form, differentiable again


@pytest.mark.parametrize("dynamic_batch", [True, False])
def test_self_attention_with_a_fully_masked_row_exports_to_onnx(tmp_path, dynamic_batch):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    mask = np.zeros((4, 4), bool)
    mask[1] = True  # query 1 sees no key: its weights are zeros, not nan
    mask[2, 3] = True

    class SelfAttention(nn.Module):
        def __init__(self):
            super().__init__()
            self.mha = nn.MultiheadAttention(6, 2, batch_first=True,
                                             generator=np.random.default_rng(2))

        def forward(self, x):
            return self.mha(x, x, x, attn_mask=tg.tensor(mask), need_weights=False)[0]

    model = SelfAttention().eval()
    x = tg.randn(3, 4, 6, generator=np.random.default_rng(4))
    tg.onnx.export(model, (x,), tmp_path / "mha.onnx", dynamic_batch=dynamic_batch)
    sess = ort.InferenceSession(str(tmp_path / "mha.onnx"))
    got = sess.run(None, {sess.get_inputs()[0].name: x.numpy()})[0]
    want = model(x).numpy()
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_bad_shapes_and_masks_are_refused_with_the_shape():
    with pytest.raises(tg.errors.ShapeError, match=r"\(2, 3, 8\)"):
        packed_attention(tg.zeros(2, 3, 8), 2, 1.0)
    with pytest.raises(tg.errors.DTypeError, match="bool"):
        packed_attention(tg.zeros(2, 3, 6), 1, 1.0, tg.zeros(3, 3))
