// Imports: upload a CSV, follow the job's progress (SSE), then page through the rejected rows.
"use strict";
let job = null, rejectedPage = 0;

function figures(j) {
  return t("{state} — {percent} of {size} MB; {rows} rows, {accepted} accepted, {rejected} rejected", {
    state: tv("import state", j.state), percent: pct(j.percent / 100), size: num(j.bytes_total / 1048576, 1),
    rows: num(j.total_rows), accepted: num(j.accepted), rejected: num(j.rejected) }) +
    (j.dnc ? t(", {n} on the do-not-call list", { n: num(j.dnc) }) : "") + (j.error ? ` — ${tr(j.error)}` : "");
}
function kindText(j) { return tv("import kind", j.kind) + (j.target ? " → " + j.target : ""); }

async function moreRejected() {
  rejectedPage += 1;
  const page = await api("GET", `/imports/${job.id}/rejected?page=${rejectedPage}&per_page=100`);
  const body = document.querySelector("#rejected tbody");
  body.append(...page.items.map(r => el("tr", {}, el("td", {}, r.line), el("td", {}, tr(r.reason)))));
  document.getElementById("rejected-more").hidden = rejectedPage * 100 >= page.total;
}

function follow(j) {
  job = j; rejectedPage = 0;
  document.getElementById("job").hidden = false;
  document.getElementById("job-report").hidden = true;
  document.querySelector("#rejected tbody").replaceChildren();
  document.getElementById("job-title").textContent = `${kindText(j)}: ${j.filename}`;
  const show = (x) => {
    document.getElementById("job-bar").style.width = x.percent + "%";
    document.getElementById("job-figures").textContent = figures(x);
  };
  show(j);
  const src = new EventSource(`/api/v1/imports/${j.id}/events`);
  src.addEventListener("progress", async (ev) => {
    const x = JSON.parse(ev.data); show(x);
    if (x.state !== "running") {
      src.close(); job = x;
      document.getElementById("job-report").hidden = false;
      document.getElementById("job-csv").href = `/api/v1/imports/${x.id}/rejected.csv`;
      await moreRejected(); loadJobs();
    }
  });
}

async function upload(form, path) {
  showError("upload-error", null);
  const data = new FormData(); data.append("file", form.querySelector('input[type="file"]').files[0]);
  try { follow(await api("POST", path, data, true)); } catch (e) { showError("upload-error", e); }
}

async function loadCampaigns() {
  const list = await api("GET", "/campaigns");
  document.getElementById("contacts-campaign").replaceChildren(
    ...list.items.filter(c => c.state !== "stopped" && c.state !== "completed").map(c => el("option", { value: c.name }, c.name)));
}

async function loadJobs() {
  const list = await api("GET", "/imports");
  document.querySelector("#jobs tbody").replaceChildren(...list.items.map(j => el("tr", {},
    el("td", {}, fmtTime(j.started_at)), el("td", {}, kindText(j)), el("td", {}, j.filename),
    el("td", {}, tv("import state", j.state)), el("td", {}, num(j.total_rows)), el("td", {}, num(j.accepted)), el("td", {}, num(j.rejected)))));
}

document.getElementById("applications-form").addEventListener("submit", (ev) => { ev.preventDefault(); upload(ev.target, "/applications/import"); });
document.getElementById("contacts-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  upload(ev.target, `/campaigns/${encodeURIComponent(document.getElementById("contacts-campaign").value)}/contacts/import`);
});
document.getElementById("rejected-more").addEventListener("click", moreRejected);
loadCampaigns(); loadJobs();
