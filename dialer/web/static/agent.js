// The agent page: ready/pause, the screen pop the instant a call is bridged (SSE), the disposition form
// (to be saved before wrap-up ends), and the agent's own call history.
//
// The header's state and the call card are drawn from one model by one function (draw), so they can not
// disagree: while the card's call is on, both say "talking"; after the customer hangs up, both say
// "wrap-up" until the wrap-up time runs out or the server says the agent is free again; then the header
// follows the server. The server sends the agent's state first thing on every (re)connection of the
// event stream, so a missed event is never left on screen.
"use strict";
document.body.dataset.agent = "1";
let server = { state: null, reason: null, since: 0 };  // the agent's state as the server last said it
let call = null;  // { ev, ended, saved, wrapUntil (ms or null), wrapOver }
let ticker = null, historySeq = 0;
const FREE = ["ready", "paused", "logged_out"];  // server states that mean no call and no wrap-up

function phase() {
  if (!call) return null;
  if (!call.ended) return "talking";
  return call.wrapOver ? "over" : "wrapup";
}

function headerState() {
  const p = phase();
  if (p === "talking" || p === "wrapup") return { state: p, reason: null };
  return server;
}

function badgeText(p) {
  if (p === "talking") return call.saved ? t("on the call · outcome saved") : t("on the call");
  if (call.saved) return t("outcome saved");
  if (p === "wrapup") {
    if (call.wrapUntil === null) return t("wrap-up: save the outcome");
    return t("wrap-up: {n} s left to save", { n: num(Math.max(0, Math.ceil((call.wrapUntil - Date.now()) / 1000))) });
  }
  return t("wrap-up over: save the outcome now");
}

function draw() {
  const h = headerState(), s = document.getElementById("me-state");
  if (h.state) {
    s.textContent = tv("agent state", h.state) + (h.reason ? ` (${pauseReason(h.reason)})` : "");
    s.className = "state s-" + h.state; s.dataset.state = h.state;
  }
  const p = phase(), b = document.getElementById("pop-phase");
  if (!call) { b.dataset.phase = ""; b.textContent = ""; return; }
  b.dataset.phase = call.saved && p !== "talking" ? "saved" : p;
  b.className = "badge s-" + (p === "talking" ? "talking" : p === "wrapup" ? "wrapup" : "ready");
  b.textContent = badgeText(p);
}

function pauseReason(r) { return tp("pause", r) !== r ? tp("pause", r) : tr(r); }

// since: when that state began; an answer read before a newer change (the stream's first event racing a
// click on Ready) must not undo it
function setServer(state, reason, since) {
  const at = since ? Date.parse(since) : 0;
  if (at && at < server.since) return;
  server = { state, reason: state === "paused" ? reason : null, since: Math.max(at, server.since) };
  if (call && !call.ended && state === "wrapup") { call.ended = true; call.wrapOver = false; }  // the leg ended first
  if (call && call.ended && !call.wrapOver && FREE.includes(state)) call.wrapOver = true;
  draw();
}

async function loadMe() {
  const me = await api("GET", "/me");
  if (me.agent) setServer(me.agent.state === "logged_out" ? me.agent.presence : me.agent.state, me.agent.pause_reason, me.agent.since);
}

async function presence(path, body) {
  try { const a = await api("POST", path, body); setServer(a.presence === "ready" && a.state !== "logged_out" ? a.state : a.presence, a.pause_reason, a.since); }
  catch (e) { showError("page-error", e); }
}

function showPop(ev) {
  const app = ev.application || {};
  call = { ev, ended: !!ev.ended, saved: false, wrapUntil: null, wrapOver: false };
  // a page (re)connecting after the call ended: the server's state says whether wrap-up still runs
  if (call.ended) call.wrapOver = FREE.includes(server.state);
  document.getElementById("pop-name").textContent = app.applicant_name || t("Unknown caller");
  document.getElementById("pop-number").textContent = app.number || "—";
  document.getElementById("pop-status").textContent = app.status ? tv("application status", app.status) : "—";
  document.getElementById("pop-office").textContent = app.pickup_office || "—";
  document.getElementById("pop-from").textContent = app.pickup_from ? fmtDate(app.pickup_from) : "—";
  document.getElementById("pop-phone").textContent = ev.phone || "";
  document.getElementById("pop-campaign").textContent = ev.campaign || (ev.inbound ? t("inbound") : "");
  document.getElementById("disposition").reset();
  document.getElementById("appointment-office").value = app.pickup_office || "";
  showError("disposition-error", null); document.getElementById("disposition-ok").textContent = "";
  document.getElementById("save-disposition").disabled = !ev.attempt_id;
  document.getElementById("pop").hidden = false; document.getElementById("waiting").hidden = true;
  showWhen(); draw();
}

