"""Render the pictures of docs/visualization.md into docs/img/ and measure the figures that
page quotes into docs/assets/visualization.json (``python docs/make_figures.py``, or
``python scripts/docs_assets.py --only figures``, which runs it).

Every figure is built from a fixed seed, so re-running the script gives the same DOT; the
SVG bytes can still differ slightly between Graphviz versions (system ``dot`` or the
in-process WebAssembly build). The measurements (page sizes, the time Chromium takes to
draw a big page, the time ``to_dot`` and the in-process renderer take) are recorded with
the machine's core count and load, as they depend on it.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

import tinygrad_reg as tg
from tinygrad_reg import nn, viz
from tinygrad_reg.nn.losses import binary_cross_entropy_with_logits
from tinygrad_reg.regularization import l2_penalty

IMG = Path(__file__).resolve().parent / "img"
ASSETS = Path(__file__).resolve().parent / "assets"
MAX_BYTES = 200_000  # keep every committed picture small
# the interactive page of the small GPT, and its picture in a browser (besides figures[...])
PAGE = "gpt_page.html"
PAGE_PICTURE = "gpt_page.png"


def tiny_expression() -> tg.Tensor:
    """y = Σ relu(x · w + b) with values shown: the smallest picture of a graph."""
    w = tg.Tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True, name="w")
    b = tg.Tensor(np.array(0.25), requires_grad=True, name="b")
    x = tg.Tensor(np.array([1.0, 2.0, 3.0]), name="x")
    y = (x * w + b).relu().sum()
    y.backward()
    return y


def seed_network(m: int = 8) -> tuple[tg.Tensor, nn.Module]:
    """The tutorial's network [200, 100, 20, 1]: ReLU, ReLU, sigmoid output (through
    BCE-with-logits), dropout p=0.2 (keep_prob 0.8) after both hidden layers and an L2
    penalty on the weight matrices, on one minibatch of ``m`` examples, after backward."""
    gen = np.random.default_rng(0)
    model = nn.Sequential(
        nn.Linear(200, 100, generator=gen), nn.ReLU(), nn.Dropout(p=0.2, generator=gen),
        nn.Linear(100, 20, generator=gen), nn.ReLU(), nn.Dropout(keep_prob=0.8, generator=gen),
        nn.Linear(20, 1, generator=gen))
    X = tg.Tensor(gen.standard_normal((m, 200)).astype(np.float32), name="X")
    y = (gen.random((m, 1)) < 0.5).astype(np.float32)
    lam = 0.005
    loss = binary_cross_entropy_with_logits(model(X), y) + l2_penalty(model, lam=lam)
    loss.backward()
    return loss, model


def deep_network(blocks: int = 6) -> tuple[tg.Tensor, nn.Module]:
    """A deeper MLP whose hidden blocks are Sequential(Linear, ReLU, Dropout), after backward:
    drawn with ``collapse_modules=2``, one node per block."""
    gen = np.random.default_rng(1)
    layers = [nn.Sequential(nn.Linear(32, 32, generator=gen), nn.ReLU(),
                            nn.Dropout(p=0.1, generator=gen)) for _ in range(blocks)]
    model = nn.Sequential(*layers, nn.Linear(32, 1, generator=gen))
    X = tg.Tensor(gen.standard_normal((16, 32)).astype(np.float32), name="X")
    y = (gen.random((16, 1)) < 0.5).astype(np.float32)
    loss = binary_cross_entropy_with_logits(model(X), y) + l2_penalty(model, lam=0.005)
    loss.backward()
    return loss, model


class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention, written as nanoGPT writes it (split, masked_fill,
    contiguous)."""

    def __init__(self, d: int, n_head: int, block: int, p: float, gen: np.random.Generator
                 ) -> None:
        super().__init__()
        self.c_attn = nn.Linear(d, 3 * d, generator=gen)
        self.c_proj = nn.Linear(d, d, generator=gen)
        self.attn_dropout = nn.Dropout(p, generator=gen)
        self.resid_dropout = nn.Dropout(p, generator=gen)
        self.n_head = n_head
        self.register_buffer("bias", tg.tensor(np.tril(np.ones((block, block), dtype=bool)))
                             .reshape(1, 1, block, block))

    def forward(self, x: tg.Tensor) -> tg.Tensor:
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.reshape(B, T, self.n_head, C // self.n_head).transpose(1, 2)
                   for t in (q, k, v))
        att = (q @ k.transpose(-2, -1)) * (1.0 / np.sqrt(k.shape[-1]))
        att = att.masked_fill(self.bias[:, :, :T, :T] == 0, float("-inf"))
        att = self.attn_dropout(nn.functional.softmax(att, dim=-1))
        y = (att @ v).transpose(1, 2).contiguous().reshape(B, T, C)
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    def __init__(self, d: int, p: float, gen: np.random.Generator) -> None:
        super().__init__()
        self.c_fc = nn.Linear(d, 4 * d, generator=gen)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * d, d, generator=gen)
        self.dropout = nn.Dropout(p, generator=gen)

    def forward(self, x: tg.Tensor) -> tg.Tensor:
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    def __init__(self, d: int, n_head: int, block: int, p: float, gen: np.random.Generator
                 ) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(d)
        self.attn = CausalSelfAttention(d, n_head, block, p, gen)
        self.ln_2 = nn.LayerNorm(d)
        self.mlp = MLP(d, p, gen)

    def forward(self, x: tg.Tensor) -> tg.Tensor:
        x = x + self.attn(self.ln_1(x))     # two residual additions
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    """A small GPT: token and position embeddings, ``n_layer`` blocks, a final LayerNorm
    and a language-model head tied to the token embedding (``lm_head.weight =
    wte.weight``)."""

    def __init__(self, vocab: int = 64, block: int = 16, n_layer: int = 2, n_head: int = 2,
                 d: int = 32, p: float = 0.1, seed: int = 0) -> None:
        super().__init__()
        gen = np.random.default_rng(seed)
        self.wte = nn.Embedding(vocab, d)
        self.wpe = nn.Embedding(block, d)
        self.drop = nn.Dropout(p, generator=gen)
        self.h = nn.ModuleList([Block(d, n_head, block, p, gen) for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(d)
        self.lm_head = nn.Linear(d, vocab, bias=False, generator=gen)
        self.lm_head.weight = self.wte.weight  # tied

    def forward(self, idx: tg.Tensor) -> tg.Tensor:
        pos = tg.arange(idx.shape[1])
        x = self.drop(self.wte(idx) + self.wpe(pos))
        for block in self.h:
            x = block(x)
        return self.lm_head(self.ln_f(x))


def gpt_loss(n_layer: int = 2, batch: int = 2, T: int = 8, seed: int = 0
             ) -> tuple[tg.Tensor, GPT]:
    """A small GPT's cross-entropy on one random batch, after backward."""
    tg.manual_seed(seed)  # (the embeddings draw from the package generator)
    model = GPT(n_layer=n_layer, seed=seed)
    gen = np.random.default_rng(seed + 1)
    idx = tg.Tensor(gen.integers(0, 64, (batch, T)), name="idx")
    targets = tg.Tensor(gen.integers(0, 64, (batch, T)), name="targets")
    logits = model(idx)
    loss = nn.functional.cross_entropy(logits.reshape(-1, 64), targets.reshape(-1))
    loss.backward()
    return loss, model


def regularizers() -> tg.Tensor:
    """A small network with one of each kind of regularizer node: additive noise and channel
    dropout on a convolution's maps, DropConnect, Gaussian dropout, an activity penalty and
    an L2 penalty on the weights, after backward."""
    from tinygrad_reg import regularization as R

    gen = np.random.default_rng(2)
    tg.manual_seed(2)  # (the convolution draws from the package generator)
    conv = nn.Conv2d(1, 4, 3, padding=1)
    drop2d = nn.Dropout2d(p=0.1, generator=gen)
    fc1 = nn.DropConnectLinear(4 * 4 * 4, 16, p=0.3, generator=gen)
    gdrop = nn.GaussianDropout(p=0.2, generator=gen)
    noise = nn.GaussianNoise(0.1, generator=gen)
    fc2 = nn.Linear(16, 3, generator=gen)
    model = nn.Sequential(noise, conv, drop2d, fc1, gdrop, fc2)  # registers the parameters
    X = tg.Tensor(gen.standard_normal((2, 1, 4, 4)).astype(np.float32), name="X")
    h = drop2d(noise(conv(X).relu())).flatten(1)
    a = gdrop(fc1(h).relu())
    logits = fc2(a)
    loss = (nn.functional.cross_entropy(logits, tg.tensor([0, 2])) + R.activity_l1(a, 1e-3)
            + R.l2_penalty(model, 1e-4))
    loss.backward()
    return loss, model


BROWSER_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=1200,760")


@contextlib.contextmanager
def chromium() -> Iterator[object | None]:
    """Headless Chromium (Debian's chromium and chromium-driver, driven by selenium), or None
    if there is no browser to use."""
    import shutil
    import tempfile

    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        yield None
        return
    if chromium is None or driver is None:
        yield None
        return
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    with tempfile.TemporaryDirectory() as profile:
        for flag in (*BROWSER_FLAGS, f"--user-data-dir={profile}"):
            options.add_argument(flag)
        browser = webdriver.Chrome(service=Service(driver), options=options)
        try:
            yield browser
        finally:
            browser.quit()


def screenshot(page: Path, png: Path, script: str) -> bool:
    """Open ``page`` in headless Chromium, run ``script`` in it and save what it shows as
    ``png``; False if there is no browser to do it with."""
    with chromium() as browser:
        if browser is None:
            return False
        browser.get(page.resolve().as_uri())
        browser.execute_script(script)
        browser.save_screenshot(str(png))
    return True


# -- the figures visualization.md quotes -------------------------------------------------------

def residual_chain(steps: int = 500) -> tg.Tensor:
    """A graph of 4 * steps + 3 items (each step a weight, MatMul, Tanh and a residual Add;
    the input, the Sum and the output): 2,003 for 500 steps, after backward."""
    gen = np.random.default_rng(0)
    hs = [tg.Tensor(gen.standard_normal((4, 8)), requires_grad=True, name="x")]
    for k in range(steps):
        w = tg.Tensor(gen.standard_normal((8, 8)) * 0.1, requires_grad=True, name=f"w{k}")
        hs.append((hs[-1] @ w).tanh() + hs[max(0, len(hs) - 3)])
    y = hs[-1].sum()
    y.backward()
    return y


def page_sizes(pages: dict[str, str]) -> dict[str, dict]:
    """Per page: its bytes, how many items (ops, leaves, outputs) its graph data holds, the
    data's bytes per item and the bytes of everything else (script, style, markup)."""
    import re

    out = {}
    for name, page in pages.items():
        data = re.search(r'<script type="application/json" id="graph-data">(.*?)</script>',
                         page, re.S).group(1)
        total, data_bytes = len(page.encode("utf-8")), len(data.encode("utf-8"))
        items = len(json.loads(data)["items"])
        out[name] = {"bytes": total, "items": items, "bytes_per_item": data_bytes / items,
                     "script_and_style_bytes": total - data_bytes}
    return out


def timed(fn, repeat: int) -> list[float]:
    """Seconds that each of ``repeat`` calls of ``fn`` took."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def measure(seed: tuple[tg.Tensor, nn.Module], gpt: tuple[tg.Tensor, nn.Module]) -> dict:
    """The figures visualization.md quotes, measured here (see the module docstring)."""
    import tempfile

    from tinygrad_reg.viz import render

    load_before = os.getloadavg()
    chain = residual_chain()
    pages = {"2,003-item residual chain": viz.to_html(chain),
             "small GPT": viz.to_html(gpt[0], params=gpt[1]),
             "seed network": viz.to_html(seed[0], params=seed[1])}
    record: dict = {"pages": page_sizes(pages)}
    # Chromium: navigation to ready (the page's script has drawn its first view), 5 loads
    with chromium() as browser, tempfile.TemporaryDirectory() as tmp:
        if browser is None:
            record["chromium_ready_ms"] = None
        else:
            path = Path(tmp) / "chain.html"
            path.write_text(pages["2,003-item residual chain"], encoding="utf-8")
            ready = []
            for _ in range(5):
                browser.get(path.as_uri())
                timings = browser.execute_script("return tgGraph.timings")
                assert timings["nodes"] == 2003, timings
                ready.append(timings["ready"])
            record["chromium_ready_ms"] = ready
    # to_dot of a 20,000-op chain (max_nodes raised), and a 100,000-op chain refused
    x = tg.Tensor(np.ones(3), requires_grad=True, name="x")
    y = x
    for _ in range(20_000):
        y = y.tanh()
    record["to_dot_20000_ops_s"] = timed(lambda: viz.to_dot(y, max_nodes=30_000), 3)
    for _ in range(80_000):
        y = y.tanh()

    def refused() -> None:
        try:
            viz.to_dot(y)
        except ValueError:
            return
        raise AssertionError("a 100,000-op chain was drawn")

    record["to_dot_100000_ops_refused_s"] = timed(refused, 3)
    # the in-process renderer (Graphviz in WebAssembly) on the seed network's full graph: the
    # first call of a process (it compiles the module), then three more
    wasm = render._wasm_render()
    if wasm is None:
        record["wasm_seed_network_s"] = None
    else:
        source = viz.to_dot(seed[0], params=seed[1])
        record["wasm_seed_network_nodes"] = len(render._NODE_LINE.findall(source))
        record["wasm_seed_network_s"] = timed(lambda: wasm(source, format="svg"), 4)
    record["machine"] = {"cores": os.cpu_count(), "load_before": load_before,
                         "load_after": os.getloadavg()}
    return record


# the page's picture: module calls three deep as nodes, the first block's attention
# expanded (its call's number replaces %d), its MaskedFill explained in the side panel
PAGE_SCRIPT = """
tgGraph.setDepth(3);
tgGraph.expand(%d);
tgGraph.select(tgGraph.state().nodes.findIndex(s => s.startsWith("MaskedFill")));
"""


def main() -> None:
    IMG.mkdir(exist_ok=True)
    figures = {}
    figures["tiny.svg"] = (tiny_expression(), dict(show_data=True, rankdir="LR"))
    loss, model = seed_network()
    figures["seed_network.svg"] = (loss, dict(params=model))
    figures["seed_network_collapsed.svg"] = (loss, dict(params=model, collapse_modules=True))
    deep, deep_model = deep_network()
    figures["deep_full.svg"] = (deep, dict(params=deep_model))
    figures["deep_collapsed.svg"] = (deep, dict(params=deep_model, collapse_modules=2))
    reg, reg_model = regularizers()
    figures["regularizers.svg"] = (reg, dict(params=reg_model))
    gpt, gpt_model = gpt_loss(n_layer=2)
    figures["gpt_depth2.svg"] = (gpt, dict(params=gpt_model, collapse_modules=2))
    block, block_model = gpt_loss(n_layer=1)
    figures["gpt_block.svg"] = (block, dict(params=block_model, collapse_modules=True))
    for name, (out, options) in figures.items():
        path = viz.save_graph(out, IMG / name, **options)
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise RuntimeError(f"{path}: {size} bytes, over the {MAX_BYTES}-byte budget")
        print(f"{path.relative_to(IMG.parent.parent)}: {size} bytes")
    # the interactive page of the small GPT, and a picture of it in a browser
    page = viz.save_html(gpt, IMG / PAGE, params=gpt_model, title="a small GPT (2 blocks)")
    print(f"{page.relative_to(IMG.parent.parent)}: {page.stat().st_size} bytes")
    attn = next(c.index for c in _calls(gpt) if c.depth == 3 and
                type(c.module).__name__ == "CausalSelfAttention")
    if screenshot(page, IMG / PAGE_PICTURE, PAGE_SCRIPT.replace("%d", str(attn))):
        print(f"docs/img/{PAGE_PICTURE}: {(IMG / PAGE_PICTURE).stat().st_size} bytes")
    else:
        print(f"docs/img/{PAGE_PICTURE}: not made (needs chromium, chromium-driver and "
              f"selenium)")
    # the figures the page quotes
    ASSETS.mkdir(exist_ok=True)
    record = {"command": "python docs/make_figures.py",
              "summary": measure((loss, model), (gpt, gpt_model))}
    (ASSETS / "visualization.json").write_text(json.dumps(record, indent=1) + "\n")
    print("docs/assets/visualization.json")


def _calls(out: tg.Tensor) -> list:
    """The module calls of the graph behind ``out``, numbered as the page numbers them."""
    from tinygrad_reg.viz.graph import walk

    return walk([out], None).calls


if __name__ == "__main__":
    main()
