// Admin dashboard: pickup offices (list, create), bookings per office per day against places (a chart
// for the next 7 days) and the no-shows count. Talks to /api/v1/offices and /api/v1/reports/appointments.
"use strict";
(() => {
  const WEEK = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
  const $ = id => document.getElementById(id);

  function isoDay(d) { return d.toISOString().slice(0, 10); }
  function hoursText(h) {
    return WEEK.map(d => `${tp("weekday", d)} ${h[d] === "closed" ? t("closed") : h[d]}`).join(", ");
  }

  async function loadOffices() {
    const body = $("offices").querySelector("tbody");
    const data = await api("GET", "/offices");
    body.replaceChildren(...data.items.map(o => el("tr", { "data-office": o.id },
      el("td", {}, o.name), el("td", {}, o.address), el("td", { class: "small" }, hoursText(o.hours)),
      el("td", {}, t("{n} min", { n: o.slot_minutes })), el("td", {}, num(o.capacity)),
      el("td", {}, t("{n} days", { n: o.horizon_days })))));
    if (!data.items.length) body.replaceChildren(el("tr", {}, el("td", { colspan: 6, class: "muted" }, t("no offices yet"))));
  }

  function drawLoad(items) {
    const box = $("office-load");
    const days = [...new Set(items.map(x => x.date))].sort();
    const offices = [...new Set(items.map(x => x.office))];
    if (!offices.length) { box.replaceChildren(el("p", { class: "muted" }, t("no offices yet"))); return; }
    const W = 720, rowH = 22, padL = 160, H = offices.length * days.length * rowH + 20;
    const svg = svgEl("svg", { viewBox: `0 0 ${W} ${H}`, role: "img" });
    let y = 4;
    for (const name of offices) {
      for (const day of days) {
        const x = items.find(i => i.office === name && i.date === day);
        const share = x.places ? Math.min(1, x.booked / x.places) : 0;
        const label = svgEl("text", { x: padL - 6, y: y + 14, "text-anchor": "end", "font-size": 11, fill: "#24292f" });
        label.textContent = `${name} ${fmtDate(day)}`; svg.append(label);
        svg.append(svgEl("rect", { x: padL, y: y + 3, width: W - padL - 90, height: rowH - 6, fill: "#eaeef2" }));
        const bar = svgEl("rect", { x: padL, y: y + 3, width: (W - padL - 90) * share, height: rowH - 6,
          fill: share >= 1 ? "#cf222e" : share >= 0.8 ? "#bf8700" : "#1a7f37", class: "load-bar" });
        const tip = svgEl("title", {}); tip.textContent = t("{booked} of {places} places booked", { booked: x.booked, places: x.places });
        bar.append(tip); svg.append(bar);
        const v = svgEl("text", { x: W - 84, y: y + 14, "font-size": 11, fill: "#66727f", class: "load-value" });
        v.textContent = x.places ? `${num(x.booked)} / ${num(x.places)}` : t("closed"); svg.append(v);
        y += rowH;
      }
    }
    box.replaceChildren(svg);
  }

  async function loadReport() {
    const from = new Date();
    const to = new Date(from.getTime() + 6 * 86400000);
    const load = await api("GET", `/reports/appointments?date_from=${isoDay(from)}&date_to=${isoDay(to)}`);
    drawLoad(load.items);
    const ns = await api("GET", "/reports/no-shows?days=30");
    $("no-shows").textContent = t("No-shows in the last 30 days: {n}", { n: ns.items.length });
  }

  async function create(ev) {
    ev.preventDefault();
    const f = ev.target;
    const hours = {};
    for (const d of WEEK.slice(0, 5)) hours[d] = f.weekdays.value.trim() || "closed";
    hours.sat = f.sat.value.trim() || "closed";
    hours.sun = f.sun.value.trim() || "closed";
    const body = { name: f.name.value, address: f.address.value, directions: f.directions.value,
      directions_en: f.directions_en.value, hours, slot_minutes: Number(f.slot_minutes.value),
      capacity: Number(f.capacity.value), horizon_days: Number(f.horizon_days.value) };
    try {
      await api("POST", "/offices", body);
      showError("new-office-error", null);
      f.reset();
      await loadOffices(); await loadReport();
    } catch (e) { showError("new-office-error", e); }
  }

  document.addEventListener("DOMContentLoaded", () => {
    if (!$("offices-card")) return;
    $("new-office").addEventListener("submit", create);
    loadOffices().catch(e => showError("new-office-error", e));
    loadReport().catch(e => showError("new-office-error", e));
  });
})();
