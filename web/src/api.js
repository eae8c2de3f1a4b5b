// The page's calls to the seedpipe API (the same /files, /jobs routes every client uses).

export class ApiError extends Error {
  constructor(status, detail, field) {
    super(detail || `HTTP ${status}`);
    this.status = status;
    this.field = field;
  }
}

export async function getJson(url, { signal } = {}) {
  const response = await fetch(url, { headers: { Accept: "application/json" }, signal });
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok) {
    const detail = body && typeof body.detail === "string" ? body.detail : null;
    throw new ApiError(response.status, detail, body && body.field);
  }
  return body;
}

// The /files query string for the search form's state (empty values left out).
export function filesParams(state) {
  const params = new URLSearchParams();
  if (state.bbox) params.set("bbox", state.bbox.map((v) => +v.toFixed(6)).join(","));
  if (state.start || state.end) {
    params.set("datetime", `${state.start || ".."}/${state.end || ".."}`);
    params.set("time_field", state.timeField || "data");
  }
  for (const [name, key] of [
    ["data_type", "dataType"],
    ["media_type", "mediaType"],
    ["file_type", "fileType"],
    ["workspace", "workspace"],
    ["file_name_contains", "fileName"],
  ]) {
    const value = (state[key] || "").trim();
    if (value) params.set(name, value);
  }
  return params;
}

// Job list pages: /jobs answers {results, has_more} or {results, next}; both are read.
export async function jobsPage(params, signal) {
  const body = await getJson(`/jobs?${params}`, { signal });
  return body.results || [];
}
