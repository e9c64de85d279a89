"""tg.jit on a small GPT training step (pre-norm transformer blocks with the exact GELU, a
causal mask, AdamW and clip_grad_norm_): the replay is bit-for-bit the eager step, and it
writes the heavy ops (the exact GELU and its gradient, the dense layers and batched
products, layer norm and its gradient, the packed self-attention and its gradient) into
reused buffers instead of calling their
allocating forwards."""

from __future__ import annotations

import numpy as np
import pytest
from test_jit_cnn import unlowered

import tinygrad_reg as tg
from tinygrad_reg import nn
from tinygrad_reg.nn import functional as F

VOCAB, CONTEXT, WIDTH = 11, 8, 16


class TinyGPT(nn.Module):
    def __init__(self, gen: np.random.Generator) -> None:
        super().__init__()
        self.tok = nn.Embedding(VOCAB, WIDTH)
        self.pos = nn.Embedding(CONTEXT, WIDTH)
        block = nn.TransformerEncoderLayer(WIDTH, 2, 2 * WIDTH, 0.0, activation="gelu",
                                           batch_first=True, norm_first=True, generator=gen)
        self.blocks = nn.TransformerEncoder(block, 2, norm=nn.LayerNorm(WIDTH))
        self.head = nn.Linear(WIDTH, VOCAB, bias=False, generator=gen)
        self.causal = tg.ones(CONTEXT, CONTEXT, dtype=bool).triu(1)

    def forward(self, idx):
        x = self.tok(idx) + self.pos(tg.arange(idx.shape[1]))
        return self.head(self.blocks(x, mask=self.causal))


def gpt_step(model):
    params = list(model.parameters())
    opt = tg.optim.AdamW([{"params": [p for p in params if p.ndim >= 2]},
                          {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0}],
                         lr=1e-2, weight_decay=0.1)

    def step(idx, targets):
        opt.zero_grad()
        loss = F.cross_entropy(model(idx).reshape(-1, VOCAB), targets.reshape(-1))
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss

    return step


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gpt_adamw_steps_replay_bitwise_and_the_heavy_ops_are_lowered(dtype):
    rng = np.random.default_rng(1)
    data = [rng.integers(0, VOCAB, (4, CONTEXT + 1)) for _ in range(5)]
    models = []
    for _ in range(2):
        tg.manual_seed(0)
        m = TinyGPT(np.random.default_rng(0))
        models.append(m.to(dtype=dtype) if dtype is np.float64 else m)
    eager, jitted = gpt_step(models[0]), tg.jit(gpt_step(models[1]))
    for seq in data:
        args = tg.tensor(seq[:, :-1]), tg.tensor(seq[:, 1:])
        assert eager(*args).numpy().tobytes() == jitted(*args).numpy().tobytes()
    for (name, p), q in zip(models[0].named_parameters(), models[1].parameters()):
        assert p.numpy().tobytes() == q.numpy().tobytes(), name
    assert jitted.replays == 3
    slow = set(unlowered(jitted.code))
    heavy = ["Linear", "MatMul", "LayerNorm", "NormalizeBackward", "PackedAttention",
             "PackedAttentionBackward", "LinearWeightGrad", "SumTo"]
    if dtype is np.float32:  # (float64's GELU calls scipy's erf: a forward of its own)
        heavy += ["GELU", "GELUBackward"]
    for name in heavy:
        assert name not in slow, (name, sorted(slow))
