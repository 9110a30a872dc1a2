// The agent page's pickup panel: during a call, the applicant's office, its address and directions (read
// them from the screen), the current booking, and the next free slots (today, tomorrow, or a chosen day).
// One click on a slot books it and records the call's "appointment agreed" disposition with it (one API
// call: POST /api/v1/appointments with the call's attempt_id). Kept apart from agent.js: it follows the
// call card (#pop) as agent.js draws it, and reads the card's attempt from agent.js's `call`.
"use strict";
(() => {
  const $ = id => document.getElementById(id);
  let shown = null;  // application number the panel is drawn for
  let seq = 0;

  function attemptId() {
    try { return (typeof call !== "undefined" && call && call.ev && call.ev.attempt_id) || null; }  // eslint-disable-line no-undef
    catch (e) { return null; }
  }
  function number() {
    const n = ($("pop-number").textContent || "").trim();
    return n && n !== "—" ? n : null;
  }
  function dayIn(offsetDays) {
    const p = zoneParts(Date.now() + offsetDays * 86400000);
    return `${p.year}-${String(p.month).padStart(2, "0")}-${String(p.day).padStart(2, "0")}`;
  }
  function slotLabel(s) {
    return new Intl.DateTimeFormat(LOCALE, { timeZone: TZ, weekday: "short", day: "2-digit", month: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false }).format(new Date(s.start));
  }

  function drawBooking(b) {
    $("pickup-booking").textContent = b ? t("Booked: {when}", { when: fmtTime(b.start) }) : t("No booking yet");
    $("pickup-booking").dataset.booked = b ? "1" : "";
  }

  async function load(day) {
    const n = number();
    if (!n) return;
    const mine = ++seq;
    showError("pickup-error", null);
    let q = "/appointments/options?application_number=" + encodeURIComponent(n);
    if (day) q += "&date=" + day;
    let o;
    try { o = await api("GET", q); } catch (e) { if (mine === seq) showError("pickup-error", e); return; }
    if (mine !== seq) return;  // an older answer arriving late
    $("pickup").hidden = false;
    $("pickup-office").textContent = o.office ? o.office.name : t("No pickup office is set for this application");
    $("pickup-address").textContent = o.office ? o.office.address : "";
    $("pickup-directions").textContent = o.office ? (LANG === "en" && o.office.directions_en ? o.office.directions_en : o.office.directions) : "";
    drawBooking(o.booking);
    const box = $("pickup-slots");
    if (!o.office || o.status !== "ready") {
      box.replaceChildren(el("span", { class: "muted" }, t("Booking opens when the passport is ready")));
      return;
    }
    if (!o.slots.length) { box.replaceChildren(el("span", { class: "muted" }, t("No free slots"))); return; }
    box.replaceChildren(...o.slots.map(s => el("button", {
      type: "button", class: "slot", "data-start": s.start,
      title: t("{n} places free", { n: s.free }),
      onclick: () => book(o, s),
    }, slotLabel(s))));
  }

  async function book(o, s) {
    showError("pickup-error", null);
    const body = { application_number: o.application_number, office_id: o.office.id, start: s.start };
    const a = attemptId();
    if (a) body.attempt_id = a;
    try {
      const b = await api("POST", "/appointments", body);
      drawBooking(b);
      $("pickup-ok").textContent = a ? t("Booked; outcome saved") : t("Booked");
      if (a) { const save = $("save-disposition"); if (save) save.disabled = true; }
      await load(null);
    } catch (e) { showError("pickup-error", e); if (e.status === 409) await load(null); }
  }

  function follow() {
    const visible = !$("pop").hidden;
    const n = visible ? number() : null;
    if (n === shown) return;
    shown = n;
    $("pickup-ok").textContent = "";
    if (!n) { $("pickup").hidden = true; return; }
    load(null);
  }

  document.addEventListener("DOMContentLoaded", () => {
    if (!$("pickup")) return;
    new MutationObserver(follow).observe($("pop"), { attributes: true, attributeFilter: ["hidden"], subtree: true, childList: true, characterData: true });
    $("pickup-today").addEventListener("click", () => load(dayIn(0)));
    $("pickup-tomorrow").addEventListener("click", () => load(dayIn(1)));
    $("pickup-next").addEventListener("click", () => load(null));
    $("pickup-day").addEventListener("change", ev => { if (ev.target.value) load(ev.target.value); });
    follow();
  });
})();
