// HTTP calls to the hub. Errors arrive as RFC 9457 problem details; they are thrown as
// ApiError so screens can show the detail and mark the offending fields.

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
  }

  /** Field name (last part of the problem's dotted path) -> message. */
  fieldErrors() {
    const out = {};
    for (const item of this.problem.errors || []) {
      const parts = String(item.field || "").split(".");
      out[parts[parts.length - 1]] = item.message;
    }
    return out;
  }
}

// A person's token lives for the browser tab (sessionStorage); a device token (crew tablet,
// hospital terminal) stays on the device (localStorage).
export function authToken() {
  return sessionStorage.getItem("dispatch.token") || localStorage.getItem("dispatch.device-token");
}

export function setPersonToken(token) {
  if (token) sessionStorage.setItem("dispatch.token", token);
  else sessionStorage.removeItem("dispatch.token");
}

export function setDeviceToken(token) {
  if (token) localStorage.setItem("dispatch.device-token", token);
  else localStorage.removeItem("dispatch.device-token");
}

// Screens register what to do when the hub says the token is no longer good.
let onUnauthorized = () => {};
export function whenUnauthorized(handler) {
  onUnauthorized = handler;
}

export async function api(method, path, body, extraHeaders = {}) {
  const headers = { Accept: "application/json", ...extraHeaders };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const token = authToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    throw new ApiError(0, { title: "offline", detail: String(error) });
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { detail: text.slice(0, 200) }; // a proxy's HTML error page, say
  }
  if (response.status === 401) onUnauthorized();
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

export const get = (path) => api("GET", path);
export const post = (path, body, headers) => api("POST", path, body ?? {}, headers);
export const put = (path, body) => api("PUT", path, body);
export const patch = (path, body) => api("PATCH", path, body);

/** Escape text for HTML. */
export function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ({
    "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;",
  })[c]);
}

/** A random key for a write that may be retried (works without a secure context too). */
export function newKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
