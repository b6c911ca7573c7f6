// The chunk inspector: pick or drop a file, see its chunks, rank them against a query.
import * as api from "./api.js";
import { clearHits, cosine, markHits, renderDocument } from "./render.js";
import { loadStores, wireStores } from "./stores.js";

const PAGE_SIZE = 10;
const DEBOUNCE_MS = 250;
const TOP_HITS = 5;
const $ = (id) => document.getElementById(id);

const state = {
  models: new Map(), // id -> model card
  cursors: [], // `after` of each page before the current one
  page: null,
  file: null, // the chosen file object
  text: null, // its text, once loaded
  chunking: null, // AbortController of the latest chunk request
  chunked: null, // { key, done }: the latest chunk request (file and options) and its promise
  querying: null, // AbortController of the latest ranking
  vectors: new Map(), // JSON of (file, options) -> chunks with vectors
};

let debounceTimer = 0; // the re-chunk scheduled by typing a size, if any

// ---- status line: the API's messages exactly as it sent them ----

function showStatus(message, kind = "error") {
  const status = $("status");
  status.textContent = message;
  status.className = `status ${kind}`;
  status.hidden = false;
}

function clearStatus() {
  $("status").hidden = true;
}

function report(error) {
  if (error.name !== "AbortError") showStatus(error.message);
}

// ---- models and files ----

async function loadModels() {
  const { data } = await api.getJson("/v1/models");
  const select = $("model");
  const chosen = select.value;
  state.models = new Map(data.map((card) => [card.id, card]));
  select.replaceChildren(
    ...data.map((card) => new Option(`${card.id} (window ${card.context_length})`, card.id)),
  );
  if (state.models.has(chosen)) select.value = chosen;
}

async function loadFiles() {
  const params = new URLSearchParams({ limit: PAGE_SIZE, order: $("files-order").value });
  const after = state.cursors.at(-1);
  if (after) params.set("after", after);
  state.page = await api.getJson(`/v1/files?${params}`);
  if (!state.page.data.length && state.cursors.length) {
    state.cursors.pop(); // the last file of this page was deleted: show the one before
    return loadFiles();
  }
  renderFiles();
}

