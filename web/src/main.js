// The seedpipe catalogue page: search on a map, records with lineage, jobs, live updates.
import "leaflet/dist/leaflet.css";
import "./style.css";
import { getJson, filesParams } from "./api.js";
import { CatalogueMap } from "./map.js";
import { JobsPanel, jobSummary } from "./jobs.js";
import { RecipesPanel, recipeView, recipeLink } from "./recipes.js";
import { el, fmtTime, clear } from "./dom.js";

const LIST_PAGE = 50;

const config = JSON.parse(document.getElementById("seedpipe-config").textContent);

const state = {
  bbox: null,
  start: "",
  end: "",
  timeField: "data",
  dataType: "",
  mediaType: "",
  fileType: "",
  workspace: "",
  fileName: "",
  page: 1,
};
let listCursors = [null]; // the cursor that starts each list page (page 1 has none)
let searchSerial = 0;

const app = document.getElementById("app");
app.innerHTML = `
<header class="top">
  <h1>seedpipe <span>catalogue</span></h1>
  <nav role="tablist">
    <button role="tab" id="tab-search" aria-selected="true">Search</button>
    <button role="tab" id="tab-jobs" aria-selected="false">Jobs</button>
    <button role="tab" id="tab-recipes" aria-selected="false" hidden>Recipes</button>
  </nav>
  <span id="live" class="live" title="live updates">live: connecting</span>
</header>
<main>
  <aside class="side">
    <section id="search-pane">
      <form id="search" autocomplete="off">
        <fieldset>
          <legend>Where</legend>
          <div class="row">
            <label>Box (W,S,E,N) <input name="bbox" id="bbox" placeholder="draw on the map or type"></label>
          </div>
          <div class="row buttons">
            <button type="button" id="draw">Draw box</button>
            <button type="button" id="clear-box">Clear box</button>
          </div>
        </fieldset>
        <fieldset>
          <legend>When</legend>
          <div class="row">
            <label>From <input type="datetime-local" name="start" id="start" step="1"></label>
          </div>
          <div class="row">
            <label>To <input type="datetime-local" name="end" id="end" step="1"></label>
          </div>
          <div class="row">
            <label>Time of <select name="timeField" id="time-field">
              <option value="data">data (what the file covers)</option>
              <option value="source">source</option>
              <option value="created">ingest (created)</option>
              <option value="last_modified">last modified</option>
            </select></label>
          </div>
        </fieldset>
        <fieldset>
          <legend>What</legend>
          <div class="row two">
            <label>Data type <input name="dataType" id="data-type"></label>
            <label>Media type <input name="mediaType" id="media-type" placeholder="image/tiff"></label>
          </div>
          <div class="row two">
            <label>File type <select name="fileType" id="file-type">
              <option value="">any</option><option>SOURCE</option><option>PRODUCT</option>
            </select></label>
            <label>Collection <select name="workspace" id="workspace"><option value="">any</option></select></label>
          </div>
          <div class="row">
            <label>File name contains <input name="fileName" id="file-name"></label>
          </div>
        </fieldset>
        <div class="row buttons">
          <button type="submit" class="primary">Search</button>
          <button type="reset">Reset</button>
        </div>
        <p id="form-error" class="error" role="alert" hidden></p>
      </form>
      <div class="summary">
        <strong id="count" aria-live="polite">…</strong>
        <span id="drawn-note"></span>
        <span id="news" hidden><button type="button" id="news-button"></button></span>
      </div>
      <ol id="results" class="results" aria-label="results"></ol>
      <div class="pager">
        <button type="button" id="prev" disabled>Previous</button>
        <span id="page-label"></span>
        <button type="button" id="next" disabled>Next</button>
      </div>
    </section>
    <section id="jobs-pane" hidden></section>
    <section id="recipes-pane" hidden></section>
  </aside>
  <div id="map" class="map" aria-label="map"></div>
  <section id="record" class="record" aria-label="record" hidden></section>
</main>`;

