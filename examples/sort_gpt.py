"""A tiny GPT learns to sort: minGPT's sorting task, with a decoder-only transformer built
from ``nn.TransformerEncoderLayer`` under a causal mask.

A problem is 6 digits from {0, 1, 2}; the model reads them, then writes them sorted, one token
at a time. It is trained on the 12 tokens ``digits + sorted`` shifted by one (predict token
t+1 from tokens 0..t), the loss counting only the 6 answer tokens, as in minGPT. Of the
3⁶ = 729 possible problems a fixed quarter is held out; the score is the share of held-out
problems whose 6 answer tokens, generated greedily (argmax, each fed back in), are all right.

The model (GPT-2's layout, pre-norm): token and position embeddings -> 3 blocks of
``TransformerEncoderLayer(d_model=48, nhead=3, dim_feedforward=192, activation="gelu",
norm_first=True)`` with a causal mask -> LayerNorm -> a linear head to the 3 digits.
Trained with ``AdamW`` (weight decay 0.1 on the 2-D weights only, as nanoGPT), dropout 0.1,
``clip_grad_norm_(1.0)``, batches of 64 problems.

    python examples/sort_gpt.py            # 2000 steps: held-out accuracy >= 0.99
    python examples/sort_gpt.py --jit      # the same steps through tg.jit
    python examples/sort_gpt.py --quick    # a smoke run: 150 steps

Writes results.json under --out (default runs/sort_gpt/).
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path

import numpy as np

import tinygrad_reg as tg
from tinygrad_reg import nn
from tinygrad_reg.nn import functional as F

LENGTH, DIGITS = 6, 3


class GPT(nn.Module):
    """Decoder-only transformer: embeddings, causal pre-norm blocks, final norm, head."""

    def __init__(self, vocab: int, context: int, width: int, heads: int, layers: int,
                 dropout: float, generator: np.random.Generator) -> None:
        super().__init__()
        self.tok = nn.Embedding(vocab, width)
        self.pos = nn.Embedding(context, width)
        for emb in (self.tok, self.pos):  # GPT-2's N(0, 0.02), not PyTorch's N(0, 1)
            emb.weight.data = (generator.standard_normal(emb.weight.shape) * 0.02
                               ).astype(np.float32)
        self.drop = nn.Dropout(dropout)
        block = nn.TransformerEncoderLayer(width, heads, 4 * width, dropout, activation="gelu",
                                           batch_first=True, norm_first=True,
                                           generator=generator)
        self.blocks = nn.TransformerEncoder(block, layers, norm=nn.LayerNorm(width))
        self.head = nn.Linear(width, vocab, bias=False, generator=generator)
        self.context = context

    def forward(self, idx: tg.Tensor) -> tg.Tensor:
        t = idx.shape[1]
        causal = tg.ones(t, t, dtype=bool).triu(1)  # True above the diagonal: the future
        x = self.drop(self.tok(idx) + self.pos(tg.arange(t)))
        return self.head(self.blocks(x, mask=causal))


def configure_optimizer(model: nn.Module, lr: float, weight_decay: float) -> tg.optim.AdamW:
    """AdamW with weight decay on the 2-D weights (matrices, embeddings) only: biases and
    LayerNorm gains are not shrunk (nanoGPT's rule)."""
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.ndim >= 2]
    no_decay = [p for p in params if p.ndim < 2]
    return tg.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                           {"params": no_decay, "weight_decay": 0.0}], lr=lr,
                          betas=(0.9, 0.95))


def problems() -> tuple[np.ndarray, np.ndarray]:
    """Every problem, split into (train, test) by a fixed permutation: a quarter held out."""
    allp = np.array(list(itertools.product(range(DIGITS), repeat=LENGTH)), dtype=np.int64)
    perm = np.random.default_rng(1234).permutation(len(allp))
    n_test = len(allp) // 4
    return allp[perm[n_test:]], allp[perm[:n_test]]


def batch(train: np.ndarray, size: int, rng: np.random.Generator) -> tuple[tg.Tensor, ...]:
    """Inputs (size, 11) and targets (size, 11): -1 (ignored) on the 5 question positions."""
    x = train[rng.integers(0, len(train), size)]
    seq = np.concatenate([x, np.sort(x, axis=1)], axis=1)
    inp, tgt = seq[:, :-1].copy(), seq[:, 1:].copy()
    tgt[:, :LENGTH - 1] = -1
    return tg.tensor(inp), tg.tensor(tgt)


@tg.no_grad()
def sort_greedily(model: GPT, x: np.ndarray) -> np.ndarray:
    """The 6 answer tokens, generated one at a time (argmax fed back in)."""
    model.eval()
    seq = tg.tensor(x)
    for _ in range(LENGTH):
        logits = model(seq)[:, -1]
        seq = tg.cat([seq, logits.argmax(-1, keepdim=True)], dim=1)
    model.train()
    return seq.numpy()[:, LENGTH:]


def train(steps: int, seed: int, use_jit: bool, log_every: int = 250) -> dict:
    tg.manual_seed(seed)
    gen = np.random.default_rng(seed)
    model = GPT(DIGITS, 2 * LENGTH - 1, width=48, heads=3, layers=3, dropout=0.1,
                generator=gen)
    opt = configure_optimizer(model, lr=5e-4, weight_decay=0.1)

    def step(inp: tg.Tensor, tgt: tg.Tensor) -> tg.Tensor:
        opt.zero_grad()
        logits = model(inp)
        loss = F.cross_entropy(logits.reshape(-1, DIGITS), tgt.reshape(-1), ignore_index=-1)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss

    run = tg.jit(step) if use_jit else step
    train_set, test_set = problems()
    rng = np.random.default_rng(seed + 1)
    losses, start = [], time.perf_counter()
    for i in range(steps):
        losses.append(run(*batch(train_set, 64, rng)).item())
        if log_every and (i + 1) % log_every == 0:
            print(f"step {i + 1:5d}  loss {np.mean(losses[-log_every:]):.4f}")
    seconds = time.perf_counter() - start
    accuracy = {name: float((sort_greedily(model, s) == np.sort(s, axis=1)).all(1).mean())
                for name, s in (("train", train_set), ("test", test_set))}
    return {"steps": steps, "seed": seed, "jit": use_jit, "first_loss": losses[0],
            "final_loss": float(np.mean(losses[-50:])), "train_accuracy": accuracy["train"],
            "test_accuracy": accuracy["test"], "test_problems": len(test_set),
            "parameters": sum(p.numel() for p in model.parameters()),
            "seconds": round(seconds, 1)}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jit", action="store_true", help="run the training step through tg.jit")
    ap.add_argument("--quick", action="store_true", help="a smoke run: 150 steps")
    ap.add_argument("--out", default="runs/sort_gpt")
    args = ap.parse_args(argv)
    steps = 150 if args.quick else args.steps
    summary = train(steps, args.seed, args.jit, log_every=0 if args.quick else 250)
    print(f"held-out problems sorted right: {summary['test_accuracy']:.3f} of "
          f"{summary['test_problems']} (train {summary['train_accuracy']:.3f}), "
          f"{summary['parameters']} parameters, {summary['seconds']} s")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


if __name__ == "__main__":
    main()
