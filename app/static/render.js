// Drawing a document with its chunks. Text only ever goes in through textContent and text nodes.

// Chunk offsets are Python str indices, i.e. Unicode code points; JavaScript strings index UTF-16
// code units, where an astral character (emoji, rare CJK) takes two. offsets[cp] is the code
// unit at which code point cp starts; offsets[count] is text.length.
export function codePointOffsets(text) {
  const offsets = new Uint32Array(text.length + 1);
  let count = 0;
  for (let unit = 0; unit < text.length; unit++) {
    offsets[count++] = unit;
    const code = text.charCodeAt(unit);
    if (code >= 0xd800 && code <= 0xdbff && unit + 1 < text.length) {
      const next = text.charCodeAt(unit + 1);
      if (next >= 0xdc00 && next <= 0xdfff) unit++;
    }
  }
  offsets[count] = text.length;
  return offsets.subarray(0, count + 1);
}

// Cuts [0, length) at every chunk start and end; each piece lists the chunks covering it
// (none: text between chunks; two or more: an overlap).
export function pieces(extents, length) {
  const cuts = new Set([0, length]);
  for (const { start, end } of extents) {
    cuts.add(Math.min(start, length));
    cuts.add(Math.min(end, length));
  }
  const sorted = [...cuts].sort((a, b) => a - b);
  const result = [];
  let first = 0; // chunks come in document order: those ending before this piece are done
  for (let k = 0; k + 1 < sorted.length; k++) {
    const [start, end] = [sorted[k], sorted[k + 1]];
    while (first < extents.length && extents[first].end <= start) first++;
    const covering = [];
    for (let i = first; i < extents.length && extents[i].start <= start; i++) {
      if (extents[i].end >= end) covering.push(i);
    }
    result.push({ start, end, chunks: covering });
  }
  return result;
}

function chunkTag(index, detail) {
  const tag = document.createElement("span");
  tag.className = `chunk-tag ${index % 2 ? "odd" : "even"}`;
  tag.id = `chunk-${index}`;
  tag.dataset.chunk = String(index);
  tag.tabIndex = -1; // focus lands here when a query hit is chosen
  const parts = [`#${index}`, `${detail.tokens} tok`];
  const pages = detail.pages;
  if (Array.isArray(pages) && pages.length === 2) {
    parts.push(pages[0] === pages[1] ? `p. ${pages[0]}` : `pp. ${pages[0]}–${pages[1]}`);
  }
  tag.textContent = parts.join(" · ");
  if (Array.isArray(detail.headings) && detail.headings.length) {
    const path = document.createElement("span");
    path.className = "headings";
    path.textContent = detail.headings.join(" › ");
    tag.append(" · ", path);
  }
  return tag;
}

function pieceSpan(text, chunks) {
  const span = document.createElement("span");
  const colour = chunks.length > 1 ? "overlap" : chunks[0] % 2 ? "odd" : "even";
  span.className = `piece ${colour}`;
  span.dataset.chunks = chunks.join(" ");
  if (chunks.length > 1) span.title = `Overlap of chunks ${chunks.map((i) => `#${i}`).join(", ")}`;
  span.textContent = text;
  return span;
}

// The document with each chunk's extent highlighted; each chunk starts with a tag naming it.
export function renderDocument(container, text, details) {
  const offsets = codePointOffsets(text);
  const length = offsets.length - 1;
  const fragment = document.createDocumentFragment();
  const tagged = new Set();
  for (const piece of pieces(details, length)) {
    for (const i of piece.chunks) {
      if (!tagged.has(i) && details[i].start === piece.start) {
        fragment.append(chunkTag(i, details[i]));
        tagged.add(i);
      }
    }
    const slice = text.slice(offsets[piece.start], offsets[piece.end]);
    fragment.append(piece.chunks.length ? pieceSpan(slice, piece.chunks) : slice);
  }
  // Empty chunks cover no piece; still name them, where they start.
  details.forEach((detail, i) => tagged.has(i) || fragment.append(chunkTag(i, detail)));
  container.replaceChildren(fragment);
}

export function clearHits(container) {
  for (const node of container.querySelectorAll(".hit")) node.classList.remove("hit", "best");
  for (const node of container.querySelectorAll(".chunk-tag .score")) node.remove();
}

// Marks the ranked chunks (best first) and their scores in the drawn document.
export function markHits(container, ranked) {
  clearHits(container);
  ranked.forEach(({ index, score }, rank) => {
    const tag = container.querySelector(`#chunk-${index}`);
    const nodes = [tag, ...container.querySelectorAll(`.piece[data-chunks~="${index}"]`)];
    for (const node of nodes) {
      if (!node) continue;
      node.classList.add("hit");
      if (rank === 0) node.classList.add("best");
    }
    if (tag) {
      const label = document.createElement("span");
      label.className = "score";
      label.textContent = `${rank === 0 ? "best " : ""}${score.toFixed(3)}`;
      tag.append(label);
    }
  });
}

export function cosine(a, b) {
  let dot = 0;
  let normA = 0;
  let normB = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    normA += a[i] * a[i];
    normB += b[i] * b[i];
  }
  return dot / (Math.sqrt(normA) * Math.sqrt(normB) || 1);
}