const $ = (id) => document.getElementById(id);
const form = $("search");
const map = new CatalogueMap($("map"), config, {
  onBox: (bbox) => {
    state.bbox = bbox;
    $("bbox").value = bbox.map((v) => v.toFixed(4)).join(",");
    $("draw").classList.remove("active");
    search();
  },
  onPick: (id) => openRecord(id),
  onHover: (id, on) => {
    const item = document.querySelector(`#results li[data-id="${CSS.escape(id)}"]`);
    if (item) item.classList.toggle("hot", on);
  },
});
// For the browser tests and the benchmark: the Leaflet map (to turn places into pixels).
window.seedpipe = { map: map.map };
const jobs = new JobsPanel($("jobs-pane"), { openJob: (id) => openJob(id) });
const recipes = new RecipesPanel($("recipes-pane"), { openRecipe: (id) => openRecipe(id) });
$("tab-recipes").hidden = !config.recipes;

for (const name of config.collections || []) {
  $("workspace").append(el("option", { value: name }, name));
}

function readForm() {
  const data = new FormData(form);
  const text = (data.get("bbox") || "").trim();
  if (text) {
    const parts = text.split(",").map((p) => Number(p.trim()));
    if (parts.length !== 4 || parts.some((p) => !Number.isFinite(p))) {
      throw new Error("Box: give four numbers, west,south,east,north");
    }
    state.bbox = parts;
  } else {
    state.bbox = null;
  }
  // datetime-local has no zone: the times typed are taken as UTC, like every time shown here.
  state.start = data.get("start") ? `${data.get("start")}${zoneless(data.get("start"))}` : "";
  state.end = data.get("end") ? `${data.get("end")}${zoneless(data.get("end"))}` : "";
  for (const key of ["timeField", "dataType", "mediaType", "fileType", "workspace", "fileName"]) {
    state[key] = data.get(key) || "";
  }
}

function zoneless(value) {
  return value.length === 16 ? ":00Z" : "Z";
}

function showError(message) {
  const box = $("form-error");
  box.textContent = message || "";
  box.hidden = !message;
}

async function search({ keepPage = false } = {}) {
  const serial = ++searchSerial;
  if (!keepPage) {
    state.page = 1;
    listCursors = [null];
  }
  const params = filesParams(state);
  showError("");
  $("news").hidden = true;
  $("count").textContent = "searching…";
  const list = new URLSearchParams(params);
  list.set("page_size", String(LIST_PAGE));
  const cursor = listCursors[state.page - 1];
  if (cursor) {
    list.set("cursor", cursor);
    list.set("page", String(state.page));
  }
  history.replaceState(null, "", `?${params}${location.hash}`); // the open record's hash kept
  if (!keepPage) map.showFootprints(params);
  try {
    const page = await getJson(`/files?${list}`);
    if (serial !== searchSerial) return;
    renderList(page);
  } catch (err) {
    if (serial !== searchSerial) return;
    $("count").textContent = "no answer";
    showError(err.message);
  }
}

function renderList(page) {
  const count = page.count;
  $("count").textContent = `${count.toLocaleString("en")} ${count === 1 ? "file" : "files"}`;
  const list = $("results");
  clear(list);
  for (const record of page.results) {
    const item = el(
      "li",
      { "data-id": record.id, tabindex: "0" },
      el("a", { href: `#file=${encodeURIComponent(record.id)}`, class: "name" }, record.file_name),
      el(
        "span",
        { class: "meta" },
        [record.file_type, (record.data_type_tags || []).join(" "), fmtTime(record.data_started)]
          .filter(Boolean)
          .join(" · "),
      ),
    );
    item.addEventListener("mouseenter", () => map.highlight(record.id, true));
    item.addEventListener("mouseleave", () => map.highlight(record.id, false));
    item.addEventListener("click", (event) => {
      event.preventDefault();
      openRecord(record.id);
    });
    list.append(item);
  }
  const pages = Math.max(1, Math.ceil(count / LIST_PAGE));
  $("page-label").textContent = `page ${state.page} of ${pages.toLocaleString("en")}`;
  $("prev").disabled = state.page <= 1;
  const nextCursor = page.next ? new URL(page.next).searchParams.get("cursor") : null;
  listCursors[state.page] = nextCursor;
  $("next").disabled = !nextCursor;
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  try {
    readForm();
  } catch (err) {
    showError(err.message);
    return;
  }
  search();
});
form.addEventListener("reset", () => {
  setTimeout(() => {
    map.clearBox();
    readForm();
    search();
  });
});
$("draw").addEventListener("click", () => {
  $("draw").classList.add("active");
  map.startBox();
});
$("clear-box").addEventListener("click", () => {
  $("bbox").value = "";
  map.clearBox();
  state.bbox = null;
  search();
});
$("prev").addEventListener("click", () => {
  state.page -= 1;
  search({ keepPage: true });
});
$("next").addEventListener("click", () => {
  state.page += 1;
  search({ keepPage: true });
});

