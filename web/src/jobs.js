// The jobs panel: counts by status and job type, recent and failed jobs, one job with its log.
import { getJson, jobsPage } from "./api.js";
import { el, clear, fmtTime, fmtSeconds } from "./dom.js";

const SAMPLE = 1000; // the counts are over the newest jobs, at most this many

export class JobsPanel {
  constructor(root, { openJob }) {
    this.root = root;
    this.openJob = openJob;
    this.timer = null;
  }

  changed() {
    if (this.root.hidden) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.refresh(), 500);
  }

  async refresh() {
    let recent;
    let failed;
    try {
      [recent, failed] = await Promise.all([
        jobsPage(new URLSearchParams({ page_size: String(SAMPLE) })),
        jobsPage(new URLSearchParams({ status: "failed", page_size: "20" })),
      ]);
    } catch (err) {
      clear(this.root);
      this.root.append(el("p", { class: "error" }, `jobs: ${err.message}`));
      return;
    }
    clear(this.root);
    const byStatus = {};
    const byType = {};
    for (const job of recent) {
      byStatus[job.status] = (byStatus[job.status] || 0) + 1;
      const row = (byType[job.job_type] = byType[job.job_type] || {});
      row[job.status] = (row[job.status] || 0) + 1;
    }
    const statuses = Object.keys(byStatus).sort();
    const note = recent.length >= SAMPLE ? ` (the newest ${SAMPLE})` : "";
    this.root.append(
      el("h2", {}, "Jobs"),
      el(
        "p",
        { id: "job-counts" },
        statuses.length
          ? statuses.map((s) => el("span", { class: `badge ${s}` }, `${s} ${byStatus[s]}`))
          : el("span", { class: "muted" }, "no jobs yet"),
        note,
      ),
    );
    if (statuses.length) {
      const table = el("table", { class: "grid", "aria-label": "jobs by type" });
      table.append(el("tr", {}, el("th", {}, "job type"), statuses.map((s) => el("th", {}, s))));
      for (const [type, row] of Object.entries(byType).sort()) {
        table.append(el("tr", {}, el("td", {}, type), statuses.map((s) => el("td", {}, row[s] || 0))));
      }
      this.root.append(table);
    }
    this.root.append(el("h3", {}, "Failed"), this.list(failed, true, "failed jobs"));
    const newest = [...recent].sort((a, b) => stamp(b.created) - stamp(a.created)).slice(0, 20);
    this.root.append(el("h3", {}, "Recent"), this.list(newest, false, "recent jobs"));
  }

  list(jobs, withError, label) {
    const list = el("ul", { class: "jobs", "aria-label": label });
    if (!jobs.length) list.append(el("li", { class: "muted" }, "none"));
    for (const job of jobs) {
      const link = el("a", { href: `#job=${job.id}`, "data-job": job.id }, `${job.job_type} ${job.id}`);
      link.addEventListener("click", (event) => {
        event.preventDefault();
        this.openJob(job.id);
      });
      list.append(
        el(
          "li",
          {},
          link,
          " ",
          el("span", { class: `badge ${job.status}` }, job.status),
          " ",
          el("span", { class: "muted" }, fmtTime(job.ended || job.started || job.created)),
          withError && job.error ? el("div", { class: "error" }, errorText(job.error)) : null,
        ),
      );
    }
    return list;
  }
}

function stamp(value) {
  return typeof value === "number" ? value * 1000 : Date.parse(value) || 0;
}

function errorText(error) {
  return [error.name || error.code, error.description].filter(Boolean).join(": ");
}

export function jobSummary(job, { openFile }) {
  const box = el("div", { class: "job" });
  const table = el("table", { class: "fields" });
  const rows = [
    ["id", job.id],
    ["job type", `${job.job_type} ${job.job_type_version || ""}`],
    ["status", el("span", { class: `badge ${job.status}`, id: "job-status" }, job.status)],
    ["attempt", `${job.attempt} of ${job.max_attempts}`],
    ["created", fmtTime(job.created)],
    ["started", fmtTime(job.started)],
    ["ended", fmtTime(job.ended)],
    ["duration", fmtSeconds(job.duration_s)],
    ["exit code", job.exit_code ?? ""],
    ["error", job.error ? errorText(job.error) : ""],
  ];
  for (const [name, value] of rows) table.append(el("tr", {}, el("th", {}, name), el("td", {}, value)));
  const input = el("a", { href: `#file=${job.file_id}` }, job.file_id);
  input.addEventListener("click", (event) => {
    event.preventDefault();
    openFile(job.file_id);
  });
  table.append(el("tr", {}, el("th", {}, "input file"), el("td", {}, input)));
  box.append(table, el("h4", {}, "Log (tail)"));
  box.append(el("pre", { class: "log", id: "job-log" }, job.log || "(no log)"));
  return box;
}

export { getJson };
