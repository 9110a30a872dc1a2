// The agent page: ready/pause, the screen pop the instant a call is bridged (SSE), the disposition form
// (to be saved before wrap-up ends), and the agent's own call history.
"use strict";
document.body.dataset.agent = "1";
let current = null, wrapTimer = null;

function setState(state, reason) {
  const s = document.getElementById("me-state");
  s.textContent = state + (reason ? ` (${reason})` : ""); s.className = "state s-" + state;
}

async function loadMe() {
  const me = await api("GET", "/me");
  if (me.agent) setState(me.agent.state === "logged_out" ? me.agent.presence : me.agent.state, me.agent.pause_reason);
}

async function presence(path, body) {
  try { const a = await api("POST", path, body); setState(a.presence === "ready" && a.state !== "logged_out" ? a.state : a.presence, a.pause_reason); }
  catch (e) { showError("disposition-error", e); }
}

function showPop(ev) {
  current = ev;
  const app = ev.application || {};
  document.getElementById("pop-name").textContent = app.applicant_name || "Unknown caller";
  document.getElementById("pop-number").textContent = app.number || "—";
  document.getElementById("pop-status").textContent = app.status || "—";
  document.getElementById("pop-office").textContent = app.pickup_office || "—";
  document.getElementById("pop-from").textContent = app.pickup_from || "—";
  document.getElementById("pop-phone").textContent = ev.phone || "";
  document.getElementById("pop-campaign").textContent = ev.campaign || (ev.inbound ? "inbound" : "");
  document.getElementById("appointment-office").value = app.pickup_office || "";
  document.getElementById("disposition").reset();
  document.getElementById("appointment-office").value = app.pickup_office || "";
  showError("disposition-error", null); document.getElementById("disposition-ok").textContent = "";
  document.getElementById("save-disposition").disabled = false;
  document.getElementById("pop-wrapup").hidden = true;
  document.getElementById("pop").hidden = false; document.getElementById("waiting").hidden = true;
  showWhen();
  if (ev.ended) startWrapup(null);
}

function startWrapup(seconds) {
  const b = document.getElementById("pop-wrapup"); b.hidden = false;
  clearInterval(wrapTimer);
  if (seconds === null || seconds === undefined) { b.textContent = "wrap-up: save the outcome"; return; }
  let left = seconds;
  const tick = () => { b.textContent = left > 0 ? `wrap-up: ${left}s left to save` : "wrap-up over: save the outcome now"; left -= 1; };
  tick(); wrapTimer = setInterval(tick, 1000);
}

function showWhen() {
  const kind = (document.querySelector('input[name="kind"]:checked') || {}).value;
  document.querySelectorAll(".when").forEach(d => { d.hidden = d.dataset.for !== kind; });
}

function iso(v) { return v ? new Date(v).toISOString() : null; }

document.getElementById("disposition").addEventListener("change", showWhen);
document.getElementById("disposition").addEventListener("submit", async (ev) => {
  ev.preventDefault(); showError("disposition-error", null);
  if (!current) return;
  const f = ev.target, kind = (f.querySelector('input[name="kind"]:checked') || {}).value;
  const body = { kind, notes: f.notes.value || null };
  if (kind === "appointment") Object.assign(body, { appointment_at: iso(f.appointment_at.value), pickup_office: f.pickup_office.value || null, route: f.route.value || null });
  if (kind === "callback") Object.assign(body, { callback_at: iso(f.callback_at.value), callback_same_agent: f.callback_same_agent.checked });
  try {
    await api("POST", `/attempts/${current.attempt_id}/disposition`, body);
    document.getElementById("disposition-ok").textContent = "saved";
    document.getElementById("save-disposition").disabled = true;
    clearInterval(wrapTimer); current = null;
    setTimeout(() => { if (!current) { document.getElementById("pop").hidden = true; document.getElementById("waiting").hidden = false; } }, 1500);
    loadHistory();
  } catch (e) { showError("disposition-error", e); }
});

async function loadHistory() {
  const page = await api("GET", "/me/calls?per_page=20");
  document.querySelector("#history tbody").replaceChildren(...page.items.map(a => el("tr", {},
    el("td", {}, fmtTime(a.bridged_at || a.created_at)), el("td", {}, a.applicant_name || ""), el("td", {}, a.application_number || ""),
    el("td", {}, a.phone), el("td", {}, a.outcome || a.state), el("td", {}, a.talk_seconds ? Math.round(a.talk_seconds) + "s" : ""),
    el("td", {}, a.disposition || ""))));
}

function live() {
  const src = new EventSource("/api/v1/me/events");
  src.onopen = () => { document.getElementById("live-status").textContent = "connected"; };
  src.onerror = () => { document.getElementById("live-status").textContent = "reconnecting…"; };
  src.addEventListener("call", (ev) => showPop(JSON.parse(ev.data)));
  src.addEventListener("ended", (ev) => { const e = JSON.parse(ev.data); if (current && e.attempt_id === current.attempt_id) startWrapup(e.wrapup_seconds); loadHistory(); });
  src.addEventListener("state", (ev) => { const e = JSON.parse(ev.data); setState(e.state, e.pause_reason); });
}

document.getElementById("ready").addEventListener("click", () => presence("/me/ready"));
document.getElementById("pause").addEventListener("click", () => presence("/me/pause", { reason: document.getElementById("pause-reason").value }));
loadMe(); loadHistory(); live();