// ---- one record: every field, meta_data, download, lineage, the job that made it

const record = $("record");

async function openRecord(id) {
  record.hidden = false;
  clear(record);
  record.append(el("p", { class: "muted" }, "loading…"));
  let file;
  try {
    file = await getJson(`/files/${encodeURIComponent(id)}`);
  } catch (err) {
    clear(record);
    record.append(closeButton(), el("p", { class: "error" }, err.message));
    return;
  }
  location.hash = `file=${encodeURIComponent(id)}`;
  map.focus(file);
  clear(record);
  const download = config.download
    ? config.download.replace("{id}", encodeURIComponent(file.id))
    : file.url;
  record.append(
    closeButton(),
    el("h2", {}, file.file_name),
    el(
      "p",
      { class: "actions" },
      download
        ? el("a", { href: download, download: file.file_name, id: "download" }, "Download")
        : el("span", { class: "muted" }, "no download link"),
      config.download ? "" : el("span", { class: "muted" }, " (the record's url)"),
    ),
    fieldsTable(file),
    el("h3", {}, "meta_data"),
    el("pre", { class: "json", id: "meta-data" }, JSON.stringify(file.meta_data || {}, null, 2)),
  );
  const lineage = el("section", { id: "lineage" }, el("h3", {}, "Lineage"));
  const jobBox = el("section", { id: "record-job" });
  record.append(lineage);
  if (config.recipes) {
    const recipesBox = el("section", { id: "record-recipes" }, el("h3", {}, "Recipes"));
    record.append(recipesBox);
    renderFileRecipes(recipesBox, file);
  }
  record.append(jobBox);
  renderLineage(lineage, file);
  if (file.job) renderJob(jobBox, file.job, "Made by job");
}

function closeButton() {
  const button = el("button", { type: "button", class: "close", "aria-label": "Close" }, "×");
  button.addEventListener("click", () => {
    record.hidden = true;
    openRecipeId = null;
    clearTimeout(recipeTimer);
    history.replaceState(null, "", location.pathname + location.search);
  });
  return button;
}

const SKIP = new Set(["meta_data", "geometry"]);

function fieldsTable(file) {
  const table = el("table", { class: "fields", id: "record-fields", "aria-label": "fields" });
  for (const [key, value] of Object.entries(file)) {
    if (SKIP.has(key)) continue;
    table.append(el("tr", {}, el("th", {}, key), el("td", {}, show(value))));
  }
  table.append(
    el(
      "tr",
      {},
      el("th", {}, "geometry"),
      el("td", {}, file.geometry ? `${file.geometry.type} (${pointCount(file.geometry)} points)` : ""),
    ),
  );
  return table;
}

function pointCount(geometry) {
  return JSON.stringify(geometry.coordinates || []).split("],[").length;
}

