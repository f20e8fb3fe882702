// Influence and champions on the dashboard (analytics.influence): the top members by their
// PageRank score (the raw score shows the real spread; the percentile is in the tooltip), the
// explanation of one member's score (click a bar), and the champions of the 30 days ending
// "To". Reads GET /influence, /influence/members/{id} and /champions; loads with the page and
// again whenever the range form is applied. Sets #influence-card[data-state] when done.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  let chart = null;

  async function getJson(path) {
    const r = await fetch(path, { headers: { accept: "application/json" } });
    const body = await r.json();
    if (!r.ok) throw new Error(body.detail || `${path}: HTTP ${r.status}`);
    return body;
  }

  function drawInfluence(items) {
    const top = items.slice(0, 10);
    if (chart) chart.destroy();
    chart = new Chart($("influence"), {
      type: "bar",
      data: {
        labels: top.map((r) => r.user_id),
        datasets: [{
          label: "score (1.0 = the average member)",
          data: top.map((r) => r.score),
          backgroundColor: "#3d5afe",
          borderRadius: 5,
        }],
      },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false, indexAxis: "y",
        plugins: {
          legend: { display: false },
          tooltip: {
            callbacks: {
              label: (ctx) => {
                const r = top[ctx.dataIndex];
                return `score ${r.score.toFixed(3)} · higher than ${r.influence.toFixed(1)}% of members`;
              },
            },
          },
        },
        scales: { x: { beginAtZero: true, title: { display: true, text: "PageRank score" } } },
        onClick: (_, elements) => {
          if (elements.length) explain(top[elements[0].index].user_id);
        },
      },
    });
  }

  async function explain(userId) {
    const m = await getJson(`/influence/members/${encodeURIComponent(userId)}`);
    $("influence-method").textContent = m.method;
    $("influence-explain").textContent = `${m.user_id}: ${m.explanation}`;
    window.__influence.member = m;
    return m;
  }

  function drawChampions(items) {
    const body = $("champions");
    body.innerHTML = "";
    if (!items.length) {
      body.innerHTML = `<tr><td colspan="4" class="empty">No activity in the last 30 days.</td></tr>`;
      return;
    }
    items.slice(0, 8).forEach((r, n) => {
      const tr = document.createElement("tr");
      tr.innerHTML = `<td>${n + 1}</td><td class="who"></td><td class="kinds"></td>` +
        `<td><span class="barwrap"><div class="bar"></div></span><span class="inf"></span></td>`;
      tr.querySelector(".who").textContent = r.user_id;
      for (const k of r.kinds) {
        const chip = document.createElement("span");
        chip.className = "chip";
        chip.textContent = k;
        tr.querySelector(".kinds").appendChild(chip);
      }
      tr.querySelector(".bar").style.width = `${Math.max(2, r.influence)}%`;
      tr.querySelector(".inf").textContent = r.influence.toFixed(1);
      tr.title = `score ${r.score.toFixed(3)}`;
      body.appendChild(tr);
    });
  }

  async function load() {
    const card = $("influence-card");
    card.dataset.state = "loading";
    const to = $("to").value;
    try {
      const [inf, champ] = await Promise.all([
        getJson("/influence?limit=10"),
        getJson(`/champions?limit=8${to ? `&to=${to}` : ""}`),
      ]);
      window.__influence = { items: inf.items, champions: champ.items, member: null };
      $("influence-asof").textContent = inf.computed_at
        ? `(as of ${inf.as_of}, ${inf.members} members ranked)`
        : "(not computed yet)";
      drawInfluence(inf.items);
      drawChampions(champ.items);
      if (inf.items.length) await explain(inf.items[0].user_id);
      else $("influence-explain").textContent = "Nobody has helped anyone yet.";
      card.dataset.state = "ready";
    } catch (e) {
      $("influence-explain").textContent = `Could not load influence: ${e.message}`;
      card.dataset.state = "error";
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    // dashboard.js (loaded first) has set the range by now; follow its Apply button too
    $("range").addEventListener("submit", () => load());
    load();
  });
})();
