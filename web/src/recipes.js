// The recipes panel: recipes from GET /recipes (paged by its cursor links), and one recipe's
// view: its nodes with their states, the dependency graph, each node's job and products.
import { getJson } from "./api.js";
import { el, clear, fmtTime, fmtSeconds } from "./dom.js";

const PAGE = 25;
const STATUSES = ["running", "completed", "failed"];
const SVG = "http://www.w3.org/2000/svg";

export class RecipesPanel {
  constructor(root, { openRecipe }) {
    this.root = root;
    this.openRecipe = openRecipe;
    this.timer = null;
    this.status = "";
    this.page = 1;
    this.cursors = [null]; // the cursor that starts each page (page 1 has none)
    this.serial = 0;
    this.build();
  }

  build() {
    const filter = el(
      "select",
      { id: "recipe-status-filter" },
      el("option", { value: "" }, "any"),
      STATUSES.map((s) => el("option", { value: s }, s)),
    );
    filter.addEventListener("change", () => {
      this.status = filter.value;
      this.page = 1;
      this.cursors = [null];
      this.refresh();
    });
    this.count = el("strong", { id: "recipe-count", "aria-live": "polite" }, "…");
    this.list = el("ol", { class: "results recipes", "aria-label": "recipes" });
    this.prev = el("button", { type: "button", id: "recipes-prev", disabled: true }, "Previous");
    this.next = el("button", { type: "button", id: "recipes-next", disabled: true }, "Next");
    this.label = el("span", { id: "recipes-page" });
    this.error = el("p", { class: "error", role: "alert", hidden: true });
    this.prev.addEventListener("click", () => {
      this.page -= 1;
      this.refresh();
    });
    this.next.addEventListener("click", () => {
      this.page += 1;
      this.refresh();
    });
    this.root.append(
      el("h2", {}, "Recipes"),
      el("label", {}, "Status ", filter),
      el("div", { class: "summary" }, this.count),
      this.error,
      this.list,
      el("div", { class: "pager" }, this.prev, this.label, this.next),
    );
  }

  // A recipe or one of its jobs changed: the list is read again (soon, once) when it shows.
  changed() {
    if (this.root.hidden) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.refresh(), 500);
  }

  async refresh() {
    const serial = ++this.serial;
    const params = new URLSearchParams({ page_size: String(PAGE) });
    if (this.status) params.set("status", this.status);
    const cursor = this.cursors[this.page - 1];
    if (cursor) params.set("cursor", cursor);
    let page;
    try {
      page = await getJson(`/recipes?${params}`);
    } catch (err) {
      if (serial !== this.serial) return;
      this.error.textContent = `recipes: ${err.message}`;
      this.error.hidden = false;
      return;
    }
    if (serial !== this.serial) return;
    this.error.hidden = true;
    const count = page.count;
    this.count.textContent = `${count.toLocaleString("en")} ${count === 1 ? "recipe" : "recipes"}`;
    clear(this.list);
    if (!page.results.length) this.list.append(el("li", { class: "muted" }, "no recipes"));
    for (const recipe of page.results) this.list.append(this.item(recipe));
    const pages = Math.max(1, Math.ceil(count / PAGE));
    this.label.textContent = `page ${this.page} of ${pages.toLocaleString("en")}`;
    this.prev.disabled = this.page <= 1;
    const next = page.next ? new URL(page.next, location.href).searchParams.get("cursor") : null;
    this.cursors[this.page] = next;
    this.next.disabled = !next;
  }

  item(recipe) {
    const link = recipeLink(recipe.id, recipe.recipe_type, this.openRecipe);
    link.classList.add("name");
    const item = el(
      "li",
      { "data-recipe": recipe.id },
      link,
      el(
        "span",
        { class: "meta" },
        el("span", { class: `badge ${recipe.status}` }, recipe.status),
        [
          recipe.id,
          `created ${fmtTime(recipe.created)}`,
          recipe.ended ? `ended ${fmtTime(recipe.ended)}` : "",
          recipe.ended ? fmtSeconds(recipe.ended - recipe.created) : "",
          recipe.trigger ? `trigger ${recipe.trigger}` : "",
        ]
          .filter(Boolean)
          .join(" · "),
      ),
    );
    return item;
  }
}

export function recipeLink(id, text, openRecipe) {
  const link = el("a", { href: `#recipe=${encodeURIComponent(id)}`, "data-recipe": id }, text);
  link.addEventListener("click", (event) => {
    event.preventDefault();
    openRecipe(id);
  });
  return link;
}