function show(value) {
  if (value === null || value === undefined) return "";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

async function renderLineage(box, file) {
  const from = el("ul", { class: "links", "aria-label": "sources" });
  const made = el("ul", { class: "links", "aria-label": "products" });
  box.append(el("h4", {}, "Came from"), from, el("h4", {}, "Made from it"), made);
  const ancestors = file.ancestors || [];
  if (!ancestors.length) from.append(el("li", { class: "muted" }, "nothing: a source file"));
  for (const id of ancestors.slice(0, 50)) {
    const item = el("li", {}, recordLink(id, id));
    from.append(item);
    getJson(`/files/${encodeURIComponent(id)}`)
      .then((found) => {
        item.firstChild.textContent = found.file_name;
      })
      .catch(() => item.append(el("span", { class: "muted" }, " (not in the catalogue)")));
  }
  try {
    const page = await getJson(`/files?derived_from=${encodeURIComponent(file.id)}&page_size=50`);
    if (!page.results.length) made.append(el("li", { class: "muted" }, "nothing yet"));
    for (const product of page.results) made.append(el("li", {}, recordLink(product.id, product.file_name)));
    if (page.count > page.results.length) {
      made.append(el("li", { class: "muted" }, `and ${page.count - page.results.length} more`));
    }
  } catch (err) {
    made.append(el("li", { class: "error" }, err.message));
  }
}

// The recipe that made the file (its record says) and those that took it in (GET /recipes
// ?input_file=), each a link to the recipe's view.
async function renderFileRecipes(box, file) {
  const made = el("ul", { class: "links", "aria-label": "made by recipe" });
  const used = el("ul", { class: "links", "aria-label": "used by recipes" });
  box.append(el("h4", {}, "Made by"), made, el("h4", {}, "Used by"), used);
  if (file.recipe) {
    made.append(
      el(
        "li",
        {},
        recipeLink(file.recipe, file.recipe_type || file.recipe, openRecipe),
        file.recipe_node ? el("span", { class: "muted" }, ` node ${file.recipe_node}`) : "",
      ),
    );
  } else {
    made.append(el("li", { class: "muted" }, "no recipe"));
  }
  try {
    const page = await getJson(`/recipes?input_file=${encodeURIComponent(file.id)}&page_size=20`);
    if (!page.results.length) used.append(el("li", { class: "muted" }, "no recipe yet"));
    for (const found of page.results) {
      used.append(
        el(
          "li",
          {},
          recipeLink(found.id, found.recipe_type, openRecipe),
          " ",
          el("span", { class: `badge ${found.status}` }, found.status),
          el("span", { class: "muted" }, ` ${fmtTime(found.created)}`),
        ),
      );
    }
    if (page.count > page.results.length) {
      used.append(el("li", { class: "muted" }, `and ${page.count - page.results.length} more`));
    }
  } catch (err) {
    used.append(el("li", { class: "error" }, err.message));
  }
}

function recordLink(id, text) {
  const link = el("a", { href: `#file=${encodeURIComponent(id)}`, "data-file": id }, text);
  link.addEventListener("click", (event) => {
    event.preventDefault();
    openRecord(id);
  });
  return link;
}

async function renderJob(box, jobId, title) {
  clear(box);
  box.append(el("h3", {}, title), el("p", { class: "muted" }, "loading…"));
  let job;
  try {
    job = await getJson(`/jobs/${encodeURIComponent(jobId)}`);
  } catch (err) {
    clear(box);
    box.append(el("h3", {}, title), el("p", { class: "muted" }, `job ${jobId}: ${err.message}`));
    return;
  }
  clear(box);
  box.dataset.job = job.id;
  box.append(el("h3", {}, title), jobSummary(job, { openFile: openRecord }));
}

function openJob(jobId) {
  record.hidden = false;
  clear(record);
  const box = el("section", { id: "record-job" });
  record.append(closeButton(), box);
  location.hash = `job=${encodeURIComponent(jobId)}`;
  renderJob(box, jobId, "Job");
}

// ---- one recipe: its nodes and their states, redrawn while it runs

let openRecipeId = null;
let recipeTimer = null;
let recipeWait = 1000; // the poll's backoff while a recipe runs: 1 s growing to 15 s
let recipeSerial = 0;

async function openRecipe(id) {
  record.hidden = false;
  if (openRecipeId !== id || !record.querySelector("#recipe-view")) {
    clear(record);
    record.append(closeButton(), el("section", { id: "recipe-view" }, el("p", { class: "muted" }, "loading…")));
    recipeWait = 1000;
  }
  openRecipeId = id;
  location.hash = `recipe=${encodeURIComponent(id)}`;
  await drawRecipe();
}

async function drawRecipe() {
  const id = openRecipeId;
  const serial = ++recipeSerial;
  clearTimeout(recipeTimer);
  const box = record.querySelector("#recipe-view");
  if (!box || record.hidden) return;
  let recipe;
  try {
    recipe = await getJson(`/recipes/${encodeURIComponent(id)}`);
  } catch (err) {
    if (serial !== recipeSerial) return;
    clear(box);
    box.append(el("h2", {}, `Recipe ${id}`), el("p", { class: "error" }, err.message));
    return;
  }
  if (serial !== recipeSerial || openRecipeId !== id) return;
  clear(box);
  box.append(
    el("h2", {}, `Recipe ${recipe.recipe_type}`),
    recipeView(recipe, { openJob, openFile: openRecipeFile, openRecipe }),
  );
  if (recipe.status === "running") {
    // The live feed redraws on every change it hears; the poll is for what it cannot say.
    recipeTimer = setTimeout(drawRecipe, recipeWait);
    recipeWait = Math.min(15000, Math.round(recipeWait * 1.6));
  }
}

function recipeChanged(recipeId) {
  if (recipeId !== openRecipeId || record.hidden || !record.querySelector("#recipe-view")) return;
  recipeWait = 1000;
  clearTimeout(recipeTimer);
  recipeTimer = setTimeout(drawRecipe, 300);
}

function openRecipeFile(id) {
  openRecipeId = null;
  clearTimeout(recipeTimer);
  openRecord(id);
}

// ---- tabs

function selectTab(name) {
  for (const tab of ["search", "jobs", "recipes"]) {
    $(`tab-${tab}`).setAttribute("aria-selected", String(name === tab));
    $(`${tab}-pane`).hidden = name !== tab;
  }
  if (name === "jobs") jobs.refresh();
  if (name === "recipes") recipes.refresh();
}
$("tab-search").addEventListener("click", () => selectTab("search"));
$("tab-jobs").addEventListener("click", () => selectTab("jobs"));
$("tab-recipes").addEventListener("click", () => selectTab("recipes"));

// ---- live: new records and job changes without a reload

let fresh = 0;
let refreshTimer = null;
function connectLive() {
  if (!window.EventSource) return;
  const source = new EventSource("/ui/events");
  source.addEventListener("open", () => ($("live").textContent = "live"));
  source.addEventListener("error", () => ($("live").textContent = "live: reconnecting"));
  source.addEventListener("file", (message) => {
    const data = JSON.parse(message.data);
    fresh += 1;
    $("news-button").textContent = `${fresh} new or changed ${fresh === 1 ? "file" : "files"}: show`;
    $("news").hidden = false;
    // Keep the count and the map in step; the list page stays where the reader is.
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(() => {
      if (state.page === 1) search();
    }, 1000);
    if (!record.hidden && record.querySelector("h2") && location.hash.includes(encodeURIComponent(data.id))) {
      openRecord(data.id);
    }
  });
  source.addEventListener("job", (message) => {
    const data = JSON.parse(message.data);
    jobs.changed(data);
    const box = document.getElementById("record-job");
    if (box && box.dataset.job === data.id) renderJob(box, data.id, box.querySelector("h3").textContent);
    if (data.recipe) {
      recipes.changed();
      recipeChanged(data.recipe);
    }
  });
  source.addEventListener("recipe", (message) => {
    const data = JSON.parse(message.data);
    recipes.changed();
    recipeChanged(data.id);
  });
  source.addEventListener("resync", () => {
    search({ keepPage: true });
    jobs.changed(null);
    recipes.changed();
    if (openRecipeId) recipeChanged(openRecipeId);
  });
}
$("news-button").addEventListener("click", () => {
  fresh = 0;
  search();
});

// ---- start: the form from the address, then search

function fromAddress() {
  const params = new URLSearchParams(location.search);
  const bbox = params.get("bbox");
  if (bbox) $("bbox").value = bbox;
  const when = params.get("datetime");
  if (when) {
    const [start, end] = when.split("/");
    if (start && start !== "..") $("start").value = start.replace(/Z$/, "").slice(0, 19);
    if (end && end !== "..") $("end").value = end.replace(/Z$/, "").slice(0, 19);
  }
  for (const [name, id] of [
    ["time_field", "time-field"],
    ["data_type", "data-type"],
    ["media_type", "media-type"],
    ["file_type", "file-type"],
    ["workspace", "workspace"],
    ["file_name", "file-name"],
  ]) {
    if (params.get(name)) $(id).value = params.get(name);
  }
}

// What the address opens (#file=, #recipe=, #job=), read before the search rewrites it.
const opened = /file=([^&]+)/.exec(location.hash);
const openedRecipe = /recipe=([^&]+)/.exec(location.hash);
const openedJob = /job=([^&]+)/.exec(location.hash);
fromAddress();
try {
  readForm();
} catch (err) {
  showError(err.message);
}
if (state.bbox) map.setBox(state.bbox);
search();
connectLive();
if (opened) openRecord(decodeURIComponent(opened[1]));
else if (openedRecipe && config.recipes) openRecipe(decodeURIComponent(openedRecipe[1]));
else if (openedJob) openJob(decodeURIComponent(openedJob[1]));
