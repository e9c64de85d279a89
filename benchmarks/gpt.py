"""W8: one training step of a small GPT, tinygrad_reg eager and tg.jit beside PyTorch eager.

The model is the decoder-only transformer of examples/sort_gpt.py at a GPT-ish size: token
and position embeddings (vocab 64, context 32, width 64), 3 pre-norm blocks of
``TransformerEncoderLayer(64, 4 heads, 256, gelu, norm_first)`` under a causal mask, a final
LayerNorm and a linear head; float32, batch 32, dropout 0. A step is zero_grad, forward,
cross-entropy, backward, ``clip_grad_norm_(1.0)``, ``AdamW`` (weight decay on the 2-D
weights only).

PyTorch's model is built from torch.nn's own modules and takes tinygrad_reg's state_dict
strictly (the keys are the same); before timing, three steps of each are checked to give the
same losses. Everything runs in one process with every thread pool at ONE thread (as
torch_bench.py), the implementations alternating in rounds; figures are medians over rounds.

    python benchmarks/gpt.py            # writes docs/assets/gpt_benchmark.json
    python benchmarks/gpt.py --quick    # fewer rounds, writes nothing unless --json
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DOCS_JSON = os.path.join(os.path.dirname(HERE), "docs", "assets", "gpt_benchmark.json")
VOCAB, CONTEXT, WIDTH, HEADS, LAYERS, BATCH = 64, 32, 64, 4, 3, 32
LR, WEIGHT_DECAY = 3e-4, 0.1


def tg_model():
    """(model, step) in tinygrad_reg; step(idx, targets) -> loss Tensor."""
    import numpy as np

    import tinygrad_reg as tg
    from tinygrad_reg import nn
    from tinygrad_reg.nn import functional as F

    gen = np.random.default_rng(0)

    class GPT(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.tok = nn.Embedding(VOCAB, WIDTH)
            self.pos = nn.Embedding(CONTEXT, WIDTH)
            for emb in (self.tok, self.pos):
                emb.weight.data = (gen.standard_normal(emb.weight.shape) * 0.02
                                   ).astype(np.float32)
            block = nn.TransformerEncoderLayer(WIDTH, HEADS, 4 * WIDTH, 0.0, activation="gelu",
                                               batch_first=True, norm_first=True, generator=gen)
            self.blocks = nn.TransformerEncoder(block, LAYERS, norm=nn.LayerNorm(WIDTH))
            self.head = nn.Linear(WIDTH, VOCAB, bias=False, generator=gen)
            self.causal = tg.ones(CONTEXT, CONTEXT, dtype=bool).triu(1)

        def forward(self, idx):
            x = self.tok(idx) + self.pos(tg.arange(idx.shape[1]))
            return self.head(self.blocks(x, mask=self.causal))

    model = GPT()
    params = list(model.parameters())
    opt = tg.optim.AdamW([{"params": [p for p in params if p.ndim >= 2]},
                          {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0}],
                         lr=LR, weight_decay=WEIGHT_DECAY)

    def step(idx, targets):
        opt.zero_grad()
        loss = F.cross_entropy(model(idx).reshape(-1, VOCAB), targets.reshape(-1))
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss

    return model, step


def torch_model(state: dict):
    """The same model in PyTorch, loaded from tinygrad_reg's state_dict (strict)."""
    import torch
    from torch import nn

    class GPT(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.tok = nn.Embedding(VOCAB, WIDTH)
            self.pos = nn.Embedding(CONTEXT, WIDTH)
            block = nn.TransformerEncoderLayer(WIDTH, HEADS, 4 * WIDTH, 0.0, activation="gelu",
                                               batch_first=True, norm_first=True)
            self.blocks = nn.TransformerEncoder(block, LAYERS, norm=nn.LayerNorm(WIDTH),
                                                enable_nested_tensor=False)
            self.head = nn.Linear(WIDTH, VOCAB, bias=False)
            self.register_buffer("causal", nn.Transformer.generate_square_subsequent_mask(
                CONTEXT), persistent=False)

        def forward(self, idx):
            x = self.tok(idx) + self.pos(torch.arange(idx.shape[1]))
            return self.head(self.blocks(x, mask=self.causal, is_causal=True))

    model = GPT()
    model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in state.items()})
    params = list(model.parameters())
    opt = torch.optim.AdamW([{"params": [p for p in params if p.ndim >= 2]},
                             {"params": [p for p in params if p.ndim < 2],
                              "weight_decay": 0.0}], lr=LR, weight_decay=WEIGHT_DECAY)

    def step(idx, targets):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(idx).reshape(-1, VOCAB), targets.reshape(-1))
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss

    return model, step