function formatBytes(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function fileItem(file) {
  const item = document.createElement("li");
  const pick = document.createElement("button");
  pick.type = "button";
  pick.className = "file-pick";
  pick.setAttribute("aria-pressed", String(file.id === state.file?.id));
  const name = document.createElement("span");
  name.className = "file-name";
  name.textContent = file.filename;
  const meta = document.createElement("span");
  meta.className = "file-meta";
  const created = new Date(file.created_at * 1000).toLocaleString();
  meta.textContent = `${formatBytes(file.bytes)} · ${created}`;
  pick.append(name, meta);
  pick.addEventListener("click", () => chooseFile(file));
  const remove = document.createElement("button");
  remove.type = "button";
  remove.className = "file-delete";
  remove.textContent = "Delete";
  remove.setAttribute("aria-label", `Delete ${file.filename}`);
  remove.addEventListener("click", () => deleteFile(file));
  item.append(pick, remove);
  return item;
}

function renderFiles() {
  const list = $("files");
  const files = state.page.data;
  if (!files.length) {
    const empty = document.createElement("li");
    empty.className = "empty";
    empty.textContent = "No files stored yet.";
    list.replaceChildren(empty);
  } else {
    list.replaceChildren(...files.map(fileItem));
  }
  $("files-prev").disabled = !state.cursors.length;
  $("files-next").disabled = !state.page.has_more;
}

async function refresh() {
  try {
    await Promise.all([loadModels(), loadFiles(), loadStores()]);
    clearStatus();
  } catch (error) {
    report(error);
  }
}

async function upload(fileList) {
  let stored = null;
  try {
    for (const file of fileList) {
      showStatus(`Uploading ${file.name}…`, "info");
      const form = new FormData();
      form.append("file", file);
      stored = await api.getJson("/v1/files", { method: "POST", body: form });
    }
    clearStatus();
  } catch (error) {
    report(error);
  }
  if (!stored) return;
  state.cursors = [];
  $("files-order").value = "desc"; // the new file is first
  await loadFiles().catch(report);
  chooseFile(stored);
}

async function deleteFile(file) {
  const question =
    `Delete ${file.filename}? Its chunks go too, and its cached vectors ` +
    "unless another file holds the same text.";
  if (!window.confirm(question)) return;
  try {
    await api.request(`/v1/files/${encodeURIComponent(file.id)}`, { method: "DELETE" });
    if (state.file?.id === file.id) forgetFile();
    await loadFiles();
    showStatus(`Deleted ${file.filename}.`, "info");
  } catch (error) {
    report(error);
  }
}

// ---- chunking ----

function chunkingOptions() {
  const options = {};
  if ($("model").value) options.model = $("model").value;
  if ($("tokenizer").value !== "model") options.tokenizer = $("tokenizer").value;
  const capacity = $("capacity").value.trim();
  const overlap = $("overlap").value.trim();
  const strategy = $("strategy").value;
  if (strategy === "auto") {
    options.chunking_strategy = { type: "auto" };
  } else if (strategy === "static") {
    const sizes = { max_chunk_size_tokens: Number(capacity || 800) };
    sizes.chunk_overlap_tokens = Number(overlap || 0);
    options.chunking_strategy = { type: "static", static: sizes };
  } else {
    if (capacity) options.chunk_capacity = Number(capacity);
    if (overlap) options.chunk_overlap = Number(overlap);
  }
  return options;
}

function chooseFile(file) {
  state.file = file;
  state.text = null;
  state.chunked = null;
  $("doc-title").textContent = file.filename;
  clearQuery();
  if (state.page) renderFiles();
  rechunk();
}

function forgetFile() {
  clearTimeout(debounceTimer);
  state.chunking?.abort();
  state.chunked = null;
  state.file = null;
  state.text = null;
  $("doc-title").textContent = "No file chosen";
  $("summary").replaceChildren();
  const hint = document.createElement("p");
  hint.className = "hint";
  hint.textContent = "Upload or pick a file to see how it is cut into chunks.";
  $("document").replaceChildren(hint);
  clearQuery();
}

// Draws the chunks of the file and options now in the form; resolves once they are drawn.
// Asking again for what is already drawn or on its way does nothing: a late debounced call must
// not redraw the same chunks and so clear (abort) a ranking made against them.
function rechunk() {
  clearTimeout(debounceTimer); // this call serves any scheduled one
  const file = state.file;
  if (!file) return Promise.resolve();
  const options = chunkingOptions();
  const key = JSON.stringify([file.id, options]);
  if (state.chunked?.key !== key) state.chunked = { key, done: drawChunks(file, options) };
  return state.chunked.done;
}

async function drawChunks(file, options) {
  state.chunking?.abort(); // a newer request makes the pending one stale
  const run = (state.chunking = new AbortController());
  const signal = run.signal;
  $("document").setAttribute("aria-busy", "true");
  try {
    state.text ??= await api.documentText(file.id, signal);
    const began = performance.now();
    const body = { id: file.id, ...options };
    const result = await api.getJson("/v1/chunks", { method: "POST", json: body, signal });
    if (run !== state.chunking) return;
    renderDocument($("document"), state.text, result.chunk_details);
    renderSummary(result, performance.now() - began);
    clearQuery();
    clearStatus();
  } catch (error) {
    if (run !== state.chunking) return;
    state.chunked = null; // failed: the same options may be asked again
    report(error);
  } finally {
    if (run === state.chunking) $("document").removeAttribute("aria-busy");
  }
}

function rechunkSoon() {
  clearTimeout(debounceTimer);
  debounceTimer = setTimeout(rechunk, DEBOUNCE_MS);
}

function summaryItem(term, ...description) {
  const wrapper = document.createElement("div");
  const dt = document.createElement("dt");
  dt.textContent = term;
  const dd = document.createElement("dd");
  dd.append(...description);
  wrapper.append(dt, dd);
  return wrapper;
}

function renderSummary(result, millis) {
  const details = result.chunk_details;
  const tokens = details.reduce((sum, d) => sum + d.tokens, 0);
  const largest = details.reduce((most, d) => Math.max(most, d.tokens), 0);
  const window_ = state.models.get(result.model)?.context_length;
  const items = [
    summaryItem("Chunks", String(details.length)),
    summaryItem("Tokens", `${tokens}`),
    summaryItem("Capacity", `${result.chunk_capacity} (overlap ${result.chunk_overlap})`),
  ];
  if (window_) {
    const meter = document.createElement("meter");
    Object.assign(meter, { min: 0, max: window_, value: largest, high: window_ * 0.95 });
    const share = Math.round((largest / window_) * 100);
    items.push(summaryItem("Largest chunk", `${largest} / ${window_} window (${share}%) `, meter));
  } else {
    items.push(summaryItem("Largest chunk", `${largest} tokens`));
  }
  items.push(summaryItem("Time", `${Math.round(millis)} ms`));
  const summary = $("summary");
  summary.replaceChildren(...items);
  // What the drawing shows, for scripts and tests: it changes only once a new answer is drawn.
  Object.assign(summary.dataset, {
    chunks: details.length,
    capacity: result.chunk_capacity,
    overlap: result.chunk_overlap,
  });
}

// ---- query ----

// Forgets the ranking; one still running is aborted, and its progress message goes with it.
function clearQuery() {
  if (state.querying) {
    state.querying.abort();
    state.querying = null;
    clearStatus();
  }
  $("hits").replaceChildren();
  clearHits($("document"));
}

async function vectorsFor(file, options, signal) {
  const key = JSON.stringify([file.id, options]);
  if (!state.vectors.has(key)) state.vectors.set(key, await api.fileVectors(file.id, options, signal));
  return state.vectors.get(key);
}

function hitItem({ index, score, text }) {
  const item = document.createElement("li");
  const button = document.createElement("button");
  button.type = "button";
  button.textContent = `#${index} · ${score.toFixed(3)}`;
  button.title = text.length > 300 ? `${text.slice(0, 300)}…` : text;
  button.addEventListener("click", () => showChunk(index));
  item.append(button);
  return item;
}

function showChunk(index) {
  const tag = document.getElementById(`chunk-${index}`);
  if (!tag) return;
  const still = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  tag.scrollIntoView({ block: "center", behavior: still ? "auto" : "smooth" });
  tag.focus({ preventScroll: true });
}

async function rank(event) {
  event.preventDefault();
  const query = $("query").value.trim();
  const file = state.file;
  if (!query || !file) {
    showStatus(file ? "Type a query first." : "Pick a file first.", "info");
    return;
  }
  // The ranking marks the drawn chunks: draw those of the options in the form first (a debounced
  // re-chunk may be pending), so none arrives later to replace them and clear the ranking.
  await rechunk();
  if (file !== state.file || !state.chunked) return; // another file, or chunking failed (shown)
  clearQuery();
  const run = (state.querying = new AbortController());
  const options = chunkingOptions();
  try {
    showStatus("Embedding the query and the file's chunks…", "info");
    const [vector, chunks] = await Promise.all([
      api.embed(query, options.model, run.signal),
      vectorsFor(file, options, run.signal),
    ]);
    if (run !== state.querying) return;
    const ranked = chunks
      .map((chunk) => ({ index: chunk.index, text: chunk.text, score: cosine(vector, chunk.embedding) }))
      .sort((a, b) => b.score - a.score)
      .slice(0, TOP_HITS);
    $("hits").replaceChildren(...ranked.map(hitItem));
    markHits($("document"), ranked);
    clearStatus();
    if (ranked.length) showChunk(ranked[0].index);
  } catch (error) {
    if (run === state.querying) report(error);
  } finally {
    if (run === state.querying) state.querying = null;
  }
}

// ---- wiring ----

function wireUpload() {
  const zone = $("drop-zone");
  const picker = $("file-picker");
  zone.addEventListener("click", () => picker.click());
  picker.addEventListener("change", () => {
    if (picker.files.length) upload([...picker.files]);
    picker.value = "";
  });
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    zone.classList.add("dragging");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("dragging");
    if (event.dataTransfer.files.length) upload([...event.dataTransfer.files]);
  });
  // A file dropped beside the zone must not make the browser navigate away to it.
  for (const type of ["dragover", "drop"]) window.addEventListener(type, (e) => e.preventDefault());
}

