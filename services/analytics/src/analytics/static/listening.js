// Listening (issue 26): trending terms with sparklines, sentiment per product beside its star
// ratings, search gaps and recent alerts, from the service's /listening/* endpoints. Its own
// file: the dashboard's script draws the metrics, this one only the Listening section.
// Sparklines are inline SVG (no canvas, no chart library needed).
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const state = { window: "24h" };

  async function getJson(path) {
    const r = await fetch(path, { headers: { accept: "application/json" } });
    const body = await r.json();
    if (!r.ok) throw new Error(body.detail || `${path}: HTTP ${r.status}`);
    return body;
  }

  function el(tag, attrs = {}, text = "") {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text !== "") e.textContent = text;
    return e;
  }

  function empty(target, message, cols) {
    const row = el("tr");
    row.append(el("td", { class: "empty", colspan: String(cols) }, message));
    target.replaceChildren(row);
  }

  // a sparkline of counts: an SVG polyline, the last point marked
  function sparkline(points, width = 120, height = 26) {
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("class", "spark");
    svg.setAttribute("width", width);
    svg.setAttribute("height", height);
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", `counts: ${points.join(", ")}`);
    const max = Math.max(1, ...points);
    const step = points.length > 1 ? (width - 4) / (points.length - 1) : 0;
    const xy = points.map((v, i) => [2 + i * step, height - 2 - (v / max) * (height - 4)]);
    const line = document.createElementNS(ns, "polyline");
    line.setAttribute("points", xy.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(" "));
    svg.append(line);
    if (xy.length) {
      const dot = document.createElementNS(ns, "circle");
      const [x, y] = xy[xy.length - 1];
      dot.setAttribute("cx", x.toFixed(1));
      dot.setAttribute("cy", y.toFixed(1));
      dot.setAttribute("r", "2.5");
      svg.append(dot);
    }
    return svg;
  }

  function trending(body) {
    const tbody = $("ls-trending");
    $("ls-trending-note").textContent =
      `${body.items_in_window} items in the window, ${body.items_in_baseline} in the ` +
      `28 days before (${body.baseline_from} – ${body.baseline_to})`;
    if (!body.items.length) return empty(tbody, "Nothing is talked about more than usual.", 4);
    tbody.replaceChildren(
      ...body.items.map((t) => {
        const row = el("tr");
        const term = el("td");
        term.append(el("strong", {}, t.display));
        term.append(el("div", { class: "muted" }, `${t.authors} members`));
        const spark = el("td");
        spark.append(sparkline(t.series));
        row.append(term, el("td", { class: "num" }, String(t.count)),
          el("td", { class: "num" }, `×${t.lift.toFixed(1)}`), spark);
        return row;
      }),
    );
  }

  function sentiment(items) {
    const tbody = $("ls-sentiment");
    if (!items.length) return empty(tbody, "No scored posts in this range.", 4);
    tbody.replaceChildren(
      ...items.map((p) => {
        const row = el("tr");
        const bar = el("td");
        const wrap = el("div", { class: "ls-mix", title:
          `${Math.round(100 * p.positive_share)}% positive · ${Math.round(100 * p.neutral_share)}% neutral · ${Math.round(100 * p.negative_share)}% negative` });
        for (const [cls, share] of [["pos", p.positive_share], ["neu", p.neutral_share], ["neg", p.negative_share]]) {
          const part = el("span", { class: cls });
          part.style.width = `${(100 * share).toFixed(1)}%`;
          wrap.append(part);
        }
        bar.append(wrap);
        const r = p.rating;
        const stars = r && r.mean !== null ? `★ ${r.mean.toFixed(2)} (${r.count})` : "no ratings";
        row.append(el("td", {}, p.key), el("td", { class: "num" }, p.mean_compound.toFixed(2)),
          bar, el("td", { class: "num" }, stars));
        return row;
      }),
    );
  }

  function gaps(items) {
    const tbody = $("ls-gaps");
    if (!items.length) return empty(tbody, "Every search found something.", 4);
    tbody.replaceChildren(
      ...items.map((g) => {
        const row = el("tr");
        row.append(el("td", {}, g.query), el("td", { class: "num" }, String(g.searches)),
          el("td", { class: "num" }, String(g.zero_results)),
          el("td", { class: "num" }, String(g.asked_anyway)));
        return row;
      }),
    );
  }

  function alerts(items) {
    const list = $("ls-alerts");
    if (!items.length) {
      list.replaceChildren(el("li", { class: "empty" }, "No spikes."));
      return;
    }
    list.replaceChildren(
      ...items.map((a) => {
        const li = el("li", { class: a.type === "SentimentDropped" ? "neg" : "q" });
        const what = a.type === "SentimentDropped" ? "negative posts" : "questions";
        li.append(el("strong", {}, `${a.dimension} ${a.key}`));
        li.append(document.createTextNode(
          ` · ${a.count} ${what} on ${a.day} (×${a.lift.toFixed(1)} the usual ${a.baseline.toFixed(1)}/day)`));
        return li;
      }),
    );
  }

  async function load() {
    const from = $("from").value, to = $("to").value;
    document.body.dataset.listening = "loading";
    const range = from && to && from <= to ? `from=${from}&to=${to}` : "";
    try {
      const [trend, sent, gap, alert] = await Promise.all([
        getJson(`/listening/trending?window=${state.window}&limit=10`),
        getJson(`/listening/sentiment?group_by=product&limit=8${range ? "&" + range : ""}`),
        getJson(`/listening/search-gaps?limit=8${range ? "&" + range : ""}`),
        getJson("/listening/alerts?limit=8"),
      ]);
      trending(trend);
      sentiment(sent.items);
      gaps(gap.items);
      alerts(alert.items);
      $("ls-error").hidden = true;
      window.__listening = { trending: trend, sentiment: sent.items, gaps: gap.items, alerts: alert.items };
      document.body.dataset.listening = "ready";
    } catch (e) {
      $("ls-error").textContent = `Could not load listening: ${e.message}`;
      $("ls-error").hidden = false;
      document.body.dataset.listening = "error";
    }
  }

  function init() {
    for (const b of document.querySelectorAll("#ls-window button")) {
      b.addEventListener("click", () => {
        state.window = b.dataset.window;
        for (const o of document.querySelectorAll("#ls-window button")) {
          o.classList.toggle("on", o === b);
        }
        load();
      });
    }
    // the page's range applies to sentiment and search gaps too
    $("range").addEventListener("submit", () => setTimeout(load, 0));
    load();
  }

  document.addEventListener("DOMContentLoaded", init);
})();
