// The ragprep HTTP API as the inspector uses it: every call carries the API key, if one is set,
// and every failure becomes an ApiError holding the server's own message.

const KEY_STORAGE = "ragprep.apiKey";
const NDJSON = "application/x-ndjson";

export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }
}

export function apiKey() {
  return sessionStorage.getItem(KEY_STORAGE) || "";
}

export function setApiKey(key) {
  if (key) sessionStorage.setItem(KEY_STORAGE, key);
  else sessionStorage.removeItem(KEY_STORAGE);
}

export async function request(path, { method = "GET", json, body, signal, accept } = {}) {
  const headers = {};
  const key = apiKey();
  if (key) headers.Authorization = `Bearer ${key}`;
  if (accept) headers.Accept = accept;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  }
  const response = await fetch(path, { method, headers, body, signal });
  if (!response.ok) throw new ApiError(await errorMessage(response), response.status);
  return response;
}

export async function getJson(path, options) {
  return (await request(path, options)).json();
}

// The OpenAI envelope's message, as the server wrote it; anything else is shown raw.
async function errorMessage(response) {
  const text = await response.text();
  try {
    const message = JSON.parse(text)?.error?.message;
    if (typeof message === "string") return message;
  } catch {
    // not JSON: a proxy's page, say
  }
  const detail = text ? `: ${text.slice(0, 300)}` : "";
  return `HTTP ${response.status} ${response.statusText}${detail}`;
}

const fileUrl = (fileId, tail) => `/v1/files/${encodeURIComponent(fileId)}/${tail}`;

// The text chunk offsets index into: the extracted text where the server offers it, else the
// stored bytes decoded as the chunker decodes them (UTF-8, or UTF-16 with a BOM; BOM dropped).
export async function documentText(fileId, signal) {
  try {
    return await (await request(fileUrl(fileId, "text"), { signal })).text();
  } catch (error) {
    if (error.name === "AbortError" || error.status === 401) throw error;
  }
  const response = await request(fileUrl(fileId, "content"), { signal });
  return decodeText(new Uint8Array(await response.arrayBuffer()));
}

function decodeText(bytes) {
  // TextDecoder drops a BOM matching its encoding (ignoreBOM is false by default).
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return new TextDecoder("utf-16le").decode(bytes);
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return new TextDecoder("utf-16be").decode(bytes);
  return new TextDecoder("utf-8").decode(bytes);
}

// Chunks with vectors, streamed as NDJSON so any number of chunks fits; an error line ends it.
export async function fileVectors(fileId, options, signal) {
  const response = await request(fileUrl(fileId, "embeddings"), {
    method: "POST",
    json: options,
    accept: NDJSON,
    signal,
  });
  const items = [];
  for (const line of (await response.text()).split("\n")) {
    if (!line.trim()) continue;
    const item = JSON.parse(line);
    if (item.error) throw new ApiError(item.error.message, response.status);
    items.push(item);
  }
  return items;
}

export async function embed(text, model, signal) {
  const body = await getJson("/v1/embeddings", {
    method: "POST",
    json: { input: text, ...(model ? { model } : {}) },
    signal,
  });
  return body.data[0].embedding;
}
