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
    el("button", { class: "small", "data-action": a, onclick: () => act(`/campaigns/${encodeURIComponent(c.name)}/${a}`) }, tv("action", a)));
  return el("tr", { "data-campaign": c.name },
    el("td", {}, c.name, el("div", { class: "muted small" }, tv("mode", c.mode))),
    el("td", {}, el("span", { class: "state s-" + c.state, "data-field": "state", "data-state": c.state }, tv("campaign state", c.state))),
    el("td", {}, el("div", { class: "bar" }, fill), " ", el("span", { class: "small", "data-field": "progress" }, `${num(c.contacts_done)} / ${num(c.contacts_total)}`)),
    el("td", { "data-field": "in_flight" }, num(c.calls_in_flight)),
    el("td", { "data-field": "answered" }, num(c.answered_today)),
    el("td", { "data-field": "connected" }, num(c.connected_today)),
    el("td", { "data-field": "abandoned" }, num(c.abandoned_today)),
    el("td", { class: "rate" + (over ? " over" : ""), "data-field": "abandon_rate" }, `${pct(c.abandon_rate)} / ${pct(c.abandon_cap)}`),
    el("td", { class: "rate", "data-field": "occupancy", title: t("agents' talk time / logged-in time: today / now") }, occupancy(c.occupancy)),
    el("td", { class: "small" + (c.activity && !c.activity.dialling ? " waiting" : ""), "data-field": "activity" }, activityText(c.activity) || "–"),
    el("td", { class: "actions" }, ...buttons));
}

// occupancy today / now; "–" when nobody was (is) logged in
function occupancy(o) {
  const p = (x) => (x === null || x === undefined ? "–" : pct(x));
  return o ? `${p(o.today)} / ${p(o.now)}` : "–";
}

// A time the server names in a campaign's own zone: the hour today, the day and hour another day.
function fmtAt(iso, tz) {
  const when = new Date(iso);
  const day = (d) => new Intl.DateTimeFormat("en-CA", { timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit" }).format(d);
  const hm = { timeZone: tz, hour: "2-digit", minute: "2-digit", hour12: false };
  const opts = day(when) === day(new Date()) ? hm : { ...hm, weekday: "short", day: "numeric", month: "short" };
  return new Intl.DateTimeFormat(LOCALE, opts).format(when);
}

// What a running campaign is doing: the server's sentence (a catalogue msgid) in the user's language,
// its time formatted here in the campaign's zone and locale.
function activityText(a) {
  if (!a) return "";
  const p = { ...a.params };
  if (a.until && p.tz) p.at = fmtAt(a.until, p.tz);
  if (p.level !== undefined) p.level = num(Number(p.level), 1);
  if (p.mode !== undefined) p.mode = tv("mode", p.mode);
  return fill(CATALOGUE.messages[a.template] || a.template, p);
}

// a reason the agent picked from the list is translated; one typed or written by the engine is shown as it is
function pauseReason(r) { return tp("pause", r) !== r ? tp("pause", r) : tr(r); }

function agentRow(a) {
  const acts = [];
  if (a.presence !== "paused" && a.presence !== "logged_out") acts.push(el("button", { class: "small", onclick: () => act(`/agents/${a.extension}/pause`) }, t("pause")));
  if (a.presence === "paused") acts.push(el("button", { class: "small", onclick: () => act(`/agents/${a.extension}/unpause`) }, t("unpause")));
  if (a.presence !== "logged_out") acts.push(el("button", { class: "small", onclick: () => act(`/agents/${a.extension}/logout`) }, t("log out")));
  return el("tr", { "data-agent": a.extension },
    el("td", {}, a.extension), el("td", {}, a.name),
    el("td", {}, el("span", { class: "state s-" + a.state, "data-state": a.state }, tv("agent state", a.state)), a.pause_reason ? el("span", { class: "muted small" }, " " + pauseReason(a.pause_reason)) : null),
    el("td", { class: "small", "data-field": "since" }, fmtTime(a.since)), el("td", { class: "actions" }, ...acts));
}

function render(d) {
  const sum = (k) => d.campaigns.reduce((a, c) => a + c[k], 0);
  const answered = sum("answered_today"), abandoned = sum("abandoned_today");
  document.getElementById("t-inflight").textContent = num(d.calls_in_flight);
  document.getElementById("t-answered").textContent = num(answered);
  document.getElementById("t-connected").textContent = num(sum("connected_today"));
  document.getElementById("t-abandoned").textContent = num(abandoned);
  const cap = d.campaigns.length ? Math.min(...d.campaigns.map(c => c.abandon_cap)) : 0.03;
  const rate = answered ? abandoned / answered : 0;
  const rateEl = document.getElementById("t-abandon-rate");
  rateEl.textContent = `${pct(rate)} / ${pct(cap)}`; rateEl.classList.toggle("over", rate > cap);
  document.getElementById("t-occupancy").textContent = occupancy(d.occupancy);
  document.getElementById("t-agents").textContent = Object.entries(d.agents_by_state).map(([k, v]) => `${tv("agent state", k)} ${num(v)}`).join(", ") || t("none");
  document.getElementById("t-ami").textContent = tv("link", d.ami);
  document.querySelector("#campaigns tbody").replaceChildren(...d.campaigns.map(campaignRow));
  document.querySelector("#agents tbody").replaceChildren(...d.agents.map(agentRow));
  const ls = document.getElementById("live-status"); ls.dataset.state = "open"; ls.textContent = t("live, updated {time}", { time: fmtClock(d.at) });
}

async function refreshNow() { try { render(await api("GET", "/dashboard")); } catch (e) { showError("action-error", e); } }

async function refreshChart() {
  try { drawHourly(document.getElementById("hourly"), document.getElementById("hourly-legend"), await api("GET", "/reports/hourly")); }
  catch (e) { /* shown on the next try */ }
}

function live() {
  const src = new EventSource("/api/v1/dashboard/events");
  src.addEventListener("dashboard", (ev) => render(JSON.parse(ev.data)));
  src.onerror = () => { const ls = document.getElementById("live-status"); ls.dataset.state = "closed"; ls.textContent = t("reconnecting…"); };
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
