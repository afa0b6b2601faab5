// Files: uploading (XMLHttpRequest, for its upload progress events), the files cookie
// that lets <img> and plain links fetch files (they cannot send the Authorization
// header), and drawing a message's files: images inline from their thumbnail, other
// files as a download link with name and size.

import { ApiError, accessToken } from "./api.js";
import { h } from "./dom.js";

const BASE = "/api/v1";
/** Renew the cookie this often (it lives as long as an access token: 15 min by default). */
const COOKIE_RENEW_MS = 5 * 60 * 1000;
/** Only this server's file URLs are ever put in the page. */
const FILE_URL = /^\/api\/v1\/files\/\d+(\/thumbnail)?$/;

let cookieReady = null; // a promise: the cookie is set (or could not be)
let renewTimer = null;

async function setCookie() {
  const response = await fetch(`${BASE}/files/cookie`, {
    method: "POST",
    headers: { Authorization: `Bearer ${await accessToken()}` },
    credentials: "same-origin", // so that the Set-Cookie is kept
    cache: "no-store",
  });
  if (!response.ok) throw new ApiError(response.status, "files_cookie", `HTTP ${response.status}`);
}

/** The files cookie is set; renewed until stopFiles(). */
export function startFiles() {
  stopFiles();
  cookieReady = setCookie().catch((err) => console.warn("venn: files cookie", err.message));
  renewTimer = setInterval(() => {
    cookieReady = setCookie().catch((err) => console.warn("venn: files cookie", err.message));
  }, COOKIE_RENEW_MS);
}

export function stopFiles() {
  clearInterval(renewTimer);
  renewTimer = null;
}

/** Wait for the cookie, then load `img` from `url`; once more with a new cookie if it fails. */
function loadImage(img, url) {
  let retried = false;
  img.addEventListener("error", () => {
    if (retried) return;
    retried = true;
    cookieReady = setCookie().catch(() => {});
    cookieReady.then(() => { img.src = `${url}?r=1`; });
  });
  (cookieReady || Promise.resolve()).then(() => { img.src = url; });
}

/** The badge of a file link: its extension ("PDF"), or "FILE". */
function extension(name) {
  const match = /\.([A-Za-z0-9]{1,5})$/.exec(name);
  return match ? match[1].toUpperCase() : "FILE";
}

/** "1.2 MB", "340 KB", "12 bytes". */
export function formatSize(bytes) {
  if (bytes < 1024) return `${bytes} ${bytes === 1 ? "byte" : "bytes"}`;
  const units = ["KB", "MB", "GB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

/**
 * Upload `file` to a channel: resolves with the server's file summary. `onProgress`
 * gets the fraction sent (0..1) as the upload goes. `signal` (an AbortSignal) cancels it.
 */
export async function uploadFile(channelId, file, { onProgress, signal } = {}) {
  const token = await accessToken();
  const form = new FormData();
  form.append("channel_id", String(channelId)); // before the file: the server checks it first
  form.append("file", file, file.name);
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `${BASE}/files`);
    xhr.setRequestHeader("Authorization", `Bearer ${token}`);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.responseType = "json";
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable && onProgress) onProgress(event.loaded / event.total);
    });
    xhr.addEventListener("load", () => {
      if (xhr.status === 201 && xhr.response?.file) {
        resolve(xhr.response.file);
        return;
      }
      const error = xhr.response?.error || {};
      const { code, message, ...extra } = error;
      const fallback = xhr.status === 413 ? "The file is too large." : `Upload failed (HTTP ${xhr.status}).`;
      reject(new ApiError(xhr.status, code || "upload_failed", message || fallback, extra));
    });
    xhr.addEventListener("error", () => reject(new ApiError(0, "network", "The upload failed: cannot reach the server.")));
    xhr.addEventListener("abort", () => reject(new ApiError(0, "aborted", "The upload was cancelled.")));
    if (signal) signal.addEventListener("abort", () => xhr.abort());
    xhr.send(form);
  });
}

/** A message's files: images as their thumbnail (a link to the full image), others as a download link. */
export function renderFiles(files) {
  const items = [];
  for (const file of files || []) {
    if (!FILE_URL.test(file.url)) continue;
    const label = `${file.name} (${formatSize(file.size)})`;
    if (file.thumbnail_url && FILE_URL.test(file.thumbnail_url)) {
      const img = h("img.file-thumb", { alt: file.name, loading: "lazy", decoding: "async" });
      if (file.width && file.height) {
        const scale = Math.min(1, 400 / Math.max(file.width, file.height));
        img.width = Math.max(1, Math.round(file.width * scale));
        img.height = Math.max(1, Math.round(file.height * scale));
      }
      loadImage(img, file.thumbnail_url);
      items.push(
        h("a.file-image", { href: file.url, target: "_blank", rel: "noopener", title: label, "aria-label": `Open image ${label}` }, img),
      );
    } else {
      items.push(
        h(
          "a.file-link",
          { href: file.url, download: file.name, rel: "noopener", title: `Download ${label}` },
          h("span.file-icon", { "aria-hidden": "true" }, extension(file.name)),
          h("span.file-name", file.name),
          " ",
          h("span.file-size", formatSize(file.size)),
        ),
      );
    }
  }
  return items.length ? h("div.files", items) : null;
}
