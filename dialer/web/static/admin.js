// The dashboard: live figures pushed by the server (SSE), campaign buttons, agents' board, hourly chart.
"use strict";
const ACTIONS = { draft: ["start", "stop"], running: ["pause", "stop"], paused: ["resume", "stop"], stopped: [], completed: [] };

async function act(path) {
  showError("action-error", null);
  try { await api("POST", path, path.endsWith("/pause") && path.startsWith("/agents") ? { reason: "admin" } : undefined); refreshNow(); }
  catch (e) { showError("action-error", e); }
}

function campaignRow(c) {
  const fill = el("div", { class: "fill" }); fill.style.width = (100 * c.progress).toFixed(1) + "%";
  const over = c.abandon_rate > c.abandon_cap;
  const buttons = (ACTIONS[c.state] || []).map(a =>
    el("button", { class: "small", "data-action": a, onclick: () => act(`/campaigns/${encodeURIComponent(c.name)}/${a}`) }, a));
  return el("tr", { "data-campaign": c.name },
    el("td", {}, c.name, el("div", { class: "muted small" }, c.mode)),
    el("td", {}, el("span", { class: "state s-" + c.state, "data-field": "state" }, c.state)),
    el("td", {}, el("div", { class: "bar" }, fill), " ", el("span", { class: "small", "data-field": "progress" }, `${c.contacts_done} / ${c.contacts_total}`)),
    el("td", { "data-field": "in_flight" }, c.calls_in_flight),
    el("td", { "data-field": "answered" }, c.answered_today),
    el("td", { "data-field": "connected" }, c.connected_today),
    el("td", { "data-field": "abandoned" }, c.abandoned_today),
    el("td", { class: over ? "over" : "", "data-field": "abandon_rate" }, `${pct(c.abandon_rate)} / ${pct(c.abandon_cap)}`),
    el("td", { "data-field": "pacing" }, c.dial_level === null ? "–" : c.dial_level.toFixed(2)),
    el("td", {}, ...buttons));
}

function agentRow(a) {
  const acts = [];
  if (a.presence !== "paused" && a.presence !== "logged_out") acts.push(el("button", { class: "small", onclick: () => act(`/agents/${a.extension}/pause`) }, "pause"));
  if (a.presence === "paused") acts.push(el("button", { class: "small", onclick: () => act(`/agents/${a.extension}/unpause`) }, "unpause"));
  if (a.presence !== "logged_out") acts.push(el("button", { class: "small", onclick: () => act(`/agents/${a.extension}/logout`) }, "log out"));
  return el("tr", { "data-agent": a.extension },
    el("td", {}, a.extension), el("td", {}, a.name),
    el("td", {}, el("span", { class: "state s-" + a.state }, a.state), a.pause_reason ? el("span", { class: "muted small" }, " " + a.pause_reason) : null),
    el("td", { class: "small" }, fmtTime(a.since)), el("td", {}, ...acts));
}

function render(d) {
  const sum = (k) => d.campaigns.reduce((a, c) => a + c[k], 0);
  const answered = sum("answered_today"), abandoned = sum("abandoned_today");
  document.getElementById("t-inflight").textContent = d.calls_in_flight;
  document.getElementById("t-answered").textContent = answered;
  document.getElementById("t-connected").textContent = sum("connected_today");
  document.getElementById("t-abandoned").textContent = abandoned;
  const cap = d.campaigns.length ? Math.min(...d.campaigns.map(c => c.abandon_cap)) : 0.03;
  const rate = answered ? abandoned / answered : 0;
  const t = document.getElementById("t-abandon-rate");
  t.textContent = `${pct(rate)} / ${pct(cap)}`; t.classList.toggle("over", rate > cap);
  document.getElementById("t-agents").textContent = Object.entries(d.agents_by_state).map(([k, v]) => `${k} ${v}`).join(", ") || "none";
  document.getElementById("t-ami").textContent = d.ami;
  document.querySelector("#campaigns tbody").replaceChildren(...d.campaigns.map(campaignRow));
  document.querySelector("#agents tbody").replaceChildren(...d.agents.map(agentRow));
  document.getElementById("live-status").textContent = "live, updated " + new Date(d.at).toLocaleTimeString();
}

async function refreshNow() { try { render(await api("GET", "/dashboard")); } catch (e) { showError("action-error", e); } }

async function refreshChart() {
  try { drawHourly(document.getElementById("hourly"), document.getElementById("hourly-legend"), await api("GET", "/reports/hourly")); }
  catch (e) { /* shown on the next try */ }
}

function live() {
  const src = new EventSource("/api/v1/dashboard/events");
  src.addEventListener("dashboard", (ev) => render(JSON.parse(ev.data)));
  src.onerror = () => { document.getElementById("live-status").textContent = "reconnecting…"; };
}

document.getElementById("new-campaign").addEventListener("submit", async (ev) => {
  ev.preventDefault(); showError("new-campaign-error", null);
  try {
    await api("POST", "/campaigns", { name: document.getElementById("new-campaign-name").value, mode: document.getElementById("new-campaign-mode").value });
    ev.target.reset(); refreshNow();
  } catch (e) { showError("new-campaign-error", e); }
});

refreshNow(); refreshChart(); live();
setInterval(refreshChart, 30000);