function wireKey() {
  $("api-key").value = api.apiKey();
  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    api.setApiKey($("api-key").value.trim());
    state.vectors.clear();
    refresh().then(() => state.file && rechunk());
  });
  $("key-forget").addEventListener("click", () => {
    $("api-key").value = "";
    api.setApiKey("");
    refresh();
  });
}

function syncStrategy() {
  const auto = $("strategy").value === "auto";
  $("capacity").disabled = auto;
  $("overlap").disabled = auto;
}

function wireChunking() {
  $("chunking").addEventListener("submit", (event) => event.preventDefault());
  for (const id of ["capacity", "overlap"]) $(id).addEventListener("input", rechunkSoon);
  for (const id of ["model", "tokenizer", "strategy"]) {
    $(id).addEventListener("change", () => {
      syncStrategy();
      rechunk();
    });
  }
  syncStrategy();
}

function wirePaging() {
  $("files-next").addEventListener("click", () => {
    state.cursors.push(state.page.last_id);
    loadFiles().catch(report);
  });
  $("files-prev").addEventListener("click", () => {
    state.cursors.pop();
    loadFiles().catch(report);
  });
  $("files-order").addEventListener("change", () => {
    state.cursors = [];
    loadFiles().catch(report);
  });
}

wireUpload();
wireKey();
wireChunking();
wirePaging();
$("query-form").addEventListener("submit", rank);
wireStores(report);
refresh();