def batches(n: int):
    import numpy as np

    rng = np.random.default_rng(1)
    return [rng.integers(0, VOCAB, (BATCH, CONTEXT + 1)) for _ in range(n)]


def linear_shapes() -> list[tuple[int, int, int]]:
    """(rows, in, out) of every Linear product in a step: per block the attention's packed
    input projection (width -> 3 width) and output projection, the two feed-forward layers;
    then the head."""
    rows, w = BATCH * CONTEXT, WIDTH
    block = [(rows, w, 3 * w), (rows, w, w), (rows, w, 4 * w), (rows, 4 * w, w)]
    return block * LAYERS + [(rows, w, VOCAB)]


def gemm_floor(torch, rounds: int) -> dict:
    """The step's Linear products alone, in each library's plain matrix product, alternating:
    per layer Y = X Wᵀ, dX = dY W, dW = dYᵀ X (three products; 39 in all), float32 operands
    laid out as the layers hold them, outputs preallocated. Medians in ms."""
    import numpy as np

    rng = np.random.default_rng(2)
    sets = []
    for m, k, n in linear_shapes():
        x, w, dy = (rng.standard_normal(shape).astype(np.float32)
                    for shape in ((m, k), (n, k), (m, n)))
        sets.append((x, w, dy, np.empty((m, n), np.float32), np.empty((m, k), np.float32),
                     np.empty((n, k), np.float32)))

    def numpy_products():
        for x, w, dy, y, dx, dw in sets:
            np.dot(x, w.T, out=y)
            np.dot(dy, w, out=dx)
            np.dot(dy.T, x, out=dw)

    impls = {"numpy": numpy_products}
    if torch is not None:
        tsets = [tuple(torch.from_numpy(a) for a in s) for s in sets]

        def torch_products():
            for x, w, dy, y, dx, dw in tsets:
                torch.mm(x, w.t(), out=y)
                torch.mm(dy, w, out=dx)
                torch.mm(dy.t(), x, out=dw)

        impls["torch"] = torch_products
    times: dict = {k: [] for k in impls}
    for i in range(rounds + 3):
        for k, f in impls.items():
            t0 = time.perf_counter()
            f()
            if i >= 3:
                times[k].append(time.perf_counter() - t0)
    return {k: statistics.median(v) * 1e3 for k, v in times.items()}


