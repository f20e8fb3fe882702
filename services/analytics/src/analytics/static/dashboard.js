// Community analytics dashboard: reads the service's own JSON endpoints and draws them with
// the Chart.js build this service serves (/static/vendor), so it works offline.
"use strict";

const MAX_DAYS = 366;
const COLORS = {
  blue: "#3d5afe", teal: "#00b8a9", orange: "#ff8a3d", purple: "#8e5cf7",
  red: "#e5484d", green: "#1fa971", grey: "#9aa3b5",
};
const charts = {};

const $ = (id) => document.getElementById(id);
const iso = (d) => d.toISOString().slice(0, 10);
const todayUtc = () => iso(new Date());
const addDays = (day, n) => {
  const d = new Date(day + "T00:00:00Z");
  d.setUTCDate(d.getUTCDate() + n);
  return iso(d);
};
const spanDays = (a, b) =>
  Math.round((Date.parse(b + "T00:00:00Z") - Date.parse(a + "T00:00:00Z")) / 86400000) + 1;

const pct = (v) => (v === null || v === undefined ? "–" : `${(100 * v).toFixed(v === 1 ? 0 : 1)}%`);
const num = (v) => (v === null || v === undefined ? "–" : Number(v).toLocaleString("en"));
function duration(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172800) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86400).toFixed(1)} d`;
}

async function getJson(path) {
  const r = await fetch(path, { headers: { accept: "application/json" } });
  const body = await r.json();
  if (!r.ok) throw new Error(body.detail || `${path}: HTTP ${r.status}`);
  return body;
}

function showError(message) {
  const el = $("error");
  el.textContent = message;
  el.hidden = !message;
}

function draw(id, config) {
  if (charts[id]) charts[id].destroy();
  config.options = Object.assign(
    { responsive: true, maintainAspectRatio: false, animation: false },
    config.options || {},
  );
  charts[id] = new Chart($(id), config);
}

function kpis(o) {
  const cards = [
    ["Active users", num(o.active_users), `${num(o.previous_active_users)} in the previous period`],
    ["New contributors", num(o.new_contributors), "first event ever"],
    ["Posts", num(o.posts), `${num(o.questions)} questions · ${num(o.replies)} replies`],
    ["Reviews", num(o.reviews), ""],
    ["Ideas submitted", num(o.ideas_submitted), `${num(o.votes)} votes cast`],
    ["Response rate", pct(o.response_rate), "questions with a reply from someone else"],
    ["Median first response", duration(o.ttfr_median_seconds),
      o.ttfr_misses ? `${o.ttfr_misses} unanswered (misses)` : "no misses"],
    ["p90 first response", duration(o.ttfr_p90_seconds),
      o.ttfr_p90_seconds === null && o.ttfr_misses ? "lands on a miss" : ""],
    ["Within SLA", pct(o.responded_within_sla),
      `SLA ${duration(o.sla_seconds)}${o.sla_pending ? ` · ${o.sla_pending} pending` : ""}`],
    ["Solution rate", pct(o.solution_rate), "accepted answers"],
    ["Escalation rate", pct(o.escalation_rate), "sent to support"],
    ["Peer-solved share", pct(o.peer_solved_share), "solved without support/staff"],
  ];
  $("kpis").innerHTML = "";
  for (const [label, value, hint] of cards) {
    const div = document.createElement("div");
    div.className = "kpi";
    div.innerHTML = `<div class="label"></div><div class="value"></div><div class="hint"></div>`;
    div.querySelector(".label").textContent = label;
    div.querySelector(".value").textContent = value;
    div.querySelector(".hint").textContent = hint;
    $("kpis").appendChild(div);
  }
}

function lineSet(label, points, color, extra = {}) {
  return Object.assign({
    label, data: points.map((p) => p.value), borderColor: color, backgroundColor: color + "33",
    tension: 0.3, pointRadius: points.length > 45 ? 0 : 2.5, borderWidth: 2, spanGaps: true,
  }, extra);
}

function activity(series, days) {
  draw("activity", {
    type: "line",
    data: {
      labels: days,
      datasets: [
        lineSet("Active users", series.active_users, COLORS.blue, { fill: true }),
        lineSet("Posts", series.posts, COLORS.teal),
        lineSet("Questions", series.questions, COLORS.orange),
        lineSet("Votes", series.votes, COLORS.purple),
      ],
    },
    options: { interaction: { mode: "index", intersect: false }, scales: { y: { beginAtZero: true } } },
  });
}

function rates(series, days) {
  const asPct = (pts) => pts.map((p) => ({ value: p.value === null ? null : 100 * p.value }));
  draw("rates", {
    type: "line",
    data: {
      labels: days,
      datasets: [
        lineSet("Response rate", asPct(series.response_rate), COLORS.blue),
        lineSet("Solution rate", asPct(series.solution_rate), COLORS.green),
        lineSet("Within SLA", asPct(series.responded_within_sla), COLORS.orange, { borderDash: [5, 4] }),
      ],
    },
    options: {
      interaction: { mode: "index", intersect: false },
      scales: { y: { min: 0, max: 100, ticks: { callback: (v) => v + "%" } } },
    },
  });
}

function ttfr(series, days, o) {
  const hours = (pts) => pts.map((p) => (p.value === null ? null : p.value / 3600));
  draw("ttfr", {
    type: "bar",
    data: {
      labels: days,
      datasets: [
        { label: "Median (h)", data: hours(series.ttfr_median_seconds), backgroundColor: COLORS.teal, borderRadius: 4 },
        { label: "p90 (h)", data: hours(series.ttfr_p90_seconds), backgroundColor: COLORS.blue + "99", borderRadius: 4 },
      ],
    },
    options: { scales: { y: { beginAtZero: true, title: { display: true, text: "hours" } } } },
  });
  $("ttfr-note").textContent =
    `Over the whole range: median ${duration(o.ttfr_median_seconds)}, p90 ${duration(o.ttfr_p90_seconds)}; ` +
    `${o.ttfr_misses} question(s) still unanswered count as misses (an empty bar is a percentile that is a miss).`;
}

function funnel(o) {
  const labels = Object.keys(o.idea_funnel);
  draw("funnel", {
    type: "bar",
    data: {
      labels: labels.map((s) => s.replace("_", " ")),
      datasets: [{
        label: "ideas that reached the status",
        data: labels.map((s) => o.idea_funnel[s]),
        backgroundColor: [COLORS.grey, COLORS.blue, COLORS.purple, COLORS.orange, COLORS.green, COLORS.red],
        borderRadius: 6,
      }],
    },
    options: { indexAxis: "y", plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } },
  });
  const med = o.idea_median_days_to_planned;
  $("funnel-note").textContent =
    `Ideas submitted in the range. Median time from submission to planned: ${med === null ? "–" : med + " days"}.`;
}

function health(o, formula) {
  const v = o.health_index;
  draw("health", {
    type: "doughnut",
    data: {
      labels: ["health", ""],
      datasets: [{
        data: v === null ? [0, 100] : [v, 100 - v],
        backgroundColor: [v === null ? COLORS.grey : v >= 70 ? COLORS.green : v >= 40 ? COLORS.orange : COLORS.red, "#eef0f5"],
        borderWidth: 0,
      }],
    },
    options: { rotation: -90, circumference: 180, cutout: "72%", plugins: { legend: { display: false }, tooltip: { enabled: false } } },
  });
  $("health-value").textContent = v === null ? "–" : v.toFixed(1);
  $("formula").textContent = formula;
}

function ratings(items) {
  const stars = ["1", "2", "3", "4", "5"];
  const palette = [COLORS.red, COLORS.orange, COLORS.grey, COLORS.teal, COLORS.green];
  draw("ratings", {
    type: "bar",
    data: {
      labels: items.map((p) => `${p.product_id} (${p.mean === null ? "–" : p.mean.toFixed(2)}★)`),
      datasets: stars.map((s, n) => ({
        label: `${s}★`, data: items.map((p) => p.distribution[s]), backgroundColor: palette[n], stack: "r",
      })),
    },
    options: { indexAxis: "y", scales: { x: { stacked: true, beginAtZero: true, ticks: { precision: 0 } }, y: { stacked: true } } },
  });
}

const SERIES = [
  "active_users", "posts", "questions", "votes", "response_rate", "solution_rate",
  "responded_within_sla", "ttfr_median_seconds", "ttfr_p90_seconds",
];

async function load(from, to) {
  document.body.dataset.state = "loading";
  showError("");
  if (from > to) return showError("“From” must not be after “To”.");
  if (spanDays(from, to) > MAX_DAYS) return showError(`Pick at most ${MAX_DAYS} days.`);
  const q = `from=${from}&to=${to}`;
  try {
    const [o, catalog, products, ...series] = await Promise.all([
      getJson(`/overview?${q}`),
      getJson("/metrics/catalog"),
      getJson("/products?limit=6"),
      ...SERIES.map((m) => getJson(`/timeseries?metric=${m}&${q}`)),
    ]);
    const s = Object.fromEntries(SERIES.map((m, n) => [m, series[n].points]));
    const days = s.active_users.map((p) => p.day);
    kpis(o);
    activity(s, days);
    rates(s, days);
    ttfr(s, days, o);
    funnel(o);
    health(o, catalog.health_formula);
    ratings(products.items);
    // influence and champions: influence.js
    window.__dashboard = { overview: o, products: products.items };
    document.body.dataset.state = "ready";
  } catch (e) {
    showError(`Could not load the metrics: ${e.message}`);
    document.body.dataset.state = "error";
  }
}

function init() {
  const params = new URLSearchParams(location.search);
  const to = params.get("to") || todayUtc();
  const from = params.get("from") || addDays(to, -29);
  $("from").value = from;
  $("to").value = to;
  $("range").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const f = $("from").value, t = $("to").value;
    history.replaceState(null, "", `?from=${f}&to=${t}`);
    load(f, t);
  });
  for (const b of document.querySelectorAll(".presets button")) {
    b.addEventListener("click", () => {
      const t = $("to").value || todayUtc();
      $("from").value = addDays(t, 1 - Number(b.dataset.days));
      $("range").requestSubmit();
    });
  }
  load(from, to);
}

document.addEventListener("DOMContentLoaded", init);