function ended(seconds) {
  if (!call) return;
  call.ended = true; call.wrapOver = false;
  call.wrapUntil = seconds === null || seconds === undefined ? null : Date.now() + 1000 * seconds;
  clearInterval(ticker);
  if (call.wrapUntil !== null) ticker = setInterval(() => {
    if (call && !call.wrapOver && call.wrapUntil !== null && Date.now() >= call.wrapUntil) { call.wrapOver = true; clearInterval(ticker); }
    draw();
  }, 250);
  draw();
  const done = call;
  if (done.saved) setTimeout(() => { if (call === done) closeCard(); }, 1500);
}

function closeCard() {
  clearInterval(ticker); call = null;
  document.getElementById("pop").hidden = true; document.getElementById("waiting").hidden = false;
  draw();
}

function showWhen() {
  const kind = (document.querySelector('input[name="kind"]:checked') || {}).value;
  document.querySelectorAll(".when").forEach(d => { d.hidden = d.dataset.for !== kind; });
}

document.getElementById("disposition").addEventListener("change", showWhen);
document.getElementById("disposition").addEventListener("submit", async (ev) => {
  ev.preventDefault(); showError("disposition-error", null);
  if (!call) return;
  const saving = call, f = ev.target, kind = (f.querySelector('input[name="kind"]:checked') || {}).value;
  const body = { kind, notes: f.notes.value || null };
  if (kind === "appointment") Object.assign(body, { appointment_at: zonedToIso(f.appointment_at.value), pickup_office: f.pickup_office.value || null, route: f.route.value || null });
  if (kind === "callback") Object.assign(body, { callback_at: zonedToIso(f.callback_at.value), callback_same_agent: f.callback_same_agent.checked });
  try {
    await api("POST", `/attempts/${saving.ev.attempt_id}/disposition`, body);
    document.getElementById("disposition-ok").textContent = t("saved");
    document.getElementById("save-disposition").disabled = true;
    saving.saved = true;
    if (saving.ended) saving.wrapOver = true;  // saving ends the wrap-up
    draw(); await loadHistory();
    if (saving.ended) setTimeout(() => { if (call === saving) closeCard(); }, 1500);
  } catch (e) { showError("disposition-error", e); }
});

async function loadHistory() {
  const seq = ++historySeq;  // answers can arrive out of order: only the newest request is drawn
  const page = await api("GET", "/me/calls?per_page=20");
  if (seq !== historySeq) return;
  document.querySelector("#history tbody").replaceChildren(...page.items.map(a => el("tr", { "data-attempt": a.id },
    el("td", { "data-field": "when" }, fmtTime(a.bridged_at || a.created_at)), el("td", {}, a.applicant_name || ""), el("td", {}, a.application_number || ""),
    el("td", {}, a.phone), el("td", { "data-field": "outcome" }, a.outcome ? tv("outcome", a.outcome) : tv("call state", a.state)),
    el("td", {}, a.talk_seconds ? t("{n} s", { n: num(Math.round(a.talk_seconds)) }) : ""),
    el("td", { "data-field": "disposition" }, a.disposition ? tv("disposition", a.disposition) : ""))));
}

function live() {
  const src = new EventSource("/api/v1/me/events");
  const status = document.getElementById("live-status");
  src.onopen = () => { status.dataset.state = "open"; status.textContent = t("online"); loadHistory(); };
  src.onerror = () => { status.dataset.state = "closed"; status.textContent = t("reconnecting…"); };
  src.addEventListener("state", (ev) => { const e = JSON.parse(ev.data); setServer(e.state, e.pause_reason, e.since); });
  src.addEventListener("call", (ev) => {
    const e = JSON.parse(ev.data);
    if (call && e.attempt_id && call.ev.attempt_id === e.attempt_id) {  // sent again on a reconnection: keep what was typed
      if (e.ended && !call.ended) { ended(null); call.wrapOver = FREE.includes(server.state); draw(); }
      return;
    }
    showPop(e);
  });
  src.addEventListener("ended", (ev) => { const e = JSON.parse(ev.data); if (call && e.attempt_id === call.ev.attempt_id) ended(e.wrapup_seconds); loadHistory(); });
  src.addEventListener("saved", (ev) => { const e = JSON.parse(ev.data); if (call && e.attempt_id === call.ev.attempt_id && !call.saved) { call.saved = true; if (call.ended) call.wrapOver = true; draw(); } loadHistory(); });
}

document.getElementById("ready").addEventListener("click", () => presence("/me/ready"));
document.getElementById("pause").addEventListener("click", () => presence("/me/pause", { reason: document.getElementById("pause-reason").value }));
loadMe().catch(e => showError("page-error", e)); live();
