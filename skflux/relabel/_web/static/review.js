// skflux review page: plays the queued video on a canvas, sends keyboard verdicts.
// No build step, no dependencies. window.skflux exposes the state and timings (tests,
// benchmarks).
"use strict";
(() => {
  const TOKEN = new URLSearchParams(location.search).get("token") || "";
  const CLIENT = Math.random().toString(36).slice(2) + Date.now().toString(36);
  const $ = (id) => document.getElementById(id);
  const NAMES = { 1: "emergence", 0: "non-emergence" };
  const SVG = "http://www.w3.org/2000/svg";

  const stats = { verdictMs: [], firstFrameMs: [], fps: 0, drawn: 0 };
  const view = {
    state: null, key: "", video: null, data: null, frame: 0, playing: true, fps: 20,
    mark: null, shownAt: 0, busy: false, pendingT0: null, lastDraw: 0,
  };
  window.skflux = { stats, view };

  // ------------------------------------------------------------------ server
  function api(path, opts = {}) {
    const headers = Object.assign({ "X-Skflux-Token": TOKEN }, opts.headers || {});
    return fetch(path, Object.assign({}, opts, { headers, cache: "no-store" }));
  }

  async function post(path, body) {
    const r = await api(path, {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify(Object.assign({ client: CLIENT }, body)),
    });
    let data = null;
    try { data = await r.json(); } catch (e) { data = null; }
    return { status: r.status, data };
  }

  const cache = new Map(); // video -> Promise of {meta, frames, shape, vmax}
  function load(video) {
    if (!cache.has(video)) {
      const meta = api(`/api/video/${video}`).then((r) => {
        if (!r.ok) throw new Error(`video ${video}: HTTP ${r.status}`);
        return r.json();
      });
      const frames = api(`/api/video/${video}/frames`).then(async (r) => {
        if (!r.ok) throw new Error(`frames of video ${video}: HTTP ${r.status}`);
        const shape = r.headers.get("X-Skflux-Shape").split(",").map(Number);
        const vmax = parseFloat(r.headers.get("X-Skflux-Vmax"));
        return { frames: new Uint8Array(await r.arrayBuffer()), shape, vmax };
      });
      const p = Promise.all([meta, frames]).then(([m, f]) => Object.assign({ meta: m }, f));
      p.catch(() => cache.delete(video));
      cache.set(video, p);
      while (cache.size > 4) cache.delete(cache.keys().next().value);
    }
    return cache.get(video);
  }

  // ------------------------------------------------------------------ drawing
  const canvas = $("video");
  const ctx = canvas.getContext("2d");
  const off = document.createElement("canvas");
  const offCtx = off.getContext("2d");
  let image = null;

  function setupCanvas(shape) {
    const [, h, w] = shape;
    off.width = w; off.height = h;
    image = offCtx.createImageData(w, h);
    const scale = Math.max(1, Math.floor(450 / Math.max(h, w)));
    canvas.width = w * scale; canvas.height = h * scale;
    canvas.style.width = `${450 * w / Math.max(h, w)}px`;
    canvas.style.height = `${450 * h / Math.max(h, w)}px`;
  }

  function draw() {
    const d = view.data;
    if (!d) return;
    const [, h, w] = d.shape;
    const base = view.frame * h * w;
    const px = image.data;
    for (let r = 0; r < h; r++) { // north up: the last latitude row on top
      const src = base + (h - 1 - r) * w;
      let dst = r * w * 4;
      for (let c = 0; c < w; c++) {
        const u = d.frames[src + c];
        px[dst] = u; px[dst + 1] = u; px[dst + 2] = u; px[dst + 3] = 255;
        dst += 4;
      }
    }
    offCtx.putImageData(image, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(off, 0, 0, canvas.width, canvas.height);
    stats.drawn += 1;
    const n = d.shape[0];
    $("scrub").value = String(view.frame);
    $("frame-label").textContent = `frame ${view.frame} / ${n - 1}`;
    const notes = [];
    if (d.meta.unobserved.includes(view.frame)) notes.push("unobserved (filled)");
    if (d.meta.off_disk.includes(view.frame)) notes.push("off the disk");
    if (view.mark === view.frame) notes.push("marked emergence frame");
    $("frame-note").textContent = notes.join(" · ");
    $("frame-note").hidden = notes.length === 0;
    drawCursor();
    if (view.pendingT0 !== null && d.meta.video === view.video) { // first frame after a verdict
      stats.firstFrameMs.push(performance.now() - view.pendingT0);
      view.pendingT0 = null;
    }
  }

  let fpsCount = 0, fpsSince = performance.now();
  function tick(now) {
    if (view.playing && view.data && now - view.lastDraw >= 1000 / view.fps - 2) {
      view.lastDraw = now;
      view.frame = (view.frame + 1) % view.data.shape[0];
      draw();
      fpsCount += 1;
    }
    if (now - fpsSince >= 1000) {
      stats.fps = view.playing ? fpsCount * 1000 / (now - fpsSince) : 0;
      fpsCount = 0; fpsSince = now;
    }
    requestAnimationFrame(tick);
  }

  function drawMarks() {
    const c = $("marks"), g = c.getContext("2d");
    const d = view.data;
    g.clearRect(0, 0, c.width, c.height);
    if (!d) return;
    const n = d.shape[0];
    const x = (f) => (n > 1 ? (f / (n - 1)) * (c.width - 8) + 4 : c.width / 2);
    g.fillStyle = "#a0a0a0";
    for (const f of d.meta.unobserved) g.fillRect(x(f) - 1, 0, 2, 5);
    g.fillStyle = "#d08000";
    for (const f of d.meta.off_disk) g.fillRect(x(f) - 1, 0, 2, 5);
    const located = d.meta.evidence.emergence_frame;
    if (located !== undefined && located !== null) {
      g.fillStyle = "#b3261e"; g.fillRect(x(located) - 1.5, 0, 3, 12);
    }
    if (view.mark !== null) { g.fillStyle = "#1f5fa8"; g.fillRect(x(view.mark) - 1.5, 5, 3, 7); }
  }

  function drawCurve() {
    const svg = $("curve");
    const ev = view.data ? view.data.meta.evidence : {};
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    if (!ev.curves || !ev.curves.length) { $("curve-box").hidden = true; return; }
    $("curve-box").hidden = false;
    const W = 320, H = 150, L = 28, B = 16, n = ev.curves[0].length;
    const x = (f) => L + (n > 1 ? f / (n - 1) : 0.5) * (W - L - 6);
    const y = (p) => 4 + (1 - p) * (H - B - 8);
    const add = (tag, attrs) => {
      const el = document.createElementNS(SVG, tag);
      for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
      svg.appendChild(el); return el;
    };
    const line = (pts, stroke, width) => add("polyline", {
      points: pts.map(([f, p]) => `${x(f).toFixed(1)},${y(p).toFixed(1)}`).join(" "),
      fill: "none", stroke, "stroke-width": width,
    });
    add("line", { x1: L, y1: y(0), x2: W - 6, y2: y(0), stroke: "#999" });
    add("line", { x1: L, y1: y(0), x2: L, y2: y(1), stroke: "#999" });
    for (const [p, t] of [[0, "0"], [0.5, "0.5"], [1, "1"]]) {
      add("text", { x: 2, y: y(p) + 4, "font-size": 10, fill: "#666" }).textContent = t;
    }
    add("text", { x: L - 2, y: H - 2, "font-size": 10, fill: "#666" }).textContent = "0";
    add("text", { x: W - 24, y: H - 2, "font-size": 10, fill: "#666" }).textContent = String(n - 1);
    add("text", { x: (L + W) / 2 - 14, y: H - 2, "font-size": 10, fill: "#666" }).textContent = "frame";
    if (ev.threshold !== undefined) {
      add("line", { x1: L, y1: y(ev.threshold), x2: W - 6, y2: y(ev.threshold),
                    stroke: "#999", "stroke-dasharray": "4 3" });
    }
    const pts = (row) => row.map((p, f) => [f, p]).filter(([, p]) => p !== null);
    for (const row of ev.curves) line(pts(row), "#b8b8c0", 1);
    if (ev.curve_median && ev.curve_median.length) line(pts(ev.curve_median), "#1d1d1f", 2);
    if (ev.emergence_frame !== undefined && ev.emergence_frame !== null) {
      add("line", { x1: x(ev.emergence_frame), y1: y(0), x2: x(ev.emergence_frame), y2: y(1),
                    stroke: "#b3261e", "stroke-width": 1.5 });
    }
    add("line", { id: "curve-cursor", x1: x(0), y1: y(0), x2: x(0), y2: y(1),
                  stroke: "#1f5fa8", "stroke-width": 1 });
    svg.dataset.n = String(n);
  }

  function drawCursor() {
    const cur = document.getElementById("curve-cursor");
    if (!cur) return;
    const n = Number($("curve").dataset.n || "1");
    const px = 28 + (n > 1 ? view.frame / (n - 1) : 0.5) * (320 - 28 - 6);
    cur.setAttribute("x1", px.toFixed(1)); cur.setAttribute("x2", px.toFixed(1));
  }

  // ------------------------------------------------------------------ page state
  function fmt(x, digits = 2) { return x === null || x === undefined ? "–" : Number(x).toFixed(digits); }

  function showFacts(m) {
    $("f-video").textContent = `${m.video_id}` + (m.bmr_id !== null && String(m.bmr_id) !== m.video_id ? ` (BMR ${m.bmr_id})` : "") + ` · #${m.video}`;
    $("f-label").innerHTML = "";
    const lab = document.createElement("span");
    lab.className = `lab-${m.label}`; lab.textContent = NAMES[m.label];
    $("f-label").append(lab, ` (models say ${NAMES[m.model_label]})`);
    let p = `P(emergence) ${fmt(m.proba)} out of fold`;
    const ev = m.evidence;
    if (ev.proba_median !== undefined) {
      p += `; ensemble median ${fmt(ev.proba_median)} (25–75 %: ${fmt(ev.proba_q25)}–${fmt(ev.proba_q75)}, ${ev.n_members} members)`;
    }
    if (ev.error) p += ` (evidence unavailable: ${ev.error})`;
    $("f-proba").textContent = p;
    $("f-date").textContent = m.date === null ? "–" : String(m.date);
    $("f-pos").textContent = `${m.lat === null ? "–" : fmt(m.lat, 1) + "°"} / ${m.lon === null ? "–" : fmt(m.lon, 1) + "°"} (Carrington)`;
    const block = m.block_months ? ` · block of months ${m.block_months.join(", ")}` : "";
    $("f-month").textContent = `${m.month === null ? "–" : m.month}${block} · pass ${m.pass}`;
  }

  function showMark() {
    $("f-mark").textContent = view.mark === null ? "none (M marks the current frame)" : `frame ${view.mark} (sent with E)`;
    drawMarks();
  }

  async function show(video) {
    view.video = video;
    let d;
    try { d = await load(video); } catch (e) { message(String(e)); return; }
    if (view.video !== video) return; // a newer state arrived meanwhile
    view.data = d;
    view.frame = 0; view.mark = null; view.lastDraw = performance.now();
    if (!image || off.width !== d.shape[2] || off.height !== d.shape[1]) setupCanvas(d.shape);
    $("scrub").max = String(d.shape[0] - 1);
    $("cb-min").textContent = `−${fmt(d.vmax, 0)} G`;
    $("cb-max").textContent = `+${fmt(d.vmax, 0)} G`;
    showFacts(d.meta);
    drawCurve(); showMark(); draw();
    view.shownAt = performance.now();
  }

  function eta(s) {
    if (s.eta_seconds === null || s.eta_seconds === undefined) return "";
    const t = s.eta_seconds;
    const left = t < 90 ? `${Math.round(t)} s` : t < 5400 ? `${Math.round(t / 60)} min` : `${(t / 3600).toFixed(1)} h`;
    return `about ${left} left (median ${fmt(s.median_seconds, 1)} s per video)`;
  }

  function overlay(text) {
    $("status-overlay").hidden = text === null;
    if (text !== null) $("status-text").textContent = text;
  }

  function apply(s) {
    const key = `${s.session || ""}`;
    if (view.state && key === view.key && s.version !== undefined && s.version < view.state.version) return;
    view.state = s; view.key = key;
    $("reviewer").textContent = s.reviewer ? `reviewer: ${s.reviewer}` : "";
    if (s.status === "waiting") {
      $("pass").textContent = "no pass"; $("progress").textContent = ""; $("eta").textContent = "";
      overlay("No pass is under review: the models are training, or the review is over. This page updates by itself.");
      return;
    }
    if (s.status === "stopped") {
      overlay("Review stopped: every verdict given so far is kept. Call fit (or the skflux command) again to resume; reopen the address it prints.");
      return;
    }
    $("pass").textContent = `pass ${s.pass}`;
    const skipped = s.skipped.length ? ` · ${s.skipped.length} skipped` : "";
    const at = s.current === null ? s.n_done : s.n_done + 1;
    $("progress").textContent = `${Math.min(at, s.n_total)} of ${s.n_total}${skipped}`;
    $("eta").textContent = eta(s);
    $("held").textContent = s.undoable === null ? "" : `last verdict (video #${s.undoable}) saved: U undoes it (the undo is logged too)`;
    $("btn-finish").disabled = s.current !== null;
    $("btn-u").disabled = s.undoable === null;
    if (s.current === null) {
      overlay(s.undoable !== null
        ? "Every video of this pass has a verdict (all saved). Enter: finish the pass; U: undo the last verdict."
        : "This pass is finished. Waiting for the next pass…");
      return;
    }
    overlay(null);
    if (s.current !== view.video) show(s.current);
    if (s.next !== null) load(s.next).catch(() => {});
  }

  function message(text) { $("message").textContent = text || ""; }

  async function refresh() {
    try {
      const r = await api(`/api/state?client=${CLIENT}`);
      if (r.status === 403) { overlay("This address lacks the right token: open the address skflux printed."); return; }
      if (r.ok) apply(await r.json());
    } catch (e) {
      overlay("The review server does not answer (stopped?). Reopen the address skflux prints.");
    }
  }

  // ------------------------------------------------------------------ actions
  async function act(kind, body, t0) {
    if (view.busy) return;
    view.busy = true;
    try {
      const { status, data } = await post(`/api/${kind}`, body);
      if (status === 200) {
        message("");
        if (kind === "verdict") stats.verdictMs.push(performance.now() - t0);
        if (data.state.current !== null && data.state.current !== view.video) view.pendingT0 = t0;
        apply(data.state);
      } else {
        message(data && data.error ? `${data.error} (HTTP ${status})` : `HTTP ${status}`);
        if (data && data.state) apply(data.state);
        else refresh();
      }
    } catch (e) {
      message(`the server did not answer (${e})`);
    } finally {
      view.busy = false;
    }
  }

  function verdict(label, t0) {
    const s = view.state;
    if (!s || s.current === null || view.video !== s.current || !view.data) return;
    const body = { video: view.video, label, seconds: (performance.now() - view.shownAt) / 1000 };
    if (label === 1 && view.mark !== null) body.emergence_frame = view.mark;
    act("verdict", body, t0);
  }

  function step(delta) {
    if (!view.data) return;
    view.playing = false; playButton();
    const n = view.data.shape[0];
    view.frame = Math.min(n - 1, Math.max(0, view.frame + delta));
    draw();
  }

  function playButton() { $("btn-play").innerHTML = view.playing ? "&#10074;&#10074;" : "&#9654;&#xFE0E;"; }

  const commands = {
    e: (t0) => verdict(1, t0),
    n: (t0) => verdict(0, t0),
    s: (t0) => { if (view.state && view.state.current !== null) act("skip", { video: view.state.current }, t0); },
    u: (t0) => { if (view.state && view.state.undoable !== null) act("undo", { video: view.state.undoable }, t0); },
    left: () => step(-1),
    right: () => step(1),
    play: () => { view.playing = !view.playing; view.lastDraw = performance.now(); playButton(); },
    j: () => {
      const ev = view.data ? view.data.meta.evidence : {};
      if (ev.emergence_frame === undefined || ev.emergence_frame === null) { message("no located emergence frame for this video"); return; }
      view.playing = false; playButton(); view.frame = ev.emergence_frame; draw();
    },
    m: () => { if (!view.data) return; view.mark = view.mark === view.frame ? null : view.frame; showMark(); draw(); },
    finish: (t0) => { if (view.state && view.state.current === null && view.state.status === "reviewing") act("finish", {}, t0); },
    q: (t0) => act("stop", {}, t0),
    help: () => { $("help").hidden = !$("help").hidden; },
  };
  const keys = {
    e: "e", n: "n", s: "s", u: "u", Backspace: "u", ArrowLeft: "left", ArrowRight: "right",
    " ": "play", j: "j", m: "m", Enter: "finish", q: "q", "?": "help",
  };

  document.addEventListener("keydown", (ev) => {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (ev.target && ev.target.tagName === "SELECT") return;
    if (ev.key === "Escape") { $("help").hidden = true; return; }
    const name = keys[ev.key.length === 1 ? ev.key.toLowerCase() : ev.key] || keys[ev.key];
    if (!name) return;
    ev.preventDefault();
    commands[name](performance.now());
  });
  const buttons = { "btn-e": "e", "btn-n": "n", "btn-s": "s", "btn-u": "u", "btn-prev": "left",
                    "btn-next": "right", "btn-play": "play", "btn-j": "j", "btn-m": "m",
                    "btn-finish": "finish", "btn-q": "q", "btn-help": "help" };
  for (const [id, name] of Object.entries(buttons)) {
    $(id).addEventListener("click", (ev) => { ev.currentTarget.blur(); commands[name](performance.now()); });
  }
  $("scrub").addEventListener("input", () => {
    view.playing = false; playButton(); view.frame = Number($("scrub").value); draw();
  });
  $("speed").addEventListener("change", () => { view.fps = Number($("speed").value); $("speed").blur(); });
  window.addEventListener("pagehide", () => {
    navigator.sendBeacon(`/api/bye?token=${TOKEN}`, JSON.stringify({ client: CLIENT }));
  });

  post("/api/hello", {}).catch(() => {});
  refresh();
  setInterval(refresh, 1000);
  requestAnimationFrame(tick);
})();
