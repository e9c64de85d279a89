"""nn.TransformerDecoderLayer, nn.TransformerDecoder and nn.Transformer against PyTorch 2.13:
state_dict keys (PyTorch's, in its order), outputs and gradients with the same weights
(float64, eval mode, dropout 0), post-norm and norm_first, batch_first and sequence-first,
unbatched inputs, the causal mask helper, PyTorch's initial values, gradients against finite
differences, and bad shapes refused with messages.

tests/data/torch_transformer_decoder.npz holds, per case, a state_dict drawn from numpy
(``<case>.state.<key>``) and what PyTorch computed with it loaded: the output and the
gradients of sum(out · cos(0.91 i)) with respect to the inputs and some parameters. The
inputs are ``inp`` below; the masks are written out in each test."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import tinygrad_reg as tg
from tinygrad_reg import nn

DATA = np.load(Path(__file__).parent / "data" / "torch_transformer_decoder.npz")


def inp(shape, phase, requires_grad=True):
    x = np.sin(np.arange(int(np.prod(shape))) * 0.37 + phase).reshape(shape) * 1.5
    return tg.tensor(x, requires_grad=requires_grad)


def cot(t):
    return tg.tensor(np.cos(np.arange(t.numel()) * 0.91).reshape(t.shape))


def torch_state(case):
    prefix = f"{case}.state."
    return {k[len(prefix):]: DATA[k] for k in DATA.files if k.startswith(prefix)}


def close(actual, key):
    np.testing.assert_allclose(np.asarray(actual), DATA[key], rtol=1e-10, atol=1e-12,
                               err_msg=key)


def causal(n):
    return nn.Transformer.generate_square_subsequent_mask(n, dtype=np.float64)


def test_the_causal_mask_is_pytorchs():
    m = nn.Transformer.generate_square_subsequent_mask(3)
    assert m.dtype == np.float32 and not m.requires_grad
    np.testing.assert_array_equal(m.numpy(), DATA["mask3"])  # 0 on/below, -inf above
    assert causal(0).shape == (0, 0)
    with pytest.raises(ValueError, match=r"generate_square_subsequent_mask: sz must be an int "
                                         r">= 0, got -1"):
        nn.Transformer.generate_square_subsequent_mask(-1)


@pytest.mark.parametrize("case,kw,batch_first", [
    ("dec_post", dict(activation="relu"), False),
    ("dec_pre", dict(activation="gelu", norm_first=True), True)])
def test_decoder_matches_pytorch_outputs_and_gradients(case, kw, batch_first):
    layer = nn.TransformerDecoderLayer(4, 2, dim_feedforward=6, dropout=0.0,
                                       batch_first=batch_first, dtype=np.float64, **kw)
    dec = nn.TransformerDecoder(layer, 2, norm=nn.LayerNorm(4, dtype=np.float64))
    state = torch_state(case)
    assert list(dec.state_dict()) == list(state)  # PyTorch's keys, in PyTorch's order
    dec.load_state_dict(state)  # strict
    dec.eval()
    tgt = inp((2, 3, 4) if batch_first else (3, 2, 4), 0.3)
    mem = inp((2, 5, 4) if batch_first else (5, 2, 4), 1.1)
    tkpm = tg.tensor([[False, False, True], [False, False, False]])
    mkpm = tg.tensor([[False, True, False, False, True], [False] * 5])
    mmask = tg.tensor(np.sin(np.arange(15) * 0.53).reshape(3, 5) * 0.7)
    y = dec(tgt, mem, tgt_mask=causal(3), memory_mask=mmask, tgt_key_padding_mask=tkpm,
            memory_key_padding_mask=mkpm, tgt_is_causal=True)
    close(y.numpy(), f"{case}.out")
    (y * cot(y)).sum().backward()
    close(tgt.grad.numpy(), f"{case}.gtgt")
    close(mem.grad.numpy(), f"{case}.gmem")
    close(dec.layers[0].multihead_attn.in_proj_weight.grad.numpy(), f"{case}.g_cross_in")
    close(dec.layers[1].self_attn.out_proj.weight.grad.numpy(), f"{case}.g_self_out")
    close(dec.layers[1].norm3.weight.grad.numpy(), f"{case}.g_n3")
    close(dec.layers[0].linear1.weight.grad.numpy(), f"{case}.g_l1")
    close(dec.norm.weight.grad.numpy(), f"{case}.g_norm")


def full_model():
    m = nn.Transformer(d_model=4, nhead=2, num_encoder_layers=1, num_decoder_layers=2,
                       dim_feedforward=6, dropout=0.0, batch_first=True, dtype=np.float64)
    state = torch_state("full")
    assert list(m.state_dict()) == list(state)
    m.load_state_dict(state)
    return m.eval()


def test_the_encoder_decoder_matches_pytorch():
    m = full_model()
    src, tgt = inp((2, 5, 4), 0.9), inp((2, 3, 4), 2.1)
    skpm = tg.tensor([[False, False, False, True, True], [False] * 5])
    y = m(src, tgt, tgt_mask=causal(3), src_key_padding_mask=skpm,
          memory_key_padding_mask=skpm, tgt_is_causal=True)
    assert y.shape == (2, 3, 4)
    close(y.numpy(), "full.out")
    (y * cot(y)).sum().backward()
    close(src.grad.numpy(), "full.gsrc")
    close(tgt.grad.numpy(), "full.gtgt")
    close(m.encoder.layers[0].self_attn.in_proj_weight.grad.numpy(), "full.g_enc_in")
    close(m.decoder.layers[1].multihead_attn.in_proj_weight.grad.numpy(), "full.g_dec_cross")
    y1 = m(inp((5, 4), 0.2), inp((3, 4), 0.6), tgt_mask=causal(3))  # unbatched
    close(y1.numpy(), "full.out_unbatched")


def test_pytorchs_defaults_and_initial_values():
    m = nn.Transformer(d_model=8, nhead=2, num_encoder_layers=2, num_decoder_layers=1,
                       dim_feedforward=12, generator=np.random.default_rng(0))
    assert len(m.encoder.layers) == 2 and len(m.decoder.layers) == 1
    assert isinstance(m.encoder.norm, nn.LayerNorm) and isinstance(m.decoder.norm, nn.LayerNorm)
    layer = m.decoder.layers[0]
    assert layer.dropout.p == 0.1 and layer.self_attn.dropout == 0.1 and not layer.norm_first
    # every parameter with more than one dim is re-drawn xavier-uniform, as PyTorch's
    for name, p in m.named_parameters():
        if p.ndim > 1:
            bound = np.sqrt(6 / sum(p.shape))
            assert bound * 0.7 < np.abs(p.numpy()).max() <= bound, name
    # the encoder's layers start equal (deep copies), then are re-drawn apart
    a, b = m.encoder.layers[0].linear1.weight, m.encoder.layers[1].linear1.weight
    assert not np.array_equal(a.numpy(), b.numpy())
    assert not layer.multihead_attn.in_proj_bias.numpy().any()
    assert np.array_equal(layer.norm3.weight.numpy(), np.ones(8, np.float32))
    d = nn.Transformer()
    assert (d.d_model, d.nhead, len(d.encoder.layers), len(d.decoder.layers)) == (512, 8, 6, 6)
    assert d.encoder.layers[0].linear1.weight.shape == (2048, 512) and not d.batch_first


def test_custom_encoder_and_decoder_are_used_as_given():
    enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(4, 2, 6, 0.0), 1)
    m = nn.Transformer(4, 2, dim_feedforward=6, dropout=0.0, custom_encoder=enc,
                       num_decoder_layers=1)
    assert m.encoder is enc and len(m.decoder.layers) == 1
    assert m(tg.randn(5, 2, 4), tg.randn(3, 2, 4)).shape == (3, 2, 4)


def test_gradients_against_finite_differences():
    gen = np.random.default_rng(0)
    layer = nn.TransformerDecoderLayer(4, 2, dim_feedforward=5, dropout=0.0, dtype=np.float64,
                                       activation="gelu", generator=gen, norm_first=True)
    tgt = tg.tensor(gen.standard_normal((3, 2, 4)), requires_grad=True)
    mem = tg.tensor(gen.standard_normal((4, 2, 4)), requires_grad=True)
    kpm = tg.tensor([[False, True, False, False], [False] * 4])
    assert tg.testing.gradcheck(
        lambda t, m: layer(t, m, tgt_mask=causal(3), memory_key_padding_mask=kpm), [tgt, mem])
    assert tg.testing.gradgradcheck(lambda t, m: layer(t, m, tgt_mask=causal(3)), [tgt, mem])


def test_dropout_acts_only_while_training():
    layer = nn.TransformerDecoderLayer(4, 2, 6, dropout=0.5, generator=np.random.default_rng(1))
    t, m = tg.randn(3, 2, 4), tg.randn(5, 2, 4)
    layer.eval()
    np.testing.assert_array_equal(layer(t, m).numpy(), layer(t, m).numpy())
    layer.train()
    assert not np.array_equal(layer(t, m).numpy(), layer(t, m).numpy())


@pytest.mark.parametrize("call,words", [
    (lambda m: m(tg.randn(5, 2, 4), tg.randn(3, 3, 4)),
     r"Transformer: the batch number of src and tgt must be equal, got shapes \(5, 2, 4\) "
     r"and \(3, 3, 4\)"),
    (lambda m: m(tg.randn(5, 2, 4), tg.randn(3, 2, 6)),
     r"Transformer: the feature number of src and tgt must be equal to d_model=4"),
    (lambda m: m(tg.randn(5, 2, 4), tg.randn(3, 4)),
     r"Transformer: src and tgt must both be batched"),
])
def test_bad_shapes_are_refused_with_messages(call, words):
    m = nn.Transformer(4, 2, 1, 1, 6, 0.0)
    with pytest.raises(ValueError, match=words):
        call(m)


def test_bad_layers_are_refused():
    with pytest.raises(ValueError, match=r"TransformerDecoder: the layer must be a Module"):
        nn.TransformerDecoder("layer", 2)
    with pytest.raises(ValueError, match=r"TransformerDecoder: num_layers must be an int >= 0"):
        nn.TransformerDecoder(nn.TransformerDecoderLayer(4, 2, 6), 1.5)
    with pytest.raises(ValueError, match=r"TransformerDecoderLayer: activation should be "
                                         r"relu/gelu, not tanh"):
        nn.TransformerDecoderLayer(4, 2, activation="tanh")