def run(quick: bool) -> dict:
    """Check parity over three steps, then time the three steps in alternating rounds."""
    import numpy as np

    import tinygrad_reg as tg

    impls = {"tinygrad_reg": tg_model(), "jit": tg_model()}
    impls["jit"] = (impls["jit"][0], tg.jit(impls["jit"][1]))
    try:
        import torch

        torch.set_num_threads(1)
        impls["torch"] = torch_model(impls["tinygrad_reg"][0].state_dict())
    except ImportError:
        torch = None
    data = batches(8)

    def args(name, seq):
        if name == "torch":
            t = torch.from_numpy(seq)
            return t[:, :-1], t[:, 1:]
        return tg.tensor(seq[:, :-1]), tg.tensor(seq[:, 1:])

    losses = {k: [step(*args(k, s)).item() for s in data[:3]] for k, (_, step) in impls.items()}
    for k, v in losses.items():  # float32 and two libraries' summation orders: 1e-4
        np.testing.assert_allclose(v, losses["tinygrad_reg"], rtol=1e-4, err_msg=k)
    rounds, warmup = (5, 2) if quick else (30, 3)
    times: dict = {k: [] for k in impls}
    for i in range(warmup + rounds):
        seq = data[i % len(data)]
        for k, (_, step) in impls.items():
            a = args(k, seq)
            t0 = time.perf_counter()
            step(*a).item()
            if i >= warmup:
                times[k].append(time.perf_counter() - t0)
    out = {"ms": {k: statistics.median(v) * 1e3 for k, v in times.items()},
           "min_ms": {k: min(v) * 1e3 for k, v in times.items()},
           "max_ms": {k: max(v) * 1e3 for k, v in times.items()},
           "rounds": rounds, "parity_losses": losses,
           "parameters": sum(p.numel() for p in impls["tinygrad_reg"][0].parameters()),
           "torch": torch.__version__ if torch else None}
    out["gemm_ms"] = gemm_floor(torch, rounds)
    if torch:
        out["gemm_ms"]["rest_jit"] = out["ms"]["jit"] - out["gemm_ms"]["numpy"]
        out["gemm_ms"]["rest_torch"] = out["ms"]["torch"] - out["gemm_ms"]["torch"]
        out["ratio_vs_torch"] = {k: statistics.median(a / b for a, b in
                                                      zip(times[k], times["torch"]))
                                 for k in ("tinygrad_reg", "jit")}
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", metavar="OUT", help="where to write the figures (default for the "
                                                  "full run: docs/assets/gpt_benchmark.json)")
    args = ap.parse_args(argv)
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join([HERE, os.path.dirname(HERE), env.get("PYTHONPATH", "")])
    load_before = [round(x, 2) for x in os.getloadavg()]
    code = f"import gpt, json; print(json.dumps(gpt.run({args.quick!r})))"
    res = json.loads(subprocess.run([sys.executable, "-c", code], check=True, text=True,
                                    capture_output=True, env=env).stdout)
    ms = res["ms"]
    print(f"W8 GPT step f32 b{BATCH} ({res['parameters']} parameters), one thread, medians "
          f"of {res['rounds']} rounds:")
    for k, v in ms.items():
        extra = f"  {res['ratio_vs_torch'][k]:.2f}x PyTorch" if k in res.get(
            "ratio_vs_torch", {}) else ""
        print(f"  {k:13} {v:8.2f} ms  [{res['min_ms'][k]:.2f}..{res['max_ms'][k]:.2f}]{extra}")
    gm = res["gemm_ms"]
    print(f"  the {3 * len(linear_shapes())} Linear products alone: numpy {gm['numpy']:.2f} ms" +
          (f", PyTorch {gm['torch']:.2f} ms; the rest of the step: jit {gm['rest_jit']:.2f} ms,"
           f" PyTorch {gm['rest_torch']:.2f} ms" if "torch" in gm else ""))
    out = args.json or (None if args.quick else DOCS_JSON)
    if out:
        import numpy as np

        import tinygrad_reg

        record = {"command": " ".join(["python benchmarks/gpt.py", *(argv if argv is not None
                                                                     else sys.argv[1:])]),
                  "date": datetime.date.today().isoformat(),
                  "machine": {"cores": os.cpu_count(), "numpy": np.__version__,
                              "tinygrad_reg": tinygrad_reg.__version__,
                              "load_before": load_before,
                              "load_after": [round(x, 2) for x in os.getloadavg()]},
                  "workload": {"vocab": VOCAB, "context": CONTEXT, "width": WIDTH,
                               "heads": HEADS, "layers": LAYERS, "batch": BATCH},
                  **res}
        with open(out, "w") as f:
            json.dump(record, f, indent=1)
            f.write("\n")
        print(f"wrote {os.path.relpath(out)}")


if __name__ == "__main__":
    main()
