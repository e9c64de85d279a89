"""Graphs say what a PyTorch user wrote: masked_fill, contiguous, split/chunk pieces, a tied
parameter drawn once under all its names; the renamed ops still export and replay."""

from __future__ import annotations

import re

import numpy as np

import tinygrad_reg as tg
from tinygrad_reg import nn, viz


def labels(dot: str) -> list[str]:
    return [s.replace("\\n", "\n") for s in
            re.findall(r'^\t+n\d+ \[label="((?:[^"\\]|\\.)*)"', dot, re.M)]


def test_masked_fill_contiguous_and_chunk_keep_their_names():
    x = tg.Tensor(np.arange(12.0).reshape(3, 4), requires_grad=True, name="x")
    a, b = x.chunk(3, dim=1)  # 4 columns in 3 chunks: ceil(4/3) = 2 each, so 2 pieces
    y = x.masked_fill(x > 5, 0.0).mT.contiguous()
    q, k = x.split([1, 2], dim=0)
    out = y.sum() + a.sum() + b.sum() + q.sum() + k.sum()
    firsts = [s.split("\n")[0] for s in labels(viz.to_dot(out))]
    assert "MaskedFill" in firsts and "Where" not in firsts
    assert "Contiguous" in firsts and "Clone" not in firsts
    assert {"chunk 1/2 dim=1", "chunk 2/2 dim=1", "split 1/2 dim=0", "split 2/2 dim=0"} <= \
        set(firsts)
    assert not any(f.startswith("GetItem") for f in firsts)
    out.backward()  # y passes 1 where x <= 5; each chunk and each split piece adds 1
    np.testing.assert_array_equal(x.grad.numpy(), [[3, 3, 3, 3], [3, 3, 2, 2], [2, 2, 2, 2]])


def test_tg_where_stays_where():
    x = tg.Tensor(np.ones(3), requires_grad=True)
    assert "Where" in viz.to_dot(tg.where(x > 0, x, 0.0).sum())


class TiedLM(nn.Module):
    def __init__(self):
        super().__init__()
        gen = np.random.default_rng(0)
        self.wte = nn.Embedding(10, 4)
        self.lm_head = nn.Linear(4, 10, bias=False, generator=gen)
        self.lm_head.weight = self.wte.weight  # tied, as GPT-2

    def forward(self, idx):
        return self.lm_head(self.wte(idx))


def test_a_tied_parameter_is_drawn_once_under_both_names():
    model = TiedLM()
    out = model(tg.Tensor(np.array([[1, 2, 3]]), name="idx")).sum()
    out.backward()
    for collapse in (False, True):
        dot = viz.to_dot(out, params=model, collapse_modules=collapse)
        tied = [s for s in labels(dot) if "wte.weight" in s]
        assert len(tied) == 1
        assert tied[0].startswith("wte.weight\nlm_head.weight\ntied: one tensor, 2 names\n"
                                  "(10, 4) float32\n‖grad‖ = ")
        assert "peripheries=2" in dot and "tied parameter (several names)" in dot
    # drawn with a dict of names, too
    dot = viz.to_dot(out, params={"a": model.wte.weight, "b": model.lm_head.weight})
    assert any(s.startswith("a\nb\ntied: one tensor, 2 names") for s in labels(dot))
    # folded into the one collapsed call that reads it both times
    whole = labels(viz.to_dot(out, params=model, collapse_modules=1))
    assert not any("wte.weight" in s for s in whole)
    assert "TiedLM\nEmbedding · Linear\n40 params\n(1, 3, 10) float32" in whole


def test_an_untied_parameter_has_one_name():
    model = TiedLM()
    model.lm_head.weight = nn.Parameter(np.zeros((10, 4), dtype=np.float32))
    out = model(tg.Tensor(np.array([[1]]))).sum()
    assert "tied" not in viz.to_dot(out, params=model)


def _training(seed: int = 0):
    """A step that uses masked_fill, chunk and contiguous, and its parameter."""
    w = tg.Tensor(np.random.default_rng(seed).standard_normal((4, 6)), requires_grad=True)
    opt = tg.optim.SGD([w], lr=0.1)

    def step(x):
        opt.zero_grad()
        a, b, c = (x @ w).chunk(3, dim=1)
        loss = (a.masked_fill(a > 0.5, 0.0) * b.mT.contiguous().mT + c).sum()
        loss.backward()
        opt.step()
        return loss

    return step, w


def test_the_renamed_ops_replay_under_jit():
    xs = [tg.tensor(np.random.default_rng(k).standard_normal((5, 4))) for k in range(4)]
    eager, w1 = _training()
    jitted, w2 = _training()
    run = tg.jit(jitted)
    assert [run(x).item() for x in xs] == [eager(x).item() for x in xs]
    assert w1.numpy().tobytes() == w2.numpy().tobytes()
    assert run.replays == 2
