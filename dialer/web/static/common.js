// Shared by every page: the API call with the CSRF token, error text, and small DOM helpers.
"use strict";
const csrfMeta = document.querySelector('meta[name="csrf-token"]');
const CSRF = csrfMeta ? csrfMeta.content : "";

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error) || ("HTTP " + status));
    this.status = status; this.field = body && body.field;
  }
}

async function api(method, path, body, isForm) {
  const opts = { method, headers: { "X-CSRF-Token": CSRF }, credentials: "same-origin" };
  if (body !== undefined) {
    if (isForm) { opts.body = body; } else { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
  }
  const r = await fetch("/api/v1" + path, opts);
  if (r.status === 401 && !path.startsWith("/session")) { location.href = "/login"; throw new ApiError(401, {error: "logged out"}); }
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

function fmtTime(iso) { return iso ? new Date(iso).toLocaleString() : ""; }
function pct(x) { return (100 * x).toFixed(1) + "%"; }
function showError(id, err) { document.getElementById(id).textContent = err ? (err.message || String(err)) : ""; }

function bindLogout() {
  const b = document.getElementById("logout");
  if (b) b.addEventListener("click", async () => {
    try { if (document.body.dataset.agent) await api("POST", "/me/logout"); } catch (e) { /* already out */ }
    try { await api("DELETE", "/session"); } finally { location.href = "/login"; }
  });
}
document.addEventListener("DOMContentLoaded", bindLogout);
