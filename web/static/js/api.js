// The REST client and the session: tokens, refresh with rotation, sign-out.
//
// The access token (15 min) and the refresh token (14 days) are kept in
// localStorage, so a reload or a second tab goes on with the same session. A refresh
// token works once: tabs refresh one at a time (a Web Lock) and a tab that finds the
// tokens already rotated by another one adopts them instead of refreshing again
// (presenting a used refresh token would revoke every session of the user).

const BASE = "/api/v1";
const STORE_KEY = "venn.session";
const LOCK_NAME = "venn.session.refresh";
/** Refresh an access token this long (ms) before it expires. */
const EARLY_MS = 30_000;

export class ApiError extends Error {
  constructor(status, code, message, extra = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.fields = extra.fields || [];
    this.extra = extra;
  }
}

let current = null; // {access_token, refresh_token, expires_at, user}
let refreshing = null; // the refresh in flight, shared by every caller of this tab
const endListeners = new Set();
const changeListeners = new Set();

function readStore() {
  try {
    const raw = localStorage.getItem(STORE_KEY);
    return raw ? JSON.parse(raw) : null;
  } catch {
    return null;
  }
}

function writeStore(data) {
  try {
    if (data) localStorage.setItem(STORE_KEY, JSON.stringify(data));
    else localStorage.removeItem(STORE_KEY);
  } catch {
    // storage disabled: the session lasts as long as the page
  }
}

function adopt(answer) {
  current = {
    access_token: answer.access_token,
    refresh_token: answer.refresh_token,
    expires_at: Date.now() + (answer.expires_in || 900) * 1000,
    user: answer.user || current?.user || null,
  };
  writeStore(current);
  for (const cb of changeListeners) cb(current.user);
  return current;
}

function fresh(data) {
  return data && data.access_token && data.expires_at - EARLY_MS > Date.now();
}

/** Another tab signed in, refreshed or signed out. */
window.addEventListener("storage", (event) => {
  if (event.key !== STORE_KEY || !current) return;
  const stored = readStore();
  if (!stored) endSession("signed_out_elsewhere", false);
  else if (stored.refresh_token !== current.refresh_token) current = stored;
});

export function onSessionEnd(cb) {
  endListeners.add(cb);
}

export function onUserChange(cb) {
  changeListeners.add(cb);
}

export function currentUser() {
  return current?.user || null;
}

export function setCurrentUser(user) {
  if (!current) return;
  current.user = user;
  writeStore(current);
}

/** Forget the session here (and in the other tabs, through storage) and tell the app. */
export function endSession(reason, clearStore = true) {
  if (!current) return;
  current = null;
  if (clearStore) writeStore(null);
  for (const cb of endListeners) cb(reason);
}

async function raw(method, path, { body, token, keepalive } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(BASE + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
      keepalive,
    });
  } catch {
    throw new ApiError(0, "network", "Cannot reach the server. Check your connection.");
  }
  if (response.status === 204) return null;
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    const error = data?.error || {};
    const { code, message, ...extra } = error;
    if (response.status === 429 && !extra.retry_after) {
      extra.retry_after = Number(response.headers.get("Retry-After")) || 5;
    }
    throw new ApiError(response.status, code || "http_error", message || `HTTP ${response.status}`, extra);
  }
  return data;
}

/** Exchange the refresh token (one tab at a time). Throws when the session is over. */
function refresh() {
  if (!refreshing) {
    const run = async () => {
      const stored = readStore();
      if (!stored || !current) throw new ApiError(401, "token_revoked", "Signed out.");
      if (stored.refresh_token !== current.refresh_token && fresh(stored)) {
        current = stored; // another tab rotated the tokens already
        return current;
      }
      try {
        return adopt(await raw("POST", "/auth/refresh", { body: { refresh_token: stored.refresh_token } }));
      } catch (err) {
        if (err.status === 401) endSession(err.code === "token_revoked" ? "revoked" : "expired");
        throw err;
      }
    };
    const locked = navigator.locks ? navigator.locks.request(LOCK_NAME, run) : run();
    refreshing = locked.finally(() => {
      refreshing = null;
    });
  }
  return refreshing;
}

/** A valid access token, refreshed first if it is about to expire. */
export async function accessToken() {
  if (!current) throw new ApiError(401, "missing_token", "Not signed in.");
  if (fresh(current)) return current.access_token;
  const stored = readStore();
  if (fresh(stored) && stored.refresh_token !== current.refresh_token) {
    current = stored;
    return current.access_token;
  }
  return (await refresh()).access_token;
}

/** Forget that the access token is fresh (the server said it expired): the next call refreshes. */
export function expireAccessToken() {
  if (current) current.expires_at = 0;
}

/** An authenticated API call: refreshes an expired token once, ends a revoked session. */
export async function api(method, path, body) {
  let token = await accessToken();
  for (let attempt = 0; ; attempt++) {
    try {
      return await raw(method, path, { body, token });
    } catch (err) {
      if (err.status !== 401) throw err;
      if (err.code === "invalid_token" && attempt === 0) {
        expireAccessToken(); // force a refresh
        token = (await refresh()).access_token;
        continue;
      }
      endSession(err.code === "token_revoked" ? "revoked" : "expired");
      throw err;
    }
  }
}

export async function login(username, password) {
  const answer = await raw("POST", "/auth/login", { body: { username, password } });
  return adopt(answer).user;
}

export async function register({ username, password, display_name, email, invite_code }) {
  const body = { username, password };
  if (display_name) body.display_name = display_name;
  if (email) body.email = email;
  if (invite_code) body.invite_code = invite_code;
  await raw("POST", "/auth/register", { body });
  return login(username, password);
}

/** Resume the stored session, if any: the user, or null when there is none (or it ended). */
export async function restore() {
  const stored = readStore();
  if (!stored?.refresh_token) return null;
  current = stored;
  try {
    const { user } = await api("GET", "/users/me");
    setCurrentUser(user);
    return user;
  } catch (err) {
    if (err.status === 401) return null;
    throw err;
  }
}

/** Sign out: revokes every session of the user (all devices), then forgets it here. */
export async function logout() {
  if (!current) return;
  try {
    await raw("POST", "/auth/logout", { token: await accessToken(), keepalive: true });
  } catch {
    // already revoked or unreachable: forget it here anyway
  }
  endSession("logout");
}

/**
 * Download a file that needs the bearer token (e.g. a CSV result). `path` is under the
 * API: relative to it ("/queries/1/result.csv") or absolute ("/api/v1/queries/...").
 * Anything else is refused, so the token is never sent to another origin.
 */
export async function download(path, filename) {
  const full = String(path).startsWith(BASE + "/") ? String(path) : BASE + path;
  if (!/^\/api\/v1\/[A-Za-z0-9_./-]+$/.test(full) || full.includes("..")) {
    throw new ApiError(0, "bad_url", "This download link is not one of this server's.");
  }
  const response = await fetch(full, {
    headers: { Authorization: `Bearer ${await accessToken()}` },
    cache: "no-store",
  });
  if (!response.ok) {
    let message = `HTTP ${response.status}`;
    try {
      message = (await response.json()).error.message;
    } catch {
      // not JSON
    }
    throw new ApiError(response.status, "download_failed", message);
  }
  const blob = await response.blob();
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  link.rel = "noopener";
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
