"""nn.MultiheadAttention, nn.TransformerEncoderLayer and nn.TransformerEncoder against
PyTorch 2.13: state_dict keys and shapes, outputs, attention weights and gradients with
PyTorch's own weights loaded strictly (float64, eval mode, dropout 0), mask polarity (True =
masked OUT, the opposite of F.scaled_dot_product_attention), fully masked rows, gradients
against finite differences, and bad shapes refused with messages.

tests/data/torch_transformer.npz holds, per case, PyTorch's state_dict (``<case>.state.<key>``)
and what PyTorch computed: outputs, weights, and the gradients of
sum(out · cos(0.91 i)) (+ the same of the weights) with respect to the inputs and some
parameters. The inputs are ``inp`` below; the masks are written out in each test."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import strategies as st

import tinygrad_reg as tg
from tinygrad_reg import nn
from tinygrad_reg.testing import strategies as S

FEW = None if os.environ.get("HYPOTHESIS_PROFILE") == "deep" else 10

DATA = np.load(Path(__file__).parent / "data" / "torch_transformer.npz")


def inp(shape, phase, requires_grad=True):
    x = np.sin(np.arange(int(np.prod(shape))) * 0.37 + phase).reshape(shape) * 1.5
    return tg.tensor(x, requires_grad=requires_grad)


def cot(t):
    return tg.tensor(np.cos(np.arange(t.numel()) * 0.91).reshape(t.shape))


def torch_state(case):
    prefix = f"{case}.state."
    return {k[len(prefix):]: DATA[k] for k in DATA.files if k.startswith(prefix)}


def close(actual, case_key):
    np.testing.assert_allclose(np.asarray(actual), DATA[case_key], rtol=1e-10, atol=1e-12,
                               err_msg=case_key)


def mha(case, **kw):
    m = nn.MultiheadAttention(4, 2, dtype=np.float64, **kw)
    m.load_state_dict(torch_state(case))  # strict: PyTorch's keys and shapes
    return m.eval()


def test_state_dict_keys_shapes_and_pytorchs_initial_values():
    m = nn.MultiheadAttention(6, 3, generator=np.random.default_rng(0))
    shapes = {k: tuple(v.shape) for k, v in m.state_dict().items()}
    assert shapes == {"in_proj_weight": (18, 6), "in_proj_bias": (18,),
                      "out_proj.weight": (6, 6), "out_proj.bias": (6,)}
    assert not m.in_proj_bias.numpy().any() and not m.out_proj.bias.numpy().any()
    a = np.sqrt(6 / (6 + 18))  # xavier_uniform on (3E, E), as PyTorch
    w = m.in_proj_weight.numpy()
    assert np.abs(w).max() <= a and np.abs(w).max() > 0.9 * a
    assert np.abs(m.out_proj.weight.numpy()).max() <= 1 / np.sqrt(6)  # Linear's default
    assert m.in_proj_weight.dtype == np.float32 and m.head_dim == 2
    assert nn.MultiheadAttention(4, 2, bias=False).state_dict().keys() == {
        "in_proj_weight", "out_proj.weight"}


def test_cross_attention_with_a_float_mask_and_key_padding_matches_pytorch():
    m = mha("cross")
    q, k, v = inp((3, 2, 4), 0.1), inp((5, 2, 4), 0.7), inp((5, 2, 4), 1.9)
    am = inp((3, 5), 2.3, requires_grad=False) * 0.5
    kpm = tg.tensor([[False, False, True, False, True], [False] * 5])
    out, w = m(q, k, v, key_padding_mask=kpm, attn_mask=am)
    assert out.shape == (3, 2, 4) and w.shape == (2, 3, 5)
    close(out.numpy(), "cross.out")
    close(w.numpy(), "cross.weights")
    assert (w.numpy()[0][:, [2, 4]] == 0).all()  # padded keys get no weight
    ((out * cot(out)).sum() + (w * cot(w)).sum()).backward()
    for t, key in [(q, "gq"), (k, "gk"), (v, "gv"), (m.in_proj_weight, "gw"),
                   (m.in_proj_bias, "gb"), (m.out_proj.weight, "gow")]:
        close(t.grad.numpy(), f"cross.{key}")


def test_self_attention_batch_first_with_a_per_head_bool_mask_matches_pytorch():
    m = mha("self3d", batch_first=True)
    x = inp((2, 3, 4), 0.4)
    am = np.array([[[False, True, False], [False, False, True], [True, False, False]]] * 4)
    am[1, 0, 0] = True  # (batch 0, head 1): query 0 sees key 2 only
    out, w = m(x, x, x, attn_mask=tg.tensor(am), average_attn_weights=False)
    assert w.shape == (2, 2, 3, 3)
    close(out.numpy(), "self3d.out")
    close(w.numpy(), "self3d.weights")
    assert w.numpy()[0, 1, 0].tolist() == [0.0, 0.0, 1.0]
    ((out * cot(out)).sum() + (w * cot(w)).sum()).backward()
    close(x.grad.numpy(), "self3d.gx")


def test_unbatched_inputs_match_pytorch():
    m = mha("unbatched")
    x = inp((3, 4), 0.9, requires_grad=False)
    out, w = m(x, x, x, key_padding_mask=tg.tensor([False, True, False]))
    assert out.shape == (3, 4) and w.shape == (3, 3)
    close(out.numpy(), "unbatched.out")
    close(w.numpy(), "unbatched.weights")


def test_a_fully_masked_row_as_pytorch_2_13():
    # need_weights=False (PyTorch's scaled_dot_product_attention path): the row gets zero
    # weights, so its output is out_proj.bias, and gradients stay finite; need_weights=True:
    # nan in that row of the output and of the weights, the other rows untouched
    m = mha("deadrow", batch_first=True).train()
    x = inp((2, 3, 4), 0.4)
    mask = tg.tensor([[False, True, True], [True, True, True], [False, False, False]])
    out, none = m(x, x, x, attn_mask=mask, need_weights=False)
    assert none is None
    close(out.numpy(), "deadrow.out")
    np.testing.assert_array_equal(out.numpy()[:, 1], np.broadcast_to(DATA["deadrow.bias"],
                                                                      (2, 4)))
    (out * cot(out)).sum().backward()
    close(x.grad.numpy(), "deadrow.gx")
    out, w = m(x, x, x, attn_mask=mask)
    np.testing.assert_array_equal(np.isnan(out.numpy()), np.isnan(DATA["deadrow_nw.out"]))
    np.testing.assert_array_equal(np.isnan(w.numpy()), np.isnan(DATA["deadrow_nw.w"]))
    assert np.isnan(w.numpy()[:, 1]).all() and not np.isnan(w.numpy()[:, [0, 2]]).any()


def test_mask_polarity_true_means_masked_out():
    m = nn.MultiheadAttention(4, 1, generator=np.random.default_rng(3), batch_first=True)
    x = tg.randn(1, 3, 4, generator=np.random.default_rng(4))
    keep_only_key_1 = tg.tensor([[True, False, True]] * 3)
    _, w = m(x, x, x, attn_mask=keep_only_key_1)
    np.testing.assert_array_equal(w.numpy()[0], [[0, 1, 0]] * 3)
    _, w = m(x, x, x, key_padding_mask=tg.tensor([[True, False, True]]))
    np.testing.assert_array_equal(w.numpy()[0], [[0, 1, 0]] * 3)
    # a float mask is added: -inf excludes, the same as True
    _, w2 = m(x, x, x, attn_mask=tg.tensor([[-np.inf, 0.0, -np.inf]] * 3))
    np.testing.assert_array_equal(w2.numpy(), w.numpy())
    # F.scaled_dot_product_attention's bool mask has the other meaning (True = attend)
    q = tg.randn(1, 3, 4, generator=np.random.default_rng(5))
    sdpa = nn.functional.scaled_dot_product_attention
    np.testing.assert_array_equal(
        sdpa(q, q, q, attn_mask=keep_only_key_1).numpy(),
        sdpa(q, q, q, attn_mask=tg.tensor([[0.0, -np.inf, 0.0]] * 3)).numpy())


@pytest.mark.parametrize("case,kw", [("post_relu", dict(activation="relu")),
                                     ("pre_gelu", dict(activation="gelu", norm_first=True))])
def test_encoder_matches_pytorch_outputs_and_gradients(case, kw):
    layer = nn.TransformerEncoderLayer(4, 2, dim_feedforward=6, dropout=0.0, batch_first=True,
                                       dtype=np.float64, **kw)
    enc = nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(4, dtype=np.float64))
    state = torch_state(case)
    assert list(enc.state_dict()) == list(state)  # PyTorch's keys, in PyTorch's order
    enc.load_state_dict(state)  # strict
    enc.eval()
    src = inp((2, 3, 4), 1.3)
    # PyTorch's nn.Transformer.generate_square_subsequent_mask(3): -inf above the diagonal
    causal = tg.tensor(np.triu(np.full((3, 3), -np.inf), 1))
    kpm = tg.tensor([[False, False, True], [False, False, False]])
    out = enc(src, mask=causal, src_key_padding_mask=kpm, is_causal=True)
    close(out.numpy(), f"{case}.out")
    (out * cot(out)).sum().backward()
    close(src.grad.numpy(), f"{case}.gsrc")
    close(enc.layers[0].self_attn.in_proj_weight.grad.numpy(), f"{case}.g_in")
    close(enc.layers[1].linear1.weight.grad.numpy(), f"{case}.g_l1")
    close(enc.layers[0].norm1.weight.grad.numpy(), f"{case}.g_n1")


def test_encoder_layers_are_deep_copies_with_the_same_start():
    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16)
    enc = nn.TransformerEncoder(layer, 3)
    a, b = enc.layers[0].linear1.weight, enc.layers[2].linear1.weight
    assert a is not b and a is not layer.linear1.weight
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert len(list(enc.parameters())) == 3 * 12
    # the defaults are PyTorch's: 2048 hidden units, dropout 0.1, relu, post-norm
    d = nn.TransformerEncoderLayer(4, 2)
    assert d.linear1.weight.shape == (2048, 4) and d.dropout.p == 0.1 and not d.norm_first
    assert d.norm1.eps == 1e-5 and d.self_attn.dropout == 0.1


def test_gradients_against_finite_differences():
    gen = np.random.default_rng(0)
    m = nn.MultiheadAttention(4, 2, dtype=np.float64, generator=gen)
    kpm = tg.tensor([[False, True, False]])
    am = tg.tensor(gen.standard_normal((2, 3)))
    q = tg.tensor(gen.standard_normal((2, 1, 4)), requires_grad=True)
    k = tg.tensor(gen.standard_normal((3, 1, 4)), requires_grad=True)
    v = tg.tensor(gen.standard_normal((3, 1, 4)), requires_grad=True)
    assert tg.testing.gradcheck(lambda q, k, v: m(q, k, v, key_padding_mask=kpm,
                                                   attn_mask=am), [q, k, v])
    assert tg.testing.gradgradcheck(lambda q, k, v: m(q, k, v, key_padding_mask=kpm,
                                                       attn_mask=am)[0], [q, k, v])
    layer = nn.TransformerEncoderLayer(4, 2, dim_feedforward=5, dropout=0.0, dtype=np.float64,
                                       activation="gelu", generator=gen, norm_first=True)
    x = tg.tensor(gen.standard_normal((3, 2, 4)), requires_grad=True)
    assert tg.testing.gradcheck(lambda x: layer(x, src_key_padding_mask=tg.tensor(
        [[False, False, True], [False, False, False]])), [x])


def test_dropout_applies_to_attention_weights_only_while_training():
    tg.manual_seed(0)
    m = nn.MultiheadAttention(4, 2, dropout=0.5, batch_first=True)
    x = tg.randn(2, 5, 4)
    _, w = m(x, x, x, average_attn_weights=False)
    assert (w.numpy() == 0).any()  # dropped weights, the kept ones scaled by 2
    m.eval()
    _, w = m(x, x, x)
    np.testing.assert_allclose(w.numpy().sum(-1), 1.0, rtol=1e-6)


@pytest.mark.parametrize("make,call,error,words", [
    (lambda: nn.MultiheadAttention(5, 2), None, ValueError, "divisible by num_heads"),
    (lambda: nn.MultiheadAttention(0, 2), None, ValueError, "greater than 0"),
    (lambda: nn.MultiheadAttention(4, 2, add_bias_kv=True), None, NotImplementedError,
     "add_bias_kv=True is not built"),
    (lambda: nn.MultiheadAttention(4, 2, kdim=3), None, NotImplementedError, "kdim/vdim"),
    (lambda: nn.TransformerEncoderLayer(4, 2, activation="tanh"), None, ValueError,
     "activation should be relu/gelu, not tanh"),
    (lambda: nn.TransformerEncoder(nn.TransformerEncoderLayer(4, 2), -1), None, ValueError,
     "num_layers must be an int >= 0"),
    (lambda: nn.MultiheadAttention(4, 2), lambda m, x: m(x, x, x[:, :, :3]), ValueError,
     "expecting embedding dimension of 4"),
    (lambda: nn.MultiheadAttention(4, 2), lambda m, x: m(x, x[:2], x), ValueError,
     "key shape (2, 2, 4) does not match value shape (3, 2, 4)"),
    (lambda: nn.MultiheadAttention(4, 2), lambda m, x: m(x[0], x, x), ValueError,
     "must all be 3-D (batched) or all 2-D"),
    (lambda: nn.MultiheadAttention(4, 2), lambda m, x: m(x, x, x, attn_mask=tg.zeros(3, 2)),
     ValueError, "the shape of the 2D attn_mask is (3, 2), but should be (3, 3)"),
    (lambda: nn.MultiheadAttention(4, 2), lambda m, x: m(x, x, x, attn_mask=tg.zeros(2, 3, 3)),
     ValueError, "the shape of the 3D attn_mask is (2, 3, 3), but should be (4, 3, 3)"),
    (lambda: nn.MultiheadAttention(4, 2),
     lambda m, x: m(x, x, x, key_padding_mask=tg.zeros(3, 2, dtype=bool)), ValueError,
     "expecting key_padding_mask shape of (2, 3)"),
    (lambda: nn.MultiheadAttention(4, 2),
     lambda m, x: m(x, x, x, key_padding_mask=tg.zeros(2, 3, dtype=np.int64)), TypeError,
     "only bool and floating types of key_padding_mask"),
    (lambda: nn.MultiheadAttention(4, 2), lambda m, x: m(x, x, x, is_causal=True),
     ValueError, "need attn_mask if specifying the is_causal hint"),
])
def test_bad_arguments_are_refused_with_messages(make, call, error, words):
    with pytest.raises(error) as info:
        m = make()
        call(m, tg.zeros(3, 2, 4))
    assert words in str(info.value)


def test_a_training_step_with_dropout_and_masks_replays_bitwise_under_jit():
    def make(jitted):
        tg.manual_seed(0)
        gen = np.random.default_rng(0)
        layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.2,
                                           batch_first=True, generator=gen)
        enc = nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(8))
        opt = tg.optim.AdamW(enc.parameters(), lr=1e-2)
        causal = tg.ones(5, 5, dtype=bool).triu(1)

        def step(x, pad):
            opt.zero_grad()
            loss = (enc(x, mask=causal, src_key_padding_mask=pad) ** 2).mean()
            loss.backward()
            nn.utils.clip_grad_norm_(enc.parameters(), 0.5)
            opt.step()
            return loss

        return enc, (tg.jit(step) if jitted else step)

    rng = np.random.default_rng(1)
    data = [(tg.tensor(rng.standard_normal((3, 5, 8)).astype(np.float32)),
             tg.tensor(rng.random((3, 5)) < 0.3)) for _ in range(5)]
    e1, eager = make(False)
    losses = [eager(*d).item() for d in data]
    e2, jitted = make(True)  # (re-seeds the package generator the dropout masks come from)
    assert losses == [jitted(*d).item() for d in data]
    assert jitted.replays == 3
    for p, q in zip(e1.parameters(), e2.parameters()):
        assert p.numpy().tobytes() == q.numpy().tobytes()


# -- F.multi_head_attention_forward as a property: every tensor's gradient, any shapes -----

def _np_mha(q, k, v, W, b, Wo, bo, h, masks, need_weights):
    """numpy reference on (L, N, E) inputs; masks: (bool True = out, or float) broadcast to
    (N, h, L, S); a row with nothing left gets zero weights unless need_weights."""
    E = q.shape[-1]
    d = E // h
    Q, K, V = (np.swapaxes(x, 0, 1) @ W[i * E:(i + 1) * E].T + b[i * E:(i + 1) * E]
               for i, x in enumerate((q, k, v)))
    Q, K, V = (x.reshape(x.shape[0], x.shape[1], h, d).transpose(0, 2, 1, 3) for x in (Q, K, V))
    z = Q @ np.swapaxes(K, -1, -2) / np.sqrt(d)
    for m in masks:
        z = np.where(m, -np.inf, z) if m.dtype == bool else z + m
    dead = np.isneginf(z).all(-1, keepdims=True) & (not need_weights)
    z = np.where(dead, 0.0, z)
    e = np.exp(z - z.max(-1, keepdims=True))
    w = np.where(dead, 0.0, e / e.sum(-1, keepdims=True))
    n, _, L, _ = w.shape
    out = (w @ V).transpose(0, 2, 1, 3).reshape(n, L, E) @ Wo.T + bo
    return (np.swapaxes(out, 0, 1), w.mean(1)) if need_weights else np.swapaxes(out, 0, 1)


@st.composite
def mha_inputs(draw, kind):
    h, d, n = draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 2))
    L, S_ = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    E = h * d
    # values in [-1, 1], the scale of real inputs and initial weights: from [-3, 3] the
    # products query·W·W·key reach scores in the hundreds, the softmax saturates, and the
    # central differences the gradients are checked against lose their digits to rounding
    ts = [draw(S.tensors(shape, low=-1.0, high=1.0))
          for shape in ((L, n, E), (S_, n, E), (S_, n, E), (3 * E, E), (3 * E,), (E, E), (E,))]
    if kind == "weights":
        am = draw(S.tensors((L, S_), low=-1.0, high=1.0, requires_grad=False))
        kpm = draw(S.tensors((n, S_), dtype=bool))
        kpm.numpy()[:, 0] = False  # (every query keeps key 0)
        return (*ts, h, am, kpm)
    am = draw(S.tensors((L, S_), dtype=bool))  # rows may be fully masked
    return (*ts, h, am, None)


def _ref_args(q, k, v, W, b, Wo, bo, h, am, kpm, need_weights):
    masks = [am] + ([] if kpm is None else [kpm[:, None, None, :]])
    return _np_mha(q, k, v, W, b, Wo, bo, h, masks, need_weights)


@pytest.mark.parametrize("kind", ["weights", "dead_rows"])
def test_multi_head_attention_forward_property(kind):
    need = kind == "weights"

    def op(q, k, v, W, b, Wo, bo, h, am, kpm):
        out = nn.functional.multi_head_attention_forward(
            q, k, v, q.shape[-1], h, W, b, None, None, False, 0.0, Wo, bo,
            key_padding_mask=kpm, need_weights=need, attn_mask=am)
        return out if need else out[0]

    tg.testing.check_op(op, mha_inputs(kind),
                        ref=lambda *a: _ref_args(*a, need_weights=need), out_shape=None,
                        name=f"multi_head_attention_forward[{kind}]", max_examples=FEW)


def test_the_functional_form_is_the_modules_and_refuses_what_is_not_built():
    m = nn.MultiheadAttention(4, 2, generator=np.random.default_rng(0))
    x = tg.randn(3, 2, 4, generator=np.random.default_rng(1))
    out, w = m(x, x, x)
    out2, w2 = nn.functional.multi_head_attention_forward(
        x, x, x, 4, 2, m.in_proj_weight, m.in_proj_bias, None, None, False, 0.0,
        m.out_proj.weight, m.out_proj.bias)
    assert np.array_equal(out.numpy(), out2.numpy()) and np.array_equal(w.numpy(), w2.numpy())
    with pytest.raises(NotImplementedError, match="bias_k, add_zero_attn are not built"):
        nn.functional.multi_head_attention_forward(
            x, x, x, 4, 2, m.in_proj_weight, m.in_proj_bias, tg.zeros(1, 1, 4), None, True,
            0.0, m.out_proj.weight, m.out_proj.bias)
    with pytest.raises(ValueError, match=r"in_proj_weight must be \(3·E, E\) = \(9, 3\)"):
        nn.functional.multi_head_attention_forward(
            x, x, x, 3, 2, m.in_proj_weight, m.in_proj_bias, None, None, False, 0.0,
            m.out_proj.weight, m.out_proj.bias)


def test_an_encoder_with_masks_exports_to_onnx(tmp_path):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")

    class Causal(nn.Module):
        def __init__(self):
            super().__init__()
            layer = nn.TransformerEncoderLayer(8, 2, 16, batch_first=True, norm_first=True,
                                               activation="gelu",
                                               generator=np.random.default_rng(0))
            self.enc = nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(8))

        def forward(self, x):
            return self.enc(x, mask=tg.ones(5, 5, dtype=bool).triu(1))

    model = Causal().eval()
    x = tg.randn(2, 5, 8, generator=np.random.default_rng(1))
    tg.onnx.export(model, (x,), tmp_path / "enc.onnx")
    sess = ort.InferenceSession(str(tmp_path / "enc.onnx"))
    got = sess.run(None, {sess.get_inputs()[0].name: x.numpy()})[0]
    np.testing.assert_allclose(got, model(x).numpy(), rtol=1e-5, atol=1e-5)
