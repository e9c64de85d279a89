// The interactive graph page of tinygrad_reg.viz (inlined by viz/html.py; no network).
//
// DATA.items is the whole graph in a topological order (each item: kind k, label lines l,
// parents p, the innermost module call c, op name/text/attributes, shape sh, dtype dt,
// names n, gradient norm g, whether it may fold f); DATA.calls the module calls (callers
// first). A view expands some calls (clusters) and collapses the others (one node each),
// with the rules of viz/graph.py's view(), so a depth gives the nodes and edges that
// to_dot(collapse_modules=depth) draws. The layout is layered (ranks, barycentre ordering,
// dummy points for long edges), done per cluster, innermost first, so clusters nest.
(function () {
  "use strict";
  const DATA = JSON.parse(document.getElementById("graph-data").textContent);
  const items = DATA.items, calls = DATA.calls, N = items.length;
  const SVGNS = "http://www.w3.org/2000/svg";

  // -- the graph ----------------------------------------------------------------------------
  const consumers = items.map(() => []);
  items.forEach((it, i) => it.p.forEach((p) => consumers[p].push(i)));
  const chains = [];  // each call's chain of calls, outermost first
  const hasKids = calls.map(() => false);
  calls.forEach((c, k) => {
    chains.push(c.parent >= 0 ? chains[c.parent].concat([k]) : [k]);
    if (c.parent >= 0) hasKids[c.parent] = true;
  });
  const deepest = calls.reduce((d, c) => Math.max(d, c.depth), 0);
  const isOp = (it) => it.op !== undefined;

  function expandedFor(depth) {  // as graph.expanded_calls: "full", true, or an int
    const out = new Set();
    calls.forEach((c, k) => {
      if (depth === "full" || (hasKids[k] && (depth === true || c.depth < depth))) out.add(k);
    });
    return out;
  }

  // -- a view (graph.view) ------------------------------------------------------------------
  // group keys: a call k is -1 - k, an item stands alone as its own position
  function computeView(expanded) {
    const group = new Array(N), clusters = new Map();
    for (let i = 0; i < N; i++) {
      const it = items[i];
      if (!isOp(it)) continue;
      if (it.c === undefined) { group[i] = i; continue; }
      const ch = chains[it.c];
      let k = 0;
      while (k < ch.length && expanded.has(ch[k])) k++;
      if (k < ch.length) { group[i] = -1 - ch[k]; clusters.set(group[i], ch.slice(0, k)); }
      else { group[i] = i; clusters.set(i, ch); }
    }
    for (let i = 0; i < N; i++) {
      if (group[i] !== undefined) continue;
      group[i] = i;
      if (!items[i].f) continue;
      const cons = consumers[i];
      const readers = new Set(cons.map((j) => group[j]));
      const first = cons.length ? group[cons[0]] : 0;
      if (readers.size === 1 && first < 0) { group[i] = first; continue; }
      let common = null;
      for (const j of cons) {
        const ch = clusters.get(group[j]) || [];
        if (common === null) { common = ch; continue; }
        let k = 0;
        while (k < common.length && k < ch.length && common[k] === ch[k]) k++;
        common = common.slice(0, k);
      }
      clusters.set(i, common || []);
    }
    const members = new Map();
    for (let i = 0; i < N; i++) {
      if (!members.has(group[i])) members.set(group[i], []);
      members.get(group[i]).push(i);
    }
    const keys = [...members.keys()], number = new Map(keys.map((k, n) => [k, n]));
    const holder = group.map((g) => number.get(g));
    const pairs = new Map();
    for (let i = 0; i < N; i++) {
      const b = holder[i];
      for (const p of items[i].p) {
        const a = holder[p];
        if (a !== b && !pairs.has(a * keys.length + b)) pairs.set(a * keys.length + b, [a, b]);
      }
    }
    const order = topological(keys.length, [...pairs.values()]);
    const rank = new Array(keys.length);
    order.forEach((old, n) => { rank[old] = n; });
    const nodes = order.map((old) => {
      const key = keys[old];
      return {members: members.get(key), call: key < 0 ? -1 - key : -1,
              clusters: clusters.get(key) || []};
    });
    return {nodes, holder: holder.map((h) => rank[h]),
            edges: [...pairs.values()].map(([a, b]) => [rank[a], rank[b]])};
  }

  function topological(n, edges) {  // Kahn's algorithm, the smallest available first
    const succ = Array.from({length: n}, () => []), indeg = new Array(n).fill(0);
    for (const [a, b] of edges) { succ[a].push(b); indeg[b]++; }
    const heap = [], out = [];
    const push = (v) => {
      heap.push(v);
      let i = heap.length - 1;
      while (i > 0) {
        const up = (i - 1) >> 1;
        if (heap[up] <= heap[i]) break;
        [heap[up], heap[i]] = [heap[i], heap[up]]; i = up;
      }
    };
    const pop = () => {
      const top = heap[0], last = heap.pop();
      if (heap.length) {
        heap[0] = last;
        let i = 0;
        for (;;) {
          const l = 2 * i + 1, r = l + 1;
          let m = i;
          if (l < heap.length && heap[l] < heap[m]) m = l;
          if (r < heap.length && heap[r] < heap[m]) m = r;
          if (m === i) break;
          [heap[m], heap[i]] = [heap[i], heap[m]]; i = m;
        }
      }
      return top;
    };
    for (let i = 0; i < n; i++) if (indeg[i] === 0) push(i);
    while (heap.length) {
      const v = pop();
      out.push(v);
      for (const w of succ[v]) if (--indeg[w] === 0) push(w);
    }
    if (out.length < n) {  // a cycle (never in a view): keep its nodes
      const seen = new Set(out);
      for (let i = 0; i < n; i++) if (!seen.has(i)) out.push(i);
    }
    return out;
  }

  // -- labels (dot._call_node, dot._item_node) -----------------------------------------------
  const chars = (s) => [...s].length;
  function nodeLabel(view, k) {
    const node = view.nodes[k];
    if (node.call < 0) {
      const it = items[node.members[0]];
      return {kind: it.k, lines: it.l};
    }
    const call = calls[node.call];
    const ops = node.members.filter((m) => isOp(items[m]));
    const names = [...new Set(ops.map((m) => items[m].op))];
    const kinds = new Set(ops.map((m) => items[m].k));
    const kind = kinds.size === 1 && !kinds.has("op") ? [...kinds][0] : "module";
    const lines = [call.name];
    if (ops.length === 1) {
      const text = items[ops[0]].t.split("\n");
      if (!(text.length === 1 && text[0] === call.cls)) lines.push(...text);
    } else {
      const summary = names.join(" · ");
      lines.push(chars(summary) <= 40 ? summary : `${ops.length} ops`);
    }
    if (call.params) lines.push(call.params);
    const exits = ops.filter((m) => consumers[m].some((c) => view.holder[c] !== k));
    const shapes = [...new Set(exits.map((m) => items[m].s))];
    if (exits.length === 1) {
      if (shapes[0]) lines.push(shapes[0]);
    } else if (exits.length) {
      const text = `${exits.length} outputs: ` + shapes.join(", ");
      lines.push(shapes.length === 1 || chars(text) <= 40 ? text : `${exits.length} outputs`);
    }
    return {kind, lines};
  }

  // -- layout ---------------------------------------------------------------------------------
  const FONT = "11px Helvetica, Arial, sans-serif", BOLD = "bold " + FONT;
  const LH = 14, PADX = 9, PADY = 5, NODESEP = 18, RANKSEP = 30, CPAD = 10, CTITLE = 16;
  const measure = document.createElement("canvas").getContext("2d");
  const widths = new Map();
  function textWidth(s, bold) {
    const key = (bold ? "b" : "") + s;
    let w = widths.get(key);
    if (w === undefined) {
      measure.font = bold ? BOLD : FONT;
      w = measure.measureText(s).width;
      widths.set(key, w);
    }
    return w;
  }

  function layout(view, labels) {
    const nn = view.nodes.length;
    const size = labels.map((lab, k) => {
      const call = view.nodes[k].call >= 0;
      let w = 0;
      lab.lines.forEach((s, i) => { w = Math.max(w, textWidth(s, call && i === 0)); });
      return {w: Math.max(36, Math.ceil(w) + 2 * PADX + (call ? 4 : 0)),
              h: lab.lines.length * LH + 2 * PADY + (call ? 4 : 0)};
    });
    // the cluster tree: a cluster is an expanded call that holds drawn nodes (-1: the page)
    const fresh = (depth) => ({units: [], edges: [], depth, entries: new Set(),
                               exits: new Set(), ways: new Map()});
    const tree = new Map([[-1, fresh(0)]]);
    const ensure = (c) => {
      if (tree.has(c)) return;
      const parent = calls[c].parent;
      ensure(parent);
      tree.set(c, fresh(calls[c].depth));
      tree.get(parent).units.push({c});
    };
    view.nodes.forEach((node, k) => {
      const cl = node.clusters.length ? node.clusters[node.clusters.length - 1] : -1;
      if (cl >= 0) ensure(cl);
      tree.get(cl).units.push({n: k});
    });
    // each edge of the view lies in the innermost cluster around both its ends; inside the
    // clusters it leaves and enters, it runs through points of its own (so that no node
    // stands in its way): ways out below a unit and ways in above it
    const uk = (path, j, node) => (j + 1 < path.length ? "c" + path[j + 1] : "n" + node);
    const ways = view.edges.map(([a, b], e) => {
      const pa = view.nodes[a].clusters, pb = view.nodes[b].clusters;
      let L = 0;
      while (L < pa.length && L < pb.length && pa[L] === pb[L]) L++;
      const level = L ? pa[L - 1] : -1;
      tree.get(level).edges.push({a: pa.length > L ? {c: pa[L]} : {n: a},
                                  b: pb.length > L ? {c: pb[L]} : {n: b}, e});
      const out = [], into = [];
      for (let j = pa.length - 1; j >= L; j--) {
        out.push([pa[j], uk(pa, j, a)]);
        tree.get(pa[j]).exits.add(uk(pa, j, a));
      }
      for (let j = L; j < pb.length; j++) {
        into.push([pb[j], uk(pb, j, b)]);
        tree.get(pb[j]).entries.add(uk(pb, j, b));
      }
      return {out, into};
    });
    const boxes = new Map();  // cluster -> {w, h}, after its layout
    const local = new Map();  // "n3" / "c5" -> {x, y} of the top-left, within its cluster
    const routes = new Map();  // view edge -> [cluster, points within it]
    const order = [...tree.keys()].sort((p, q) => tree.get(q).depth - tree.get(p).depth);
    for (const c of order) layoutCluster(c, tree.get(c), size, boxes, local, routes);
    // absolute positions, outermost first
    const origin = new Map([[-1, {x: 0, y: 0}]]);
    const pos = new Array(nn), cboxes = [];
    for (const c of [...order].reverse()) {
      const o = origin.get(c);
      for (const u of tree.get(c).units) {
        const p = local.get(u.n !== undefined ? "n" + u.n : "c" + u.c);
        if (u.n !== undefined) {
          pos[u.n] = {x: o.x + p.x, y: o.y + p.y, w: size[u.n].w, h: size[u.n].h};
        } else {
          const b = boxes.get(u.c);
          cboxes.push({c: u.c, x: o.x + p.x, y: o.y + p.y, w: b.w, h: b.h});
          origin.set(u.c, {x: o.x + p.x + CPAD, y: o.y + p.y + CTITLE + CPAD});
        }
      }
    }
    const at = (c, pts) => pts.map((p) => ({x: origin.get(c).x + p.x, y: origin.get(c).y + p.y}));
    const paths = view.edges.map(([a, b], e) => {
      const [c, pts] = routes.get(e) || [-1, []];
      const s = pos[a], t = pos[b], pts2 = [{x: s.x + s.w / 2, y: s.y + s.h}];
      for (const [cl, key] of ways[e].out) pts2.push(...at(cl, tree.get(cl).ways.get("o" + key)));
      pts2.push(...at(c, pts));
      for (const [cl, key] of ways[e].into) pts2.push(...at(cl, tree.get(cl).ways.get("i" + key)));
      pts2.push({x: t.x + t.w / 2, y: t.y});
      return pts2;
    });
    const root = boxes.get(-1);
    return {pos, cboxes, paths, width: root.w, height: root.h};
  }

  function layoutCluster(c, cl, size, boxes, local, routes) {
    const units = cl.units, n = units.length;
    const index = new Map(units.map((u, i) => [u.n !== undefined ? "n" + u.n : "c" + u.c, i]));
    const key = (u) => (u.n !== undefined ? "n" + u.n : "c" + u.c);
    const w = units.map((u) => (u.n !== undefined ? size[u.n].w : boxes.get(u.c).w));
    const h = units.map((u) => (u.n !== undefined ? size[u.n].h : boxes.get(u.c).h));
    const succ = Array.from({length: n}, () => []), pred = Array.from({length: n}, () => []);
    const uedges = new Map();
    for (const ed of cl.edges) {
      const a = index.get(key(ed.a)), b = index.get(key(ed.b));
      const id = a * n + b;
      if (!uedges.has(id)) { uedges.set(id, {a, b, es: []}); succ[a].push(b); pred[b].push(a); }
      uedges.get(id).es.push(ed.e);
    }
    // ranks: longest path from the sources; a source sits just above its first reader
    const rank = new Array(n).fill(0), indeg = pred.map((p) => p.length), queue = [];
    for (let i = 0; i < n; i++) if (!indeg[i]) queue.push(i);
    for (let q = 0; q < queue.length; q++) {
      const v = queue[q];
      for (const x of succ[v]) {
        rank[x] = Math.max(rank[x], rank[v] + 1);
        if (--indeg[x] === 0) queue.push(x);
      }
    }
    if (queue.length < n) {  // a cycle (never in a view): leave those at rank 0
      for (let i = 0; i < n; i++) if (indeg[i] > 0) rank[i] = 0;
    }
    for (let i = 0; i < n; i++) {
      if (!pred[i].length && succ[i].length) {
        rank[i] = Math.max(0, Math.min(...succ[i].map((x) => rank[x])) - 1);
      }
    }
    // layers, with dummy points on edges that span several ranks
    const nr = n ? Math.max(...rank) + 1 : 0;
    const layers = Array.from({length: nr}, () => []);
    const up = [], down = [];  // per vertex (units, then dummies): neighbours above/below
    for (let i = 0; i < n; i++) { layers[rank[i]].push(i); up.push([]); down.push([]); }
    const vw = w.slice(), vh = h.slice();
    const chainsOf = [];
    for (const ue of uedges.values()) {
      let prev = ue.a;
      const dummies = [];
      const r0 = rank[ue.a], r1 = rank[ue.b];
      for (let r = r0 + 1; r < r1; r++) {
        const d = vw.length;
        vw.push(0); vh.push(0); up.push([]); down.push([]);
        layers[r].push(d);
        down[prev].push(d); up[d].push(prev);
        prev = d;
        dummies.push(d);
      }
      down[prev].push(ue.b); up[ue.b].push(prev);
      chainsOf.push({ue, dummies, forward: r1 > r0});
    }
    // ways in from above a unit and out below it, for edges from and to other clusters
    const wayChains = [];
    const way = (i, from, to, inward) => {
      const ds = [];
      for (let r = from; r <= to; r++) {
        const d = vw.length;
        vw.push(0); vh.push(0); up.push([]); down.push([]);
        layers[r].push(d);
        ds.push(d);
      }
      if (inward) {  // rows from..to above unit i, top first
        ds.forEach((d, k) => { if (k) { up[d].push(ds[k - 1]); down[ds[k - 1]].push(d); } });
        up[i].push(ds[ds.length - 1]); down[ds[ds.length - 1]].push(i);
      } else {
        ds.forEach((d, k) => { if (k) { up[d].push(ds[k - 1]); down[ds[k - 1]].push(d); } });
        down[i].push(ds[0]); up[ds[0]].push(i);
      }
      wayChains.push({key: (inward ? "i" : "o") + key(units[i]), ds, from});
    };
    for (let i = 0; i < n; i++) {
      const k = key(units[i]);
      if (cl.entries.has(k) && rank[i] > 0) way(i, 0, rank[i] - 1, true);
      if (cl.exits.has(k) && rank[i] < nr - 1) way(i, rank[i] + 1, nr - 1, false);
    }
    // order within layers: barycentres, sweeping down and up
    const at = new Array(vw.length).fill(0);
    layers.forEach((L) => L.forEach((v, i) => { at[v] = i; }));
    const sweep = (L, nbrs) => {
      const key = new Map();
      for (const v of L) {
        const ns = nbrs[v];
        key.set(v, ns.length ? ns.reduce((s, x) => s + at[x], 0) / ns.length : at[v]);
      }
      L.sort((p, q) => key.get(p) - key.get(q) || at[p] - at[q]);
      L.forEach((v, i) => { at[v] = i; });
    };
    const passes = vw.length > 4000 ? 2 : 4;
    for (let it = 0; it < passes; it++) {
      for (let r = 1; r < nr; r++) sweep(layers[r], up);
      for (let r = nr - 2; r >= 0; r--) sweep(layers[r], down);
    }
    // coordinates: rows from the heights, columns packed, then pulled toward neighbours
    const x = new Array(vw.length).fill(0), ytop = [], rowh = [];
    let y = 0;
    for (let r = 0; r < nr; r++) {
      rowh.push(Math.max(0, ...layers[r].map((v) => vh[v])));
      ytop.push(y);
      y += rowh[r] + RANKSEP;
    }
    const gap = (p, q) => (vw[p] + vw[q]) / 2 + (vw[p] && vw[q] ? NODESEP : NODESEP / 2);
    for (const L of layers) {
      let cx = 0;
      L.forEach((v, i) => { cx = i ? cx + gap(L[i - 1], v) : vw[v] / 2; x[v] = cx; });
    }
    const place = (L, nbrs) => {
      if (!L.length) return;
      const want = L.map((v) => {
        const ns = nbrs[v];
        return ns.length ? ns.reduce((s, q) => s + x[q], 0) / ns.length : x[v];
      });
      const right = want.slice(), left = want.slice();
      for (let i = 1; i < L.length; i++) right[i] = Math.max(right[i], right[i - 1] + gap(L[i - 1], L[i]));
      for (let i = L.length - 2; i >= 0; i--) left[i] = Math.min(left[i], left[i + 1] - gap(L[i], L[i + 1]));
      const mid = L.map((v, i) => (right[i] + left[i]) / 2);
      for (let i = 1; i < L.length; i++) mid[i] = Math.max(mid[i], mid[i - 1] + gap(L[i - 1], L[i]));
      L.forEach((v, i) => { x[v] = mid[i]; });
    };
    for (let it = 0; it < 3; it++) {
      for (let r = 1; r < nr; r++) place(layers[r], up);
      for (let r = nr - 2; r >= 0; r--) place(layers[r], down);
    }
    let minx = Infinity, maxx = 0;
    for (let v = 0; v < vw.length; v++) {
      minx = Math.min(minx, x[v] - vw[v] / 2);
    }
    if (!isFinite(minx)) minx = 0;
    for (let v = 0; v < vw.length; v++) { x[v] -= minx; maxx = Math.max(maxx, x[v] + vw[v] / 2); }
    for (let i = 0; i < n; i++) {
      local.set(key(units[i]), {x: x[i] - w[i] / 2, y: ytop[rank[i]] + (rowh[rank[i]] - h[i]) / 2});
    }
    for (const ch of chainsOf) {
      const pts = ch.dummies.map((d) => {
        const r = rank[ch.ue.a] + 1 + ch.dummies.indexOf(d);
        return {x: x[d], y: ytop[r] + rowh[r] / 2};
      });
      for (const e of ch.ue.es) routes.set(e, [c, pts]);
    }
    for (const wc of wayChains) {
      cl.ways.set(wc.key, wc.ds.map((d, k) => ({x: x[d], y: ytop[wc.from + k] + rowh[wc.from + k] / 2})));
    }
    for (const k of [...cl.entries, ...cl.exits]) {  // (a unit in the first or last row)
      if (!cl.ways.has("i" + k)) cl.ways.set("i" + k, []);
      if (!cl.ways.has("o" + k)) cl.ways.set("o" + k, []);
    }
    const height = nr ? ytop[nr - 1] + rowh[nr - 1] : 0;
    boxes.set(c, c < 0 ? {w: maxx, h: height}
                       : {w: Math.max(maxx, textWidth(calls[c].name, false) + 16) + 2 * CPAD,
                          h: height + 2 * CPAD + CTITLE});
  }

  // -- drawing ----------------------------------------------------------------------------
  const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;")
    .replace(/>/g, "&gt;").replace(/"/g, "&quot;");
  const f1 = (v) => Math.round(v * 10) / 10;

  function pathOf(pts) {
    let d = `M${f1(pts[0].x)},${f1(pts[0].y)}`;
    for (let i = 1; i < pts.length; i++) {
      const p = pts[i - 1], q = pts[i], dy = (q.y - p.y) / 2;
      d += `C${f1(p.x)},${f1(p.y + dy)} ${f1(q.x)},${f1(q.y - dy)} ${f1(q.x)},${f1(q.y)}`;
    }
    return d;
  }

  function nodeSvg(k, lab, p, call) {
    const tensor = ["param", "tied", "const", "output"].includes(lab.kind);
    const r = tensor ? Math.min(p.h / 2, 12) : 4;
    let s = `<g class="node k-${lab.kind}${call >= 0 ? " call" : ""}" data-node="${k}"` +
      (call >= 0 ? ` data-call="${call}"` : "") + ` transform="translate(${f1(p.x)},${f1(p.y)})">`;
    let w = p.w, h = p.h;
    if (call >= 0) {  // a collapsed module: a box with depth
      w -= 4; h -= 4;
      s += `<rect x="4" y="4" width="${f1(w)}" height="${f1(h)}" rx="2"/>`;
    }
    s += `<rect class="body" width="${f1(w)}" height="${f1(h)}" rx="${r}"/>`;
    if (lab.kind === "tied") {
      s += `<rect x="3" y="3" width="${f1(w - 6)}" height="${f1(h - 6)}" rx="${Math.max(0, r - 3)}"/>`;
    }
    s += `<text text-anchor="middle">`;
    lab.lines.forEach((line, i) => {
      s += `<tspan x="${f1(w / 2)}" y="${PADY + LH * (i + 1) - 3}"${call >= 0 && i === 0 ?
        ' class="head"' : ""}>${esc(line)}</tspan>`;
    });
    return s + "</text></g>";
  }

  // -- the page -------------------------------------------------------------------------------
  document.body.innerHTML =
    `<div id="bar"><h1></h1><span>view:</span><span id="depths"></span>` +
    `<button id="fit">fit</button><span class="info"></span></div>` +
    `<div id="main"><div id="canvas"><svg xmlns="${SVGNS}"><defs><marker id="arrow" ` +
    `viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto">` +
    `<path d="M0,0L10,5L0,10z"/></marker></defs><g id="viewport"></g></svg></div>` +
    `<div id="panel"><div id="details"><p class="hint">Click a node to see its op, ` +
    `attributes, output shape and dtype. Click a module (a box with depth) to expand it, ` +
    `a cluster's title to collapse it. Drag to pan, scroll to zoom.</p></div>` +
    `<div id="legend"></div></div></div>`;
  document.querySelector("#bar h1").textContent = DATA.title;
  const svg = document.querySelector("#canvas svg"), vp = document.getElementById("viewport");
  const canvas = document.getElementById("canvas"), details = document.getElementById("details");
  let expanded = new Set(DATA.expanded), current = null, selected = -1;
  let tx = 20, ty = 20, scale = 1;
  const timings = {};

  function setTransform() {
    vp.setAttribute("transform", `translate(${f1(tx)},${f1(ty)}) scale(${scale})`);
  }

  function draw(anchor) {
    const t0 = performance.now();
    const view = computeView(expanded);
    const t1 = performance.now();
    const labels = view.nodes.map((_, k) => nodeLabel(view, k));
    const lay = layout(view, labels);
    const t2 = performance.now();
    const parts = [];
    for (const b of lay.cboxes) {
      parts.push(`<g class="cluster" data-call="${b.c}"><rect x="${f1(b.x)}" y="${f1(b.y)}" ` +
        `width="${f1(b.w)}" height="${f1(b.h)}" rx="6"/><text x="${f1(b.x + 8)}" ` +
        `y="${f1(b.y + 13)}" data-call="${b.c}">${esc(calls[b.c].name)} ▾</text></g>`);
    }
    lay.paths.forEach((pts) => {
      parts.push(`<path class="edge" d="${pathOf(pts)}" marker-end="url(#arrow)"/>`);
    });
    view.nodes.forEach((node, k) => parts.push(nodeSvg(k, labels[k], lay.pos[k], node.call)));
    vp.innerHTML = parts.join("");
    const t3 = performance.now();
    current = {view, labels, lay};
    timings.view = t1 - t0; timings.layout = t2 - t1; timings.render = t3 - t2;
    timings.total = t3 - t0; timings.nodes = view.nodes.length;
    selected = -1;
    document.querySelector("#bar .info").textContent =
      `${view.nodes.length} nodes, ${view.edges.length} edges (${N} in the whole graph)`;
    legend(labels);
    depthButtons();
    if (anchor) {  // keep the module clicked where it was on screen, and explain it
      const k = view.nodes.findIndex((n) => n.call === anchor.call);
      const box = lay.cboxes.find((b) => b.c === anchor.call);
      const p = k >= 0 ? lay.pos[k] : box;
      if (p) {
        tx = anchor.sx - p.x * scale; ty = anchor.sy - p.y * scale;
        setTransform();
      }
      if (k >= 0) select(k); else showCall(anchor.call, -1);
    }
  }

  function fit(readable) {  // the whole view; or (readable) its top, at a size one can read
    const r = canvas.getBoundingClientRect(), lay = current.lay;
    const across = (r.width - 40) / Math.max(lay.width, 1);
    scale = Math.min(readable ? 1 : 1.5, across, readable ? Infinity :
                     (r.height - 40) / Math.max(lay.height, 1));
    if (readable) scale = Math.max(scale, Math.min(0.6, across * 4));
    scale = Math.max(scale, 0.02);
    tx = Math.max(20, (r.width - lay.width * scale) / 2); ty = 20;
    setTransform();
  }

  function depthButtons() {
    const box = document.getElementById("depths");
    if (box.childElementCount) { mark(); return; }
    const options = [];
    for (let d = 1; d <= deepest; d++) options.push([String(d), d]);
    if (deepest) options.push(["modules", true]);
    options.push(["all ops", "full"]);
    for (const [text, depth] of options) {
      const b = document.createElement("button");
      b.textContent = text;
      b.dataset.depth = String(depth);
      b.title = depth === "full" ? "every op" : depth === true ?
        "every innermost module call as one node" : `module calls ${depth} deep as one node`;
      b.addEventListener("click", () => { api.setDepth(depth); fit(true); });
      box.appendChild(b);
    }
    mark();
  }

  function mark() {
    for (const b of document.querySelectorAll("#depths button")) {
      const d = b.dataset.depth === "true" ? true : b.dataset.depth === "full" ? "full" :
        Number(b.dataset.depth);
      const want = expandedFor(d);
      b.classList.toggle("on", want.size === expanded.size &&
                         [...want].every((k) => expanded.has(k)));
    }
  }

  function legend(labels) {
    const kinds = new Set(labels.map((l) => l.kind));
    const box = document.getElementById("legend");
    box.textContent = "";
    const h = document.createElement("b");
    h.textContent = "legend";
    box.appendChild(h);
    for (const kind of Object.keys(DATA.styles)) {
      if (!kinds.has(kind)) continue;
      const row = document.createElement("div");
      row.className = "k-" + kind;
      row.innerHTML = `<svg width="24" height="14"><rect x="1" y="1" width="22" height="12" ` +
        `rx="3"/></svg>`;
      row.appendChild(document.createTextNode(DATA.styles[kind]));
      box.appendChild(row);
    }
  }

  function row(table, key, value, pre) {
    const tr = table.insertRow();
    tr.insertCell().textContent = key;
    const td = tr.insertCell();
    if (pre) {
      const p = document.createElement("pre");
      p.textContent = value;
      td.appendChild(p);
    } else {
      td.textContent = value;
    }
  }

  function select(k) {
    for (const el of vp.querySelectorAll(".node.selected")) el.classList.remove("selected");
    selected = k;
    details.textContent = "";
    if (k < 0) return;
    const el = vp.querySelector(`.node[data-node="${k}"]`);
    if (el) el.classList.add("selected");
    const node = current.view.nodes[k];
    if (node.call >= 0) { showCall(node.call, k); return; }
    const h = document.createElement("h2"), table = document.createElement("table");
    details.append(h, table);
    const it = items[node.members[0]];
    if (isOp(it)) {
      h.textContent = it.op;
      for (const [key, value] of it.a || []) row(table, key, value);
      if (it.sh !== undefined) row(table, "output shape", it.sh);
      if (it.dt !== undefined) row(table, "dtype", it.dt);
      if (it.c !== undefined) row(table, "in module", calls[it.c].name);
    } else {
      h.textContent = (it.n && it.n.length) ? it.n.join(" = ") : it.k === "output" ?
        "output" : "constant";
      row(table, "kind", DATA.styles[it.k]);
      if (it.n && it.n.length > 1) row(table, "names", it.n.join(", ") + " (one tensor, tied)");
      if (it.sh !== undefined) row(table, "shape", it.sh);
      if (it.dt !== undefined) row(table, "dtype", it.dt);
      if (it.g !== undefined) row(table, "‖grad‖", it.g);
      if (it.v !== undefined) row(table, "values", it.v, true);
    }
  }

  function showCall(c, k) {  // a module call, collapsed (node k) or expanded (k < 0)
    const call = calls[c];
    const h = document.createElement("h2"), table = document.createElement("table");
    details.textContent = "";
    details.append(h, table);
    h.textContent = call.name;
    row(table, "module", call.dotted || "(the root)");
    row(table, "class", call.cls);
    if (call.of > 1) row(table, "call", `${call.number} of ${call.of}`);
    row(table, "parameters", call.params || "none");
    const ops = [];
    items.forEach((it, i) => {
      if (isOp(it) && it.c !== undefined && chains[it.c].includes(c)) ops.push(i);
    });
    row(table, "ops", `${ops.length}: ` + [...new Set(ops.map((m) => items[m].op))].join(", "));
    if (k >= 0) {
      const lines = current.labels[k].lines;
      row(table, "output", lines[lines.length - 1]);
    }
    const b = document.createElement("button");
    b.textContent = k >= 0 ? "expand" : "collapse";
    b.addEventListener("click", () => (k >= 0 ? api.expand(c) : api.collapse(c)));
    details.appendChild(b);
  }

  // -- input ----------------------------------------------------------------------------------
  let drag = null;
  svg.addEventListener("mousedown", (ev) => {
    if (ev.button !== 0 || ev.target.closest(".node") || ev.target.closest(".cluster text")) return;
    drag = {x: ev.clientX, y: ev.clientY, tx, ty, moved: false};
    canvas.classList.add("dragging");
  });
  window.addEventListener("mousemove", (ev) => {
    if (!drag) return;
    tx = drag.tx + ev.clientX - drag.x; ty = drag.ty + ev.clientY - drag.y;
    drag.moved = true;
    setTransform();
  });
  window.addEventListener("mouseup", () => { drag = null; canvas.classList.remove("dragging"); });
  svg.addEventListener("wheel", (ev) => {
    ev.preventDefault();
    const r = svg.getBoundingClientRect(), mx = ev.clientX - r.left, my = ev.clientY - r.top;
    const f = Math.exp(-ev.deltaY * 0.0015), s = Math.min(4, Math.max(0.02, scale * f));
    tx = mx - (mx - tx) * (s / scale); ty = my - (my - ty) * (s / scale); scale = s;
    setTransform();
  }, {passive: false});
  svg.addEventListener("click", (ev) => {
    const title = ev.target.closest(".cluster text");
    if (title) { api.collapse(Number(title.dataset.call)); return; }
    const el = ev.target.closest(".node");
    if (!el) return;
    const k = Number(el.dataset.node);
    if (el.dataset.call !== undefined) api.expand(Number(el.dataset.call));
    else select(k);
  });
  document.getElementById("fit").addEventListener("click", () => fit(false));

  // -- what tests and users can call ----------------------------------------------------------
  function anchorOf(call) {  // where module call is on screen: its node or its cluster
    if (!current) return null;
    const k = current.view.nodes.findIndex((n) => n.call === call);
    const p = k >= 0 ? current.lay.pos[k] : current.lay.cboxes.find((b) => b.c === call);
    return p ? {call, sx: tx + p.x * scale, sy: ty + p.y * scale} : null;
  }
  const api = {
    timings,
    setDepth(depth) { expanded = expandedFor(depth); draw(); },
    expand(call) { const a = anchorOf(call); expanded.add(call); draw(a); },
    collapse(call) { const a = anchorOf(call); expanded.delete(call); draw(a); },
    select(k) {  // explain node k, and bring it to the middle of the canvas
      select(k);
      if (k < 0) return;
      const p = current.lay.pos[k], r = canvas.getBoundingClientRect();
      tx = r.width / 2 - (p.x + p.w / 2) * scale; ty = r.height / 2 - (p.y + p.h / 2) * scale;
      setTransform();
    },
    state() {
      return {nodes: current.labels.map((l) => l.lines.join("\n")),
              kinds: current.labels.map((l) => l.kind), edges: current.view.edges,
              expanded: [...expanded].sort((p, q) => p - q), selected};
    },
  };
  window.tgGraph = api;
  const start = performance.now();
  draw();
  fit(true);
  timings.firstDraw = performance.now() - start;
  timings.ready = performance.now();  // since the page began to load
}());