// Nodes in an order that puts each after its dependencies (the definition's own order kept
// where it allows), and each node's depth (the longest path from a node with no dependencies).
export function ordered(nodes) {
  const names = Object.keys(nodes);
  const depth = {};
  const seen = new Set();
  const out = [];
  const visit = (name, trail) => {
    if (seen.has(name)) return;
    if (trail.has(name)) return; // a cycle (the API refuses them): stop rather than spin
    trail.add(name);
    let d = 0;
    for (const dep of nodes[name].dependencies || []) {
      if (!(dep.name in nodes)) continue;
      visit(dep.name, trail);
      d = Math.max(d, (depth[dep.name] ?? 0) + 1);
    }
    trail.delete(name);
    depth[name] = d;
    seen.add(name);
    out.push(name);
  };
  for (const name of names) visit(name, new Set());
  return { order: out, depth };
}

// One recipe: its fields, inputs, the graph and each node. ``links`` opens jobs, files, recipes.
export function recipeView(recipe, { openJob, openFile, openRecipe }) {
  const box = el("div", { class: "recipe", "data-recipe": recipe.id, "data-status": recipe.status });
  const table = el("table", { class: "fields", "aria-label": "recipe" });
  const rows = [
    ["id", recipe.id],
    ["recipe type", recipe.recipe_type],
    ["status", el("span", { class: `badge ${recipe.status}`, id: "recipe-status" }, recipe.status)],
    ["created", fmtTime(recipe.created)],
    ["ended", fmtTime(recipe.ended)],
    ["duration", recipe.ended ? fmtSeconds(recipe.ended - recipe.created) : ""],
    ["trigger", recipe.trigger || ""],
    ["parent", recipe.parent ? recipeLink(recipe.parent, recipe.parent, openRecipe) : ""],
    ["parent node", recipe.parent_node || ""],
  ];
  for (const [name, value] of rows) table.append(el("tr", {}, el("th", {}, name), el("td", {}, value)));
  if (recipe.error) {
    const nodes = (recipe.error.nodes || []).join(", ");
    table.append(
      el(
        "tr",
        {},
        el("th", {}, "error"),
        el("td", { class: "error", id: "recipe-error" }, [nodes, recipe.error.reason].filter(Boolean).join(": ")),
      ),
    );
  }
  box.append(table);

  const inputs = el("ul", { class: "links", "aria-label": "recipe inputs" });
  const files = (recipe.inputs && recipe.inputs.files) || {};
  const json = (recipe.inputs && recipe.inputs.json) || {};
  for (const [name, ids] of Object.entries(files)) {
    for (const id of ids) inputs.append(el("li", {}, `${name}: `, fileLink(id, openFile)));
  }
  for (const [name, value] of Object.entries(json)) {
    inputs.append(el("li", {}, `${name}: `, el("code", {}, JSON.stringify(value))));
  }
  if (!inputs.firstChild) inputs.append(el("li", { class: "muted" }, "none"));
  box.append(el("h4", {}, "Inputs"), inputs);

  const nodes = recipe.nodes || {};
  const { order, depth } = ordered(nodes);
  box.append(el("h4", {}, "Graph"), graph(nodes, order, depth));
  const list = el("ol", { class: "nodes", "aria-label": "nodes" });
  const halted = recipe.status === "failed";
  for (const name of order) list.append(nodeItem(nodes[name], halted, { openJob, openFile, openRecipe }));
  if (!order.length) list.append(el("li", { class: "muted" }, "no nodes"));
  box.append(el("h4", {}, "Nodes"), list);
  return box;
}

