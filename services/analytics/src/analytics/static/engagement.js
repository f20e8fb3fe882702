// Gatherings and notifications panels of the dashboard (issue 23 item 8, issue 25 item 6).
// Its own file, loaded after dashboard.js: it reads the same From/To form and the service's
// /gatherings/overview and /notifications/overview, and draws with the same Chart.js build.
"use strict";

(() => {
  const el = (id) => document.getElementById(id);
  const charts = {};
  const COLORS = { blue: "#3d5afe", teal: "#00b8a9", orange: "#ff8a3d", purple: "#8e5cf7",
    red: "#e5484d", green: "#1fa971", grey: "#9aa3b5" };
  const REASON_COLORS = ["#3d5afe", "#ff8a3d", "#00b8a9", "#8e5cf7", "#e5484d"];
  const pct = (v) => (v === null || v === undefined ? "–" : `${(100 * v).toFixed(v === 1 ? 0 : 1)}%`);
  const num = (v) => (v === null || v === undefined ? "–" : Number(v).toLocaleString("en"));

  async function json(path) {
    const r = await fetch(path, { headers: { accept: "application/json" } });
    const body = await r.json();
    if (!r.ok) throw new Error(body.detail || `${path}: HTTP ${r.status}`);
    return body;
  }

  function draw(id, config) {
    if (charts[id]) charts[id].destroy();
    config.options = Object.assign(
      { responsive: true, maintainAspectRatio: false, animation: false }, config.options || {});
    charts[id] = new Chart(el(id), config);
  }

  function figures(id, cards) {
    const box = el(id);
    box.innerHTML = "";
    for (const [label, value, hint] of cards) {
      const div = document.createElement("div");
      div.className = "kpi";
      div.innerHTML = `<div class="label"></div><div class="value"></div><div class="hint"></div>`;
      div.querySelector(".label").textContent = label;
      div.querySelector(".value").textContent = value;
      div.querySelector(".hint").textContent = hint;
      box.appendChild(div);
    }
  }

  const line = (label, data, color) => ({ label, data, borderColor: color,
    backgroundColor: color, tension: 0.25, pointRadius: 0, borderWidth: 2 });

  function gatherings(g) {
    const lift = g.attendee_activity_lift === null ? "" : ` (×${g.attendee_activity_lift})`;
    figures("gatherings-kpis", [
      ["Gatherings held", num(g.held), `${num(g.scheduled)} scheduled · ${num(g.cancelled)} cancelled`],
      ["RSVPs", num(g.rsvps), `${num(g.waitlist_promotions)} waitlist promotions`],
      ["Show-up rate", pct(g.show_up_rate), `${num(g.checked_in_going)} of ${num(g.going)} seats checked in`],
      ["Guest questions", num(g.guest_questions), `${num(g.guest_questions_answered)} answered`],
      ["Giveaway entries", num(g.giveaway_entries), `${num(g.giveaway_draws)} draws`],
      ["Attendee activity", g.attendee_active_days_after === null ? "–"
        : `${g.attendee_active_days_before} → ${g.attendee_active_days_after}`,
      `active days, 7 before → 7 after${lift}`],
    ]);
    const days = g.points.map((p) => p.day);
    draw("gatherings-chart", {
      type: "line",
      data: { labels: days, datasets: [
        line("RSVPs", g.points.map((p) => p.rsvps), COLORS.blue),
        line("check-ins", g.points.map((p) => p.check_ins), COLORS.teal),
        line("waitlist promotions", g.points.map((p) => p.waitlist_promotions), COLORS.orange),
      ] },
      options: { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
    });
  }

  function notifications(n) {
    figures("notifications-kpis", [
      ["Per active member / week", num(n.per_active_member_per_week),
        `${num(n.delivered)} delivered · ${num(n.active_users)} active members`],
      ["Suppressed share", pct(n.suppressed_share), `${num(n.held_for_digest)} held for a digest`],
      ["Read rate", pct(n.read_rate), `${num(n.read)} read of ${num(n.delivered_by_channel.in_app)} in-app`],
      ["Digests sent", num(n.digests_sent), `${num(n.digest_items)} items listed`],
    ]);
    const reasons = Object.keys(n.suppressed_share_by_reason);
    draw("notifications-reasons", {
      type: "bar",
      data: { labels: reasons.map((r) => r.replace("_", " ")), datasets: [{
        label: "share of notifications considered",
        data: reasons.map((r) => n.suppressed_share_by_reason[r] || 0),
        backgroundColor: REASON_COLORS,
      }] },
      options: { indexAxis: "y", plugins: { legend: { display: false } },
        scales: { x: { beginAtZero: true, ticks: { callback: (v) => `${Math.round(100 * v)}%` } } } },
    });
    const days = n.points.map((p) => p.day);
    draw("notifications-chart", {
      type: "line",
      data: { labels: days, datasets: [
        line("delivered", n.points.map((p) => p.delivered), COLORS.blue),
        line("suppressed", n.points.map((p) => p.suppressed), COLORS.red),
        line("read", n.points.map((p) => p.read), COLORS.green),
      ] },
      options: { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
    });
  }

  async function load() {
    const from = el("from").value, to = el("to").value;
    if (!from || !to || from > to) return;
    document.body.dataset.engagement = "loading";
    try {
      const q = `from=${from}&to=${to}`;
      const [g, n] = await Promise.all([
        json(`/gatherings/overview?${q}`), json(`/notifications/overview?${q}`)]);
      gatherings(g);
      notifications(n);
      window.__engagement = { gatherings: g, notifications: n };
      document.body.dataset.engagement = "ready";
    } catch (e) {
      el("engagement-error").textContent = `Could not load gatherings and notifications: ${e.message}`;
      el("engagement-error").hidden = false;
      document.body.dataset.engagement = "error";
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    el("range").addEventListener("submit", () => setTimeout(load, 0));
    load();
  });
})();
