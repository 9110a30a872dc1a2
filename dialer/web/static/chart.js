// Hourly outcomes as stacked bars in inline SVG: no chart library, nothing loaded from outside.
"use strict";
const OUTCOME_COLORS = { connected: "#1a7f37", abandoned: "#cf222e", noanswer: "#8c959f", busy: "#bf8700",
  congestion: "#953800", failed: "#6e7781", machine: "#8250df", cancelled: "#d0d7de", invalid: "#57606a" };
const SVGNS = "http://www.w3.org/2000/svg";

function svgEl(tag, attrs) { const e = document.createElementNS(SVGNS, tag); for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v); return e; }

function drawHourly(container, legend, report) {
  const W = 720, H = 200, padL = 28, padB = 18, bw = (W - padL) / 24;
  const svg = svgEl("svg", { viewBox: `0 0 ${W} ${H}`, role: "img" });
  const totals = report.hours.map(h => Object.values(h.outcomes).reduce((a, b) => a + b, 0));
  const max = Math.max(4, Math.ceil(Math.max(...totals) / 4) * 4);  // whole numbers on the axis
  for (let i = 0; i <= 4; i++) {
    const y = (H - padB) - (H - padB - 8) * i / 4;
    svg.append(svgEl("line", { x1: padL, x2: W, y1: y, y2: y, stroke: "#eaeef2" }));
    const label = svgEl("text", { x: padL - 4, y: y + 4, "text-anchor": "end", "font-size": 10, fill: "#66727f" });
    label.textContent = Math.round(max * i / 4); svg.append(label);
  }
  report.hours.forEach((h, i) => {
    let y = H - padB;
    for (const o of report.outcomes) {
      const n = h.outcomes[o] || 0; if (!n) continue;
      const hgt = (H - padB - 8) * n / max; y -= hgt;
      const r = svgEl("rect", { x: padL + i * bw + 2, y, width: bw - 4, height: hgt, fill: OUTCOME_COLORS[o] || "#1f6feb" });
      const title = svgEl("title", {}); title.textContent = `${h.hour}:00 ${tv("outcome", o)}: ${num(n)}`; r.append(title); svg.append(r);
    }
    if (i % 3 === 0) { const hl = svgEl("text", { x: padL + i * bw + bw / 2, y: H - 4, "text-anchor": "middle", "font-size": 10, fill: "#66727f" }); hl.textContent = h.hour; svg.append(hl); }
  });
  container.replaceChildren(svg);
  legend.replaceChildren(...report.outcomes.map(o => {
    const i = el("i"); i.style.background = OUTCOME_COLORS[o] || "#1f6feb"; return el("span", {}, i, tv("outcome", o)); }));
  if (!report.outcomes.length) legend.replaceChildren(el("span", { class: "muted" }, t("no calls yet today")));
}
