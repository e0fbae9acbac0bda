// Progressive enhancement only: every page works without this script.
"use strict";

// Show each call's start in the viewer's own time zone, as the browser knows it.
function showLocalTimes() {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const lang = document.documentElement.lang || undefined;
  const format = new Intl.DateTimeFormat(lang, {
    weekday: "long", day: "numeric", month: "long", hour: "numeric", minute: "2-digit",
  });
  for (const element of document.querySelectorAll("time[data-local-time]")) {
    const moment = new Date(element.getAttribute("datetime"));
    if (Number.isNaN(moment.getTime())) continue;
    element.textContent = `${format.format(moment)} (${zone.replaceAll("_", " ")})`;
    element.dataset.zone = zone;
  }
}

// Copy buttons: data-copy names the element whose text is copied.
function setUpCopyButtons() {
  for (const button of document.querySelectorAll("button[data-copy]")) {
    button.addEventListener("click", async () => {
      const source = document.getElementById(button.dataset.copy);
      if (!source) return;
      try {
        await navigator.clipboard.writeText(source.textContent.trim());
        button.textContent = button.dataset.copied || "Copied";
      } catch {
        window.getSelection().selectAllChildren(source);
      }
    });
  }
}

// The note editor's live preview: the server renders, sanitizes and tags as saving would.
function setUpNotePreview() {
  const form = document.getElementById("note-form");
  const target = document.getElementById("note-preview");
  if (!form || !target) return;
  const body = form.querySelector("textarea[name=body]");
  const token = form.querySelector("input[name=csrf_token]");
  let timer = null;
  let sent = 0;
  const refresh = async () => {
    const number = ++sent;
    const data = new FormData();
    data.append("body", body.value);
    const response = await fetch(form.dataset.previewUrl, {
      method: "POST",
      body: data,
      headers: { "X-CSRFToken": token ? token.value : "" },
      credentials: "same-origin",
    });
    if (response.ok && number === sent) {
      target.innerHTML = await response.text();  // sanitized by the server
    }
  };
  body.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(refresh, 300);
  });
  if (body.value.trim()) refresh();
}

// Time-zone fields left empty take the browser's zone.
function fillBrowserZone() {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  for (const input of document.querySelectorAll("input[data-browser-zone]")) {
    if (!input.value && zone) input.value = zone;
  }
}

// A search result followed to its note (?highlight=words#update): the words it was found by
// are marked in that update (in the whole note without an anchor). Text nodes only: nothing
// from the address becomes markup.
function highlightSearchWords() {
  const words = (new URLSearchParams(window.location.search).get("highlight") || "")
    .split(/\s+/).filter((word) => word.length > 0).slice(0, 12);
  if (!words.length) return;
  let id = "";
  try {
    id = decodeURIComponent(window.location.hash.slice(1));
  } catch {
    id = "";  // a malformed address: mark the whole note
  }
  const scope = (id && document.getElementById(id)) || document.getElementById("main");
  if (!scope) return;
  const escaped = words.map((word) => word.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  const pattern = new RegExp(`(?<![\\p{L}\\p{N}])(?:${escaped.join("|")})(?![\\p{L}\\p{N}])`, "giu");
  const walker = document.createTreeWalker(scope, NodeFilter.SHOW_TEXT);
  const nodes = [];
  while (walker.nextNode()) nodes.push(walker.currentNode);
  for (const node of nodes) {
    if (node.parentElement.closest("mark, script, style, .anchor")) continue;
    const text = node.nodeValue;
    const matches = [...text.matchAll(pattern)];
    if (!matches.length) continue;
    const fragment = document.createDocumentFragment();
    let last = 0;
    for (const match of matches) {
      fragment.append(text.slice(last, match.index));
      const mark = document.createElement("mark");
      mark.className = "search-word";
      mark.textContent = match[0];
      fragment.append(mark);
      last = match.index + match[0].length;
    }
    fragment.append(text.slice(last));
    node.replaceWith(fragment);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  // The language menu submits itself when changed; its button stays for keyboard and no-JS users.
  const select = document.getElementById("language-select");
  if (select && select.form) {
    select.addEventListener("change", () => select.form.submit());
  }
  showLocalTimes();
  setUpCopyButtons();
  setUpNotePreview();
  fillBrowserZone();
  highlightSearchWords();
});
