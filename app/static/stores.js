// The store view: pick a vector store, search across its files, see each hit's file, pages,
// headings and score, as POST /v1/vector_stores/{id}/search answers them.
import * as api from "./api.js";

const RESULTS = 10;
const EXCERPT = 400; // characters of a hit's text shown; the whole text is in its title
const $ = (id) => document.getElementById(id);

let searching = null; // AbortController of the latest search

export async function loadStores() {
  const select = $("store");
  const chosen = select.value;
  const { data } = await api.getJson("/v1/vector_stores?limit=100&order=desc");
  const options = data.map((store) => {
    const files = store.file_counts.completed;
    return new Option(`${store.name || store.id} (${files} file${files === 1 ? "" : "s"})`, store.id);
  });
  select.replaceChildren(...options);
  if (data.some((store) => store.id === chosen)) select.value = chosen;
  $("store-search-button").disabled = !data.length;
  $("store-empty").hidden = data.length > 0;
}

function detail(term, value) {
  const item = document.createElement("span");
  item.className = "store-hit-detail";
  item.dataset.term = term;
  item.textContent = `${term} ${value}`;
  return item;
}

function hitCard(hit) {
  const item = document.createElement("li");
  item.className = "store-hit";
  const head = document.createElement("div");
  head.className = "store-hit-head";
  const name = document.createElement("strong");
  name.className = "store-hit-file";
  name.textContent = hit.filename;
  name.title = hit.file_id;
  head.append(name, detail("score", hit.score.toFixed(3)));
  if (hit.pages) {
    const [first, last] = hit.pages;
    head.append(detail("pages", first === last ? `${first}` : `${first}–${last}`));
  }
  if (hit.headings?.length) head.append(detail("in", hit.headings.join(" › ")));
  const text = hit.content.map((part) => part.text).join("\n");
  const excerpt = document.createElement("p");
  excerpt.className = "store-hit-text";
  excerpt.textContent = text.length > EXCERPT ? `${text.slice(0, EXCERPT)}…` : text;
  excerpt.title = text;
  item.append(head, excerpt);
  return item;
}

async function search(event, report) {
  event.preventDefault();
  const storeId = $("store").value;
  const query = $("store-query").value.trim();
  if (!storeId || !query) return;
  searching?.abort();
  searching = new AbortController();
  const hits = $("store-hits");
  hits.setAttribute("aria-busy", "true");
  try {
    const page = await api.getJson(`/v1/vector_stores/${encodeURIComponent(storeId)}/search`, {
      method: "POST",
      json: { query, max_num_results: RESULTS },
      signal: searching.signal,
    });
    hits.replaceChildren(...page.data.map(hitCard));
    hits.dataset.query = query;
    $("store-none").hidden = page.data.length > 0;
  } catch (error) {
    report(error);
  } finally {
    hits.removeAttribute("aria-busy");
  }
}

export function wireStores(report) {
  $("store-form").addEventListener("submit", (event) => search(event, report));
  $("store-reload").addEventListener("click", () => loadStores().catch(report));
  $("store").addEventListener("change", () => {
    $("store-hits").replaceChildren();
    $("store-none").hidden = true;
  });
}
