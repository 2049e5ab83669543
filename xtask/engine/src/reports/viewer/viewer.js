"use strict";
// The viewer of one result's folded profiles. The data is a call tree per
// profile in preorder (names, name index, value, depth); every view is
// derived from it once per profile and drawn as HTML elements, so that
// function names are text the browser's find can see.
(function () {
  const DATA = JSON.parse(document.getElementById("profile-data").textContent);
  const ROW = 18;
  // Frames narrower than this many pixels are not drawn, and no more than
  // MAX_FRAMES per graph: a large profile stays fast.
  const MIN_WIDTH = 1;
  const MAX_FRAMES = 12000;
  const MAX_ROWS = 3000;
  const $ = (id) => document.getElementById(id);

  let P = null; // the current profile, with its derived arrays
  let zoom = 0; // the node drawn full width
  let selected = -1; // the name shown in the sandwich
  let sortKey = "self";
  let query = "";

  // Parents, subtree ends, self values and per-function totals, once.
  function prepare(p) {
    const count = p.n.length;
    const parent = new Int32Array(count).fill(-1);
    const end = new Int32Array(count);
    const self = new Float64Array(count);
    const stack = [];
    for (let i = 0; i < count; i++) {
      while (stack.length > p.d[i]) end[stack.pop()] = i;
      if (stack.length) parent[i] = stack[stack.length - 1];
      stack.push(i);
      self[i] = p.v[i];
      if (parent[i] >= 0) self[parent[i]] -= p.v[i];
    }
    while (stack.length) end[stack.pop()] = count;
    const fnSelf = new Float64Array(p.names.length);
    const fnTotal = new Float64Array(p.names.length);
    const onPath = new Int32Array(p.names.length);
    const outermost = new Uint8Array(count);
    const path = [];
    for (let i = 1; i < count; i++) {
      while (path.length >= p.d[i]) onPath[p.n[path.pop()]]--;
      const name = p.n[i];
      fnSelf[name] += self[i];
      // A recursive function counts once per stack.
      if (onPath[name] === 0) { fnTotal[name] += p.v[i]; outermost[i] = 1; }
      onPath[name]++;
      path.push(i);
    }
    return Object.assign({}, p, { parent, end, self, fnSelf, fnTotal, outermost, total: p.v[0] || 0 });
  }

  // Plain code-unit order, as the tree's siblings are sorted.
  function byName(a, b) { return a < b ? -1 : a > b ? 1 : 0; }

  function fmt(value) { return Math.round(value).toLocaleString("en-US"); }
  function pct(value, total) { return total ? (100 * value / total).toFixed(2) + " %" : "-"; }

  // A stable warm colour per name, as flame graphs have.
  function colour(name) {
    let h = 0;
    for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
    return "hsl(" + (10 + h % 45) + "," + (65 + h % 25) + "%," + (58 + (h >> 8) % 14) + "%)";
  }

  function matches(name) { return query !== "" && name.toLowerCase().includes(query); }

  // Draws the tree `t` (arrays n, v, d, end, names) from node `root` into
  // `box`: ancestors of the root full width above it, then the root's
  // subtree to scale. `inverted` grows upwards (the callers' graph).
  function drawTree(box, t, root, inverted, onClick) {
    box.textContent = "";
    const width = box.clientWidth || 1000;
    const frames = [];
    const chain = [];
    for (let a = t.parent ? t.parent[root] : -1; a >= 0; a = t.parent[a]) chain.unshift(a);
    chain.forEach((a, level) => frames.push([a, 0, width, level, true]));
    const scale = width / (t.v[root] || 1);
    const base = chain.length;
    const walk = [[root, 0, base]];
    while (walk.length && frames.length < MAX_FRAMES) {
      const [i, x, level] = walk.pop();
      const w = t.v[i] * scale;
      if (w < MIN_WIDTH) continue;
      frames.push([i, x, w, level, false]);
      let cx = x;
      const kids = [];
      for (let j = i + 1; j < t.end[i]; j = t.end[j]) { kids.push([j, cx, level + 1]); cx += t.v[j] * scale; }
      for (let k = kids.length - 1; k >= 0; k--) walk.push(kids[k]);
    }
    const depth = frames.reduce((m, f) => Math.max(m, f[3]), 0) + 1;
    box.style.height = depth * ROW + "px";
    const parts = document.createDocumentFragment();
    for (const [i, x, w, level, ancestor] of frames) {
      const name = t.names[t.n[i]];
      const el = document.createElement("div");
      el.className = "frame" + (ancestor ? " ancestor" : "") + (i === 0 ? " root" : "") + (matches(name) ? " match" : "");
      el.style.left = x + "px";
      el.style.width = w + "px";
      el.style.top = (inverted ? depth - 1 - level : level) * ROW + "px";
      el.style.background = colour(name);
      el.textContent = name;
      el.title = name + "\n" + fmt(t.v[i]) + " " + P.unit + " (" + pct(t.v[i], t.v[0]) + ")";
      el.dataset.node = i;
      if (onClick) el.addEventListener("click", () => onClick(i));
      parts.appendChild(el);
    }
    box.appendChild(parts);
    return frames.length;
  }

  function drawFlame() {
    drawTree($("flame"), P, zoom, false, (i) => {
      zoom = i;
      if (i > 0) selected = P.n[i];
      redraw();
    });
  }

  function summarise() {
    const z = P.names[P.n[zoom]];
    $("reset").disabled = zoom === 0;
    $("summary").textContent = fmt(P.total) + " " + P.unit + " in " + DATA.profiles[current].label +
      (zoom ? "; zoomed into " + z + " (" + pct(P.v[zoom], P.total) + ")" : "") +
      ". Click a frame to zoom, search to highlight.";
  }

  // The search's matches: each matched frame's weight counted once, under
  // its outermost matching ancestor.
  function searchShare() {
    if (query === "") return "";
    let sum = 0;
    const names = new Set();
    for (let i = 1; i < P.n.length; i++) {
      const name = P.names[P.n[i]];
      if (!matches(name)) continue;
      names.add(name);
      let covered = false;
      for (let a = P.parent[i]; a > 0; a = P.parent[a]) if (matches(P.names[P.n[a]])) { covered = true; break; }
      if (!covered) sum += P.v[i];
    }
    if (!names.size) return "no function matches \u201c" + query + "\u201d";
    return names.size + (names.size === 1 ? " function matches" : " functions match") + ": " +
      pct(sum, P.total) + " of " + P.unit + " (" + fmt(sum) + ")";
  }

  function drawTable() {
    const rows = [];
    for (let k = 1; k < P.names.length; k++) {
      if (P.fnTotal[k] === 0 && P.fnSelf[k] === 0) continue;
      if (query !== "" && !matches(P.names[k])) continue;
      rows.push(k);
    }
    const by = sortKey === "name"
      ? (a, b) => byName(P.names[a], P.names[b])
      : sortKey === "total" ? (a, b) => P.fnTotal[b] - P.fnTotal[a] : (a, b) => P.fnSelf[b] - P.fnSelf[a] || P.fnTotal[b] - P.fnTotal[a];
    rows.sort(by);
    const body = $("functions").tBodies[0];
    body.textContent = "";
    const parts = document.createDocumentFragment();
    for (const k of rows.slice(0, MAX_ROWS)) {
      const tr = document.createElement("tr");
      const cells = [P.names[k], fmt(P.fnSelf[k]), pct(P.fnSelf[k], P.total), fmt(P.fnTotal[k]), pct(P.fnTotal[k], P.total)];
      cells.forEach((text, c) => {
        const td = document.createElement("td");
        td.className = c === 0 ? "fn" : "num";
        td.textContent = text;
        if (c === 0) td.title = text;
        tr.appendChild(td);
      });
      tr.addEventListener("click", () => { selected = k; show("sandwich-view"); });
      parts.appendChild(tr);
    }
    body.appendChild(parts);
    for (const th of $("functions").tHead.rows[0].cells) th.classList.toggle("sorted", th.dataset.key === sortKey);
  }

  // A tree of plain objects flattened to the arrays drawTree reads.
  function flatten(root, names) {
    const t = { names, n: [], v: [], d: [], parent: null };
    const walk = [[root, 0]];
    while (walk.length) {
      const [node, depth] = walk.pop();
      t.n.push(node.name); t.v.push(node.value); t.d.push(depth);
      const kids = Array.from(node.kids.values()).sort((a, b) => byName(names[b.name], names[a.name]));
      for (const kid of kids) walk.push([kid, depth + 1]);
    }
    const end = new Int32Array(t.n.length);
    const stack = [];
    for (let i = 0; i < t.n.length; i++) {
      while (stack.length > t.d[i]) end[stack.pop()] = i;
      stack.push(i);
    }
    while (stack.length) end[stack.pop()] = t.n.length;
    t.end = end;
    return t;
  }

  function node(name) { return { name, value: 0, kids: new Map() }; }
  function kid(parent, name) {
    let k = parent.kids.get(name);
    if (!k) { k = node(name); parent.kids.set(name, k); }
    return k;
  }

  // The selected function's callers (each stack walked up from its
  // outermost call) and callees (the subtrees under it, merged).
  function sandwich(f) {
    const callers = node(f);
    const callees = node(f);
    for (let i = 1; i < P.n.length; i++) {
      if (P.n[i] !== f || !P.outermost[i]) continue;
      const w = P.v[i];
      callers.value += w; callees.value += w;
      let at = callers;
      for (let a = P.parent[i]; a > 0; a = P.parent[a]) { at = kid(at, P.n[a]); at.value += w; }
      const stack = [callees];
      for (let j = i + 1; j < P.end[i]; j++) {
        const level = P.d[j] - P.d[i];
        stack.length = level;
        const k = kid(stack[level - 1], P.n[j]);
        k.value += P.v[j];
        stack.push(k);
      }
    }
    return [flatten(callers, P.names), flatten(callees, P.names)];
  }

  function drawSandwich() {
    if (selected < 0) {
      let best = 1;
      for (let k = 1; k < P.names.length; k++) if (P.fnSelf[k] > P.fnSelf[best]) best = k;
      selected = best;
    }
    const name = P.names[selected] || "";
    $("sandwich-title").textContent = name + ": self " + fmt(P.fnSelf[selected] || 0) + ", total " +
      fmt(P.fnTotal[selected] || 0) + " " + P.unit + " (" + pct(P.fnTotal[selected] || 0, P.total) + ")";
    const [up, down] = sandwich(selected);
    const pick = (t) => (i) => { selected = t.n[i]; drawSandwich(); };
    drawTree($("callers"), up, 0, true, pick(up));
    drawTree($("callees"), down, 0, false, pick(down));
  }

  let view = "flame-view";
  function show(which) {
    view = which;
    for (const b of $("tabs").querySelectorAll("button")) b.classList.toggle("active", b.dataset.view === which);
    for (const id of ["flame-view", "table-view", "sandwich-view"]) $(id).hidden = id !== which;
    redraw();
  }

  function redraw() {
    summarise();
    $("match").textContent = searchShare();
    if (view === "flame-view") drawFlame();
    else if (view === "table-view") drawTable();
    else drawSandwich();
  }

  let current = 0;
  function load(index) {
    current = index;
    P = prepare(DATA.profiles[index]);
    zoom = 0;
    selected = -1;
    redraw();
  }

  const select = $("profile");
  DATA.profiles.forEach((p, i) => {
    const option = document.createElement("option");
    option.value = i;
    option.textContent = p.label + " (" + fmt(p.v[0] || 0) + " " + p.unit + ")";
    select.appendChild(option);
  });
  select.addEventListener("change", () => load(Number(select.value)));
  $("search").addEventListener("input", (e) => { query = e.target.value.trim().toLowerCase(); redraw(); });
  $("reset").addEventListener("click", () => { zoom = 0; redraw(); });
  for (const b of $("tabs").querySelectorAll("button")) b.addEventListener("click", () => show(b.dataset.view));
  for (const th of $("functions").tHead.rows[0].cells) th.addEventListener("click", () => { sortKey = th.dataset.key; drawTable(); });
  window.addEventListener("resize", () => redraw());
  if (DATA.profiles.length) load(0);
  else $("summary").textContent = "This result has no folded profile.";
})();
