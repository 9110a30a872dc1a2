// Shared by every page: the API call with the CSRF token and the user's language, translations from the
// page's gettext catalogue (t, tp), times in the call centre's time zone, numbers in the user's locale.
"use strict";
const csrfMeta = document.querySelector('meta[name="csrf-token"]');
const CSRF = csrfMeta ? csrfMeta.content : "";
const LANG = document.documentElement.lang || "ru";
const LOCALE = LANG === "en" ? "en-GB" : "ru-RU";
const TZ = document.documentElement.dataset.tz || "Europe/Moscow";
const CATALOGUE = (() => {
  const block = document.getElementById("i18n");
  try { return block ? JSON.parse(block.textContent) : { messages: {}, patterns: [] }; }
  catch (e) { return { messages: {}, patterns: [] }; }
})();
const PATTERNS = CATALOGUE.patterns.map(([rx, tr]) => [new RegExp(rx, "s"), tr]);

function fill(text, vars) { return vars ? text.replace(/\{([a-z_][a-z0-9_]*)\}/g, (m, k) => (k in vars ? String(vars[k]) : m)) : text; }
// t("text", {n: 1}): the translation of an English msgid, with {placeholders} filled
function t(msgid, vars) { return fill(CATALOGUE.messages[msgid] || msgid, vars); }
// tp("context", "text"): the same with a gettext context (the same English word meaning two things)
function tp(ctx, msgid, vars) { return fill(CATALOGUE.messages[ctx + "\u0004" + msgid] || msgid, vars); }
// tv("agent state", "logged_out"): a value the server sends (an enum) as words
function tv(ctx, value) { return value === null || value === undefined ? "" : tp(ctx, String(value).replace(/_/g, " ")); }
// tr(text): a message written by the server (errors, reasons), exact or with values in it
function tr(text) {
  if (!text) return text || "";
  if (CATALOGUE.messages[text]) return CATALOGUE.messages[text];
  for (const [rx, out] of PATTERNS) {
    const m = rx.exec(text);
    if (m) return fill(out, Object.fromEntries(Object.entries(m.groups || {}).map(([k, v]) => [k, tr(v)])));
  }
  return text;
}

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error) || ("HTTP " + status));
    this.status = status; this.field = body && body.field;
  }
}

async function api(method, path, body, isForm) {
  const opts = { method, headers: { "X-CSRF-Token": CSRF, "Accept-Language": LANG }, credentials: "same-origin" };
  if (body !== undefined) {
    if (isForm) { opts.body = body; } else { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
  }
  const r = await fetch("/api/v1" + path, opts);
  if (r.status === 401 && !path.startsWith("/session")) { location.href = "/login"; throw new ApiError(401, { error: t("logged out") }); }
  const data = (r.headers.get("Content-Type") || "").startsWith("application/json") ? await r.json() : null;
  if (!r.ok) throw new ApiError(r.status, data);
  return data;
}

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v; else if (k.startsWith("on")) e.addEventListener(k.slice(2), v); else e.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
  return e;
}

// ---- times: always the call centre's zone (TZ, named in every page's header), never the browser's ----
const DATETIME = new Intl.DateTimeFormat(LOCALE, { timeZone: TZ, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
const CLOCK = new Intl.DateTimeFormat(LOCALE, { timeZone: TZ, hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
const DAY = new Intl.DateTimeFormat(LOCALE, { timeZone: "UTC", year: "numeric", month: "2-digit", day: "2-digit" });
function fmtTime(iso) { return iso ? DATETIME.format(new Date(iso)) : ""; }
function fmtClock(iso) { return iso ? CLOCK.format(new Date(iso)) : ""; }
// a calendar date ("2027-03-01") has no time zone: shown as the same day in the user's format
function fmtDate(day) { return day && /^\d{4}-\d{2}-\d{2}$/.test(day) ? DAY.format(new Date(day + "T00:00:00Z")) : (day || ""); }

// wall-clock parts of an instant in TZ
function zoneParts(ms) {
  const p = {};
  for (const x of new Intl.DateTimeFormat("en-GB", { timeZone: TZ, year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric", second: "numeric", hour12: false }).formatToParts(new Date(ms)))
    p[x.type] = Number(x.value);
  return p;
}
function zoneOffsetMs(ms) {
  const p = zoneParts(ms);
  return Date.UTC(p.year, p.month - 1, p.day, p.hour % 24, p.minute, p.second) - Math.floor(ms / 1000) * 1000;
}
// "2026-12-02T11:30" typed by the agent, read as the centre's wall clock -> an ISO instant (DST-safe)
function zonedToIso(value) {
  if (!value) return null;
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(value);
  if (!m) return null;
  const wall = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]);
  let ms = wall - zoneOffsetMs(wall);
  ms = wall - zoneOffsetMs(ms);
  return new Date(ms).toISOString();
}

// ---- numbers in the user's locale ----
const PERCENT = new Intl.NumberFormat(LOCALE, { style: "percent", minimumFractionDigits: 1, maximumFractionDigits: 1 });
function pct(x) { return PERCENT.format(x || 0); }
function num(x, digits) { return new Intl.NumberFormat(LOCALE, { minimumFractionDigits: digits || 0, maximumFractionDigits: digits || 0 }).format(x); }

function showError(id, err) { document.getElementById(id).textContent = err ? tr(err.message || String(err)) : ""; }

function bindLogout() {
  const b = document.getElementById("logout");
  if (b) b.addEventListener("click", async () => {
    try { if (document.body.dataset.agent) await api("POST", "/me/logout"); } catch (e) { /* already out */ }
    try { await api("DELETE", "/session"); } finally { location.href = "/login"; }
  });
  const lang = document.getElementById("lang");
  if (lang) lang.addEventListener("change", async () => {
    try { await api("PUT", "/me/language", { language: lang.value }); location.reload(); }
    catch (e) { lang.value = LANG; }
  });
}
document.addEventListener("DOMContentLoaded", bindLogout);