function nodeItem(node, halted, { openJob, openFile, openRecipe }) {
  const item = el("li", { "data-node": node.name, "data-state": node.state, class: `node ${node.state}` });
  item.append(
    el("span", { class: "node-name" }, node.name),
    " ",
    el("span", { class: "badge kind" }, node.node_type || "node"),
    " ",
    el("span", { class: `badge ${node.state} state` }, node.state),
  );
  const deps = node.dependencies || [];
  item.append(
    el(
      "div",
      { class: "meta edges" },
      deps.length
        ? `after ${deps.map((d) => `${d.name}${d.acceptance === false ? " (not accepted)" : ""}`).join(", ")}`
        : "first: depends on nothing",
    ),
  );
  if (halted && node.state === "pending") {
    // The API keeps them pending: a retry of the recipe runs them.
    item.append(el("div", { class: "muted node-blocked" }, "blocked: the recipe failed before it"));
  }
  if (node.condition_result !== null && node.condition_result !== undefined) {
    item.append(
      el("div", { class: "meta condition" }, `condition ${node.condition_result ? "accepted" : "not accepted"}`),
    );
  }
  const times = [
    node.started ? `started ${fmtTime(node.started)}` : "",
    node.ended ? `ended ${fmtTime(node.ended)}` : "",
    node.started && node.ended ? fmtSeconds(node.ended - node.started) : "",
  ].filter(Boolean);
  if (times.length) item.append(el("div", { class: "meta" }, times.join(" · ")));
  if (node.job) {
    const link = el("a", { href: `#job=${encodeURIComponent(node.job)}`, "data-job": node.job, class: "job-link" }, `job ${node.job}`);
    link.addEventListener("click", (event) => {
      event.preventDefault();
      openJob(node.job);
    });
    item.append(
      el("div", {}, link, node.job_status ? el("span", { class: `badge ${node.job_status}` }, node.job_status) : ""),
    );
  }
  if (node.sub_recipe) {
    item.append(el("div", {}, "sub-recipe ", recipeLink(node.sub_recipe, node.sub_recipe, openRecipe)));
  }
  const products = node.products || [];
  if (products.length) {
    const made = el("ul", { class: "links products", "aria-label": `products of ${node.name}` });
    for (const id of products) made.append(el("li", {}, fileLink(id, openFile)));
    item.append(made);
  }
  const outputs = node.json_outputs || {};
  if (Object.keys(outputs).length) {
    item.append(el("pre", { class: "json" }, JSON.stringify(outputs, null, 2)));
  }
  if (node.reason) {
    // a failed node's error, or why a node was skipped
    item.append(el("div", { class: node.state === "failed" ? "error node-error" : "muted node-reason" }, node.reason));
  }
  return item;
}

// A link to a file's record, named by its file name once the catalogue answers.
function fileLink(id, openFile) {
  const link = el("a", { href: `#file=${encodeURIComponent(id)}`, "data-file": id }, id);
  link.addEventListener("click", (event) => {
    event.preventDefault();
    openFile(id);
  });
  getJson(`/files/${encodeURIComponent(id)}`)
    .then((found) => {
      link.textContent = found.file_name;
    })
    .catch(() => link.after(el("span", { class: "muted" }, " (not in the catalogue)")));
  return link;
}

// The dependency graph as a small SVG: a column per depth, a box per node coloured by its
// state, a line per dependency (dashed when it waits for a "not accepted" condition).
function graph(nodes, order, depth) {
  const W = 104;
  const H = 26;
  const GX = 22;
  const GY = 12;
  const rows = {};
  const at = {};
  for (const name of order) {
    const d = depth[name];
    rows[d] = (rows[d] || 0) + 1;
    at[name] = { x: d * (W + GX) + 4, y: (rows[d] - 1) * (H + GY) + 4 };
  }
  const columns = Math.max(1, ...Object.keys(rows).map((d) => Number(d) + 1));
  const height = Math.max(1, ...Object.values(rows)) * (H + GY) + 4;
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("class", "graph");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", "recipe graph");
  svg.setAttribute("width", String(columns * (W + GX)));
  svg.setAttribute("height", String(height));
  const make = (tag, attrs) => {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
    return node;
  };
  for (const name of order) {
    for (const dep of nodes[name].dependencies || []) {
      if (!at[dep.name]) continue;
      const from = at[dep.name];
      const to = at[name];
      const line = make("line", {
        x1: from.x + W,
        y1: from.y + H / 2,
        x2: to.x,
        y2: to.y + H / 2,
        class: "edge",
        "data-from": dep.name,
        "data-to": name,
      });
      if (dep.acceptance === false) line.setAttribute("stroke-dasharray", "4 3");
      svg.append(line);
    }
  }
  for (const name of order) {
    const node = nodes[name];
    const g = make("g", { class: `gnode ${node.state}`, "data-node": name });
    g.append(make("rect", { x: at[name].x, y: at[name].y, width: W, height: H, rx: 4 }));
    const text = make("text", { x: at[name].x + 6, y: at[name].y + 17 });
    const label = `${name} · ${node.state}`;
    text.textContent = label.length > 16 ? `${label.slice(0, 15)}…` : label;
    const title = document.createElementNS(SVG, "title");
    title.textContent = `${name} (${node.node_type}): ${node.state}`;
    g.append(title, text);
    svg.append(g);
  }
  return svg;
}
