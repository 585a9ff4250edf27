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
    contrast: 100, sat: null, lut: null, loopStart: 0, located: null, ended: null, resume: null,
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
        const soft = parseFloat(r.headers.get("X-Skflux-Softening") || "NaN");
        // the field (G) of each level: linear, or asinh with softening soft * vmax
        const gauss = new Float64Array(256);
        for (let u = 0; u < 256; u++) {
          const x = (u - 127.5) / 127.5;
          gauss[u] = Number.isFinite(soft) ? soft * vmax * Math.sinh(x * Math.asinh(1 / soft)) : x * vmax;
        }
        return { frames: new Uint8Array(await r.arrayBuffer()), shape, vmax, gauss };
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
    const scale = Math.max(1, Math.floor(400 / Math.max(h, w)));
    canvas.width = w * scale; canvas.height = h * scale;
    canvas.style.width = `${400 * w / Math.max(h, w)}px`;
    canvas.style.height = `${400 * h / Math.max(h, w)}px`;
  }

  // contrast: the frames come scaled to +-vmax G (0..255, asinh: fine near 0 G); a lookup
  // table maps each level's field linearly to +-sat G, sat = vmax * 20^((contrast - 100) / 100)
  function setContrast(level) {
    view.contrast = Math.min(100, Math.max(0, level));
    $("contrast").value = String(view.contrast);
    const d = view.data;
    if (!d) return;
    view.sat = d.vmax * Math.pow(20, (view.contrast - 100) / 100);
    const lut = new Uint8Array(256), k = 127.5 / view.sat;
    for (let u = 0; u < 256; u++) lut[u] = Math.min(255, Math.max(0, Math.round(d.gauss[u] * k + 127.5)));
    view.lut = lut;
    const g = view.sat >= 10 ? view.sat.toFixed(0) : view.sat.toPrecision(2);
    $("cb-min").textContent = `−${g} G`;
    $("cb-max").textContent = `+${g} G`;
    $("contrast").title = `saturation ±${g} G (the frames came scaled to ±${fmt(d.vmax, 0)} G)`;
    drawKeyframes();
    draw();
  }

  function paint(target, d, frame) { // one frame of d into an ImageData, north up
    const [, h, w] = d.shape;
    const base = frame * h * w, px = target.data, lut = view.lut;
    for (let r = 0; r < h; r++) { // north up: the last latitude row on top
      const src = base + (h - 1 - r) * w;
      let dst = r * w * 4;
      for (let c = 0; c < w; c++) {
        const u = lut[d.frames[src + c]];
        px[dst] = u; px[dst + 1] = u; px[dst + 2] = u; px[dst + 3] = 255;
        dst += 4;
      }
    }
  }

  function draw() {
    const d = view.data;
    if (!d || !view.lut) return;
    paint(image, d, view.frame);
    offCtx.putImageData(image, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(off, 0, 0, canvas.width, canvas.height);
    stats.drawn += 1;
    const n = d.shape[0];
    $("scrub").value = String(view.frame);
    $("frame-label").textContent = `frame ${view.frame} / ${n - 1}`;
    const times = d.meta.frame_times;
    $("frame-time").textContent = times && times[view.frame] ? `${times[view.frame]} UT` : "";
    for (const el of document.querySelectorAll(".keyframe")) {
      el.classList.toggle("current", Number(el.dataset.frame) === view.frame);
    }
    const notes = [];
    if (d.meta.unobserved.includes(view.frame)) notes.push("unobserved (filled)");
    if (d.meta.off_disk.includes(view.frame)) notes.push("off the disk");
    if (view.mark === view.frame) notes.push("marked emergence frame");
    $("frame-note").textContent = notes.join(" · ");
    $("frame-note").hidden = notes.length === 0;
    drawCursor(); drawFluxCursor();
    if (view.pendingT0 !== null && d.meta.video === view.video) { // first frame after a verdict
      stats.firstFrameMs.push(performance.now() - view.pendingT0);
      view.pendingT0 = null;
    }
  }

  let fpsCount = 0, fpsSince = performance.now();
  function tick(now) {
    if (view.playing && view.data && now - view.lastDraw >= 1000 / view.fps - 2) {
      view.lastDraw = now;
      const n = view.data.shape[0], start = Math.min(view.loopStart, n - 1);
      view.frame = view.frame + 1 >= n || view.frame < start ? start : view.frame + 1;
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
    if (view.located !== null) {
      g.fillStyle = "#b3261e"; g.fillRect(x(view.located) - 1.5, 0, 3, 12);
    }
    if (view.mark !== null) { g.fillStyle = "#1f5fa8"; g.fillRect(x(view.mark) - 1.5, 5, 3, 7); }
  }

  function drawCurve() {
    const svg = $("curve");
    const ev = view.data ? view.data.meta.evidence : {};
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    if (!ev.curves || !ev.curves.length) { $("curve-box").hidden = true; return; }
    $("curve-box").hidden = false;
    const W = 320, H = 120, L = 28, B = 16, n = ev.curves[0].length;
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
    if (view.located !== null) {
      add("line", { x1: x(view.located), y1: y(0), x2: x(view.located), y2: y(1),
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

  // ------------------------------------------------------------------ axes, summary strip
  function niceStep(span, want) {
    const raw = span / Math.max(1, want), p = Math.pow(10, Math.floor(Math.log10(raw)));
    for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= raw) return m * p;
    return 10 * p;
  }

  function drawAxes() { // tick labels beside the canvas: lat rows (north up), lon columns
    const d = view.data, m = d.meta;
    const kinds = { carrington: ["Carrington latitude", "Carrington longitude"],
                    offset: ["latitude offset", "longitude offset"], pixel: ["pixel row", "pixel column"] };
    const [latTitle, lonTitle] = kinds[m.axis_kind] || kinds.pixel;
    const unit = m.axis_kind === "pixel" ? "" : "°";
    const W = canvas.getBoundingClientRect().width, H = canvas.getBoundingClientRect().height;
    $("axis-lat").style.height = `${H}px`;
    $("axis-lon").style.width = `${W}px`;
    const place = (el, values, length, vertical, title) => {
      el.replaceChildren();
      const t = document.createElement("span"); t.className = "title"; t.textContent = title;
      const n = values.length, a = values[0], b = values[n - 1];
      if (n < 2 || a === b) { el.append(t); return; }
      const step = niceStep(Math.abs(b - a), vertical ? 5 : 6);
      const lo = Math.min(a, b), hi = Math.max(a, b);
      for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) {
        const fi = (v - a) / (b - a) * (n - 1); // fractional pixel index
        const pos = vertical ? (n - 1 - fi + 0.5) / n * length : (fi + 0.5) / n * length;
        const tick = document.createElement("span"); tick.className = "tick";
        tick.textContent = `${Number(v.toFixed(3))}${unit}`;
        tick.style[vertical ? "top" : "left"] = `${pos.toFixed(1)}px`;
        el.append(tick);
      }
      el.append(t);
    };
    place($("axis-lat"), m.lat_axis, H, true, latTitle);
    place($("axis-lon"), m.lon_axis, W, false, lonTitle);
  }

  function seek(frame) {
    if (!view.data) return;
    view.playing = false; playButton();
    view.frame = Math.min(view.data.shape[0] - 1, Math.max(0, frame));
    draw();
  }

  function drawKeyframes() {
    const box = $("keyframes"), d = view.data;
    box.replaceChildren();
    if (!d || !view.lut || !d.meta.summary) return;
    const [, h, w] = d.shape, times = d.meta.frame_times;
    d.meta.summary.key_frames.forEach((f, k) => {
      const item = document.createElement("div");
      item.className = "keyframe" + (f === view.located ? " located" : "");
      item.dataset.frame = String(f);
      item.title = `key frame ${k + 1} (key ${k + 1}): frame ${f}` + (f === view.located ? ", the located emergence frame" : "");
      const c = document.createElement("canvas"); c.width = w; c.height = h;
      const g = c.getContext("2d"), im = g.createImageData(w, h);
      paint(im, d, f); g.putImageData(im, 0, 0);
      const label = document.createElement("span");
      const when = times && times[f] ? ` · ${times[f].slice(5)}` : "";
      label.textContent = `${f === view.located ? "▲ " : ""}${f}${when}`;
      item.append(c, label);
      item.addEventListener("click", () => seek(f));
      box.append(item);
    });
  }

  const FLUX = { W: 320, H: 90, L: 34, R: 6, T: 6, B: 16 };
  function fluxX(f, n) { return FLUX.L + (n > 1 ? f / (n - 1) : 0.5) * (FLUX.W - FLUX.L - FLUX.R); }

  function drawFlux() {
    const svg = $("flux"), d = view.data;
    svg.replaceChildren();
    const sm = d && d.meta.summary;
    if (!sm || !sm.unsigned_flux.some((v) => v !== null)) { $("flux-box").hidden = true; return; }
    $("flux-box").hidden = false;
    const { W, H, L, R, T, B } = FLUX, n = sm.unsigned_flux.length;
    const all = sm.unsigned_flux.concat(sm.signed_flux).filter((v) => v !== null);
    const top = Math.max(...all, 0), bottom = Math.min(...all, 0);
    const big = Math.max(Math.abs(top), Math.abs(bottom)) || 1;
    const e = Math.floor(Math.log10(big)), unit = Math.pow(10, e);
    const sup = String(e).replace(/./g, (ch) => "⁰¹²³⁴⁵⁶⁷⁸⁹"["0123456789".indexOf(ch)] || "⁻");
    $("flux-unit").textContent = `(10${sup} Mx)`;
    $("flux-box").title = `flux = field × pixel area summed over the patch (${sm.area_note}); line-of-sight field, a summary, not a measurement`;
    const span = (top - bottom) || 1;
    const y = (v) => T + (top - v) / span * (H - T - B);
    const add = (tag, attrs) => {
      const el = document.createElementNS(SVG, tag);
      for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
      svg.appendChild(el); return el;
    };
    add("line", { x1: L, y1: y(0), x2: W - R, y2: y(0), stroke: "#bbb" });
    add("line", { x1: L, y1: T, x2: L, y2: H - B, stroke: "#999" });
    for (const v of [top, 0, bottom]) {
      if (v !== 0 && Math.abs(y(v) - y(0)) < 10) continue;
      add("text", { x: L - 3, y: y(v) + 3, "font-size": 10, fill: "#666", "text-anchor": "end" })
        .textContent = (v / unit).toFixed(Math.abs(v / unit) < 10 ? 1 : 0);
    }
    add("text", { x: L, y: H - 3, "font-size": 10, fill: "#666" }).textContent = "0";
    add("text", { x: W - R, y: H - 3, "font-size": 10, fill: "#666", "text-anchor": "end" })
      .textContent = String(n - 1);
    add("text", { x: (L + W) / 2, y: H - 3, "font-size": 10, fill: "#666", "text-anchor": "middle" })
      .textContent = "frame";
    for (const f of sm.key_frames) {
      add("line", { x1: fluxX(f, n), y1: H - B, x2: fluxX(f, n), y2: H - B - 4, stroke: "#666" });
    }
    const line = (vals, attrs) => {
      const pts = vals.map((v, f) => [f, v]).filter(([, v]) => v !== null)
        .map(([f, v]) => `${fluxX(f, n).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
      return add("polyline", Object.assign({ points: pts, fill: "none" }, attrs));
    };
    line(sm.unsigned_flux, { id: "flux-unsigned", stroke: "#1d1d1f", "stroke-width": 1.6 });
    line(sm.signed_flux, { id: "flux-signed", stroke: "#c06000", "stroke-width": 1.4,
                           "stroke-dasharray": "4 2" });
    if (view.located !== null) {
      add("line", { x1: fluxX(view.located, n), y1: T, x2: fluxX(view.located, n), y2: H - B,
                    stroke: "#b3261e", "stroke-width": 1.5 });
    }
    add("line", { id: "flux-cursor", x1: L, y1: T, x2: L, y2: H - B, stroke: "#1f5fa8" });
    svg.dataset.n = String(n);
  }

  function drawFluxCursor() {
    const cur = document.getElementById("flux-cursor");
    if (!cur) return;
    const px = fluxX(view.frame, Number($("flux").dataset.n || "1")).toFixed(1);
    cur.setAttribute("x1", px); cur.setAttribute("x2", px);
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
    const f = ev.emergence_frame, times = m.frame_times;
    let located;
    if (ev.located === false || (ev.curves && (f === undefined || f === null))) {
      located = "no emergence located (the largest change is at the lower bound, or too few observed frames)";
      if (ev.lower_bound !== undefined) {
        const n = ev.n_observed_frames;
        located = `no emergence located (the largest change is at the lower bound, frame ${ev.lower_bound}, or too few observed frames: ${n === undefined ? "–" : n} from it on)`;
      }
    } else if (f === undefined || f === null) {
      located = "– (no masking curves)";
    } else {
      located = `frame ${f}` + (times && times[f] ? ` · ${times[f]} UT` : "");
    }
    $("f-located").textContent = located;
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
    const ev = d.meta.evidence || {};
    const f = ev.emergence_frame;
    view.located = ev.located === false || f === undefined || f === null ? null : f;
    view.loopStart = $("start-located").checked && view.located !== null ? view.located : 0;
    view.frame = view.loopStart; view.mark = null; view.lastDraw = performance.now();
    if (!image || off.width !== d.shape[2] || off.height !== d.shape[1]) setupCanvas(d.shape);
    $("scrub").max = String(d.shape[0] - 1);
    showFacts(d.meta);
    drawAxes(); drawCurve(); drawFlux(); showMark();
    setContrast(view.contrast); // draws the key frames and the frame
    view.shownAt = performance.now();
  }

  function eta(s) {
    if (s.eta_seconds === null || s.eta_seconds === undefined) return "";
    const t = s.eta_seconds;
    const left = t < 90 ? `${Math.round(t)} s` : t < 5400 ? `${Math.round(t / 60)} min` : `${(t / 3600).toFixed(1)} h`;
    return `about ${left} left (median ${fmt(s.median_seconds, 1)} s per video)`;
  }

  function overlay(text, command = null, detail = "") {
    $("status-overlay").hidden = text === null;
    if (text === null) return;
    $("status-text").textContent = text;
    $("status-command").hidden = !command;
    $("status-command").textContent = command || "";
    $("status-detail").textContent = detail;
  }

  function stoppedOverlay() {
    const r = view.resume || {};
    overlay("Review stopped: every verdict given so far is saved in the review log. To resume:",
            r.command || "", r.how || "Call fit (or the skflux command) again; reopen the address it prints: it changes.");
  }

  function endedOverlay(last, serverGone) {
    const n = last.n_committed, total = last.n_total;
    const head = `Pass ${last.pass} is over: ${n} of ${total} videos have a verdict, all saved in the review log.`;
    overlay(head, null, serverGone
      ? "The review server has stopped: the relabeling is done (or was stopped). You can close this page."
      : "The models are training for the next pass, or the relabeling is done. This page updates by itself.");
  }

  function apply(s) {
    const key = `${s.session || ""}`;
    if (view.state && key === view.key && s.version !== undefined && s.version < view.state.version) return;
    view.state = s; view.key = key;
    if (s.resume) view.resume = s.resume;
    $("reviewer").textContent = s.reviewer ? `reviewer: ${s.reviewer}` : "";
    if (s.status === "reviewing" && view.ended && view.ended.session !== s.session) view.ended = null;
    if (s.status === "stopped" || (view.ended && view.ended.status === "stopped")) {
      if (!view.ended) view.ended = { status: "stopped", session: s.session, last: s };
      view.playing = false; playButton();
      stoppedOverlay();
      return;
    }
    if (s.status === "finished") {
      view.ended = { status: "finished", session: s.session, last: s };
      view.playing = false; playButton();
      endedOverlay(s, false);
      return;
    }
    if (s.status === "waiting") {
      $("pass").textContent = "no pass"; $("progress").textContent = ""; $("eta").textContent = "";
      const last = s.last_pass;
      if (last && last.status === "stopped") {
        view.ended = { status: "stopped", session: last.session, last };
        stoppedOverlay();
      } else if (last) {
        view.ended = { status: "finished", session: last.session, last };
        endedOverlay(last, false);
      } else {
        overlay("No pass is under review yet: the models are training. This page updates by itself.");
      }
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
      if (view.ended && view.ended.status === "stopped") stoppedOverlay();
      else if (view.ended) endedOverlay(view.ended.last, true);
      else overlay("The review server does not answer (stopped?). Reopen the address skflux prints.");
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
      if (!view.data) return;
      if (view.located === null) { message("no emergence located for this video"); return; }
      message(""); seek(view.located);
    },
    l: () => { // play from the located frame; again: the whole clip
      if (!view.data) return;
      if (view.located === null) { message("no emergence located for this video: playing the whole clip"); view.loopStart = 0; }
      else if (view.loopStart === view.located && view.playing) { view.loopStart = 0; message(""); }
      else { view.loopStart = view.located; view.frame = view.located; message(""); }
      view.playing = true; view.lastDraw = performance.now(); playButton(); draw();
    },
    darker: () => setContrast(view.contrast - 10),
    lighter: () => setContrast(view.contrast + 10),
    m: () => { if (!view.data) return; view.mark = view.mark === view.frame ? null : view.frame; showMark(); draw(); },
    finish: (t0) => { if (view.state && view.state.current === null && view.state.status === "reviewing") act("finish", {}, t0); },
    q: (t0) => act("stop", {}, t0),
    help: () => { $("help").hidden = !$("help").hidden; },
  };
  const keys = {
    e: "e", n: "n", s: "s", u: "u", Backspace: "u", ArrowLeft: "left", ArrowRight: "right",
    " ": "play", j: "j", l: "l", m: "m", Enter: "finish", q: "q", "?": "help",
    "[": "darker", "]": "lighter",
  };

  document.addEventListener("keydown", (ev) => {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (ev.target && ev.target.tagName === "SELECT") return;
    if (ev.target && ev.target.id === "contrast" && ev.key.startsWith("Arrow")) return;
    if (ev.key === "Escape") { $("help").hidden = true; return; }
    if (/^[1-9]$/.test(ev.key) && view.data && view.data.meta.summary) { // key frame k
      const f = view.data.meta.summary.key_frames[Number(ev.key) - 1];
      if (f !== undefined) { ev.preventDefault(); seek(f); }
      return;
    }
    const name = keys[ev.key.length === 1 ? ev.key.toLowerCase() : ev.key] || keys[ev.key];
    if (!name) return;
    ev.preventDefault();
    commands[name](performance.now());
  });
  const buttons = { "btn-e": "e", "btn-n": "n", "btn-s": "s", "btn-u": "u", "btn-prev": "left",
                    "btn-next": "right", "btn-play": "play", "btn-j": "j", "btn-l": "l", "btn-m": "m",
                    "btn-finish": "finish", "btn-q": "q", "btn-help": "help" };
  for (const [id, name] of Object.entries(buttons)) {
    $(id).addEventListener("click", (ev) => { ev.currentTarget.blur(); commands[name](performance.now()); });
  }
  $("scrub").addEventListener("input", () => {
    view.playing = false; playButton(); view.frame = Number($("scrub").value); draw();
  });
  $("speed").addEventListener("change", () => { view.fps = Number($("speed").value); $("speed").blur(); });
  $("contrast").addEventListener("input", () => setContrast(Number($("contrast").value)));
  $("contrast").addEventListener("change", () => $("contrast").blur());
  try { $("start-located").checked = localStorage.getItem("skflux.startLocated") === "1"; } catch (e) { /* no storage */ }
  $("start-located").addEventListener("change", () => {
    try { localStorage.setItem("skflux.startLocated", $("start-located").checked ? "1" : "0"); } catch (e) { /* no storage */ }
    $("start-located").blur();
  });
  $("flux").addEventListener("click", (ev) => {
    if (!view.data) return;
    const r = $("flux").getBoundingClientRect(), n = view.data.shape[0];
    const x = (ev.clientX - r.left) * FLUX.W / r.width;
    seek(Math.round((x - FLUX.L) / (FLUX.W - FLUX.L - FLUX.R) * (n - 1)));
  });
  window.addEventListener("pagehide", () => {
    navigator.sendBeacon(`/api/bye?token=${TOKEN}`, JSON.stringify({ client: CLIENT }));
  });

  post("/api/hello", {}).catch(() => {});
  refresh();
  setInterval(refresh, 1000);
  requestAnimationFrame(tick);
})();
