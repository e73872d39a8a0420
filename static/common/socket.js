// A WebSocket to the hub that reconnects by itself and resumes from the last event it saw.
//
// Frames from the hub: hello, event, resync, heartbeat, pong, result, error, closing.
// On reconnect it sends `since=<last event id>`: the hub replays what was missed, or answers
// `resync` when it no longer holds that id, and then the screen reloads its state over HTTP.

import { authToken } from "./api.js";

export class HubSocket {
  constructor(path, { onEvent, onStatus, onResync, onHello, onDenied } = {}) {
    this.onDenied = onDenied || (() => {});
    this.path = path;
    this.onEvent = onEvent || (() => {});
    this.onStatus = onStatus || (() => {});
    this.onResync = onResync || (() => {});
    this.onHello = onHello || (() => {});
    this.lastEventId = null;
    this.serverOffsetMs = 0;
    this.pending = new Map();
    this.refs = 0;
    this.backoff = 500;
    this.heldUntil = 0;
    this.ws = null;
    this.online = false;
    this.pinger = null;
    this.watchdog = null;
    this.retry = null;
    this.lastHeard = 0;
    this.stopped = false;
    // Back on the network: try at once instead of waiting out the backoff.
    window.addEventListener("online", () => {
      if (this.ws || this.retry === null) return;
      clearTimeout(this.retry);
      this.backoff = 500;
      this.connect();
    });
  }

  url() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const params = new URLSearchParams();
    if (this.lastEventId) params.set("since", this.lastEventId);
    const query = params.toString();
    return `${scheme}://${location.host}${this.path}${query ? "?" + query : ""}`;
  }

  connect() {
    this.retry = null;
    if (this.stopped) return;
    if (Date.now() < this.heldUntil) {
      this.retry = setTimeout(() => this.connect(), this.heldUntil - Date.now());
      return;
    }
    // Browsers cannot set headers on a WebSocket: the token travels as a subprotocol.
    const token = authToken();
    const ws = new WebSocket(this.url(), token ? ["dispatch.v1", `bearer.${token}`] : []);
    this.ws = ws;
    this.lastHeard = Date.now();
    ws.onmessage = (message) => {
      if (this.ws === ws) this.receive(JSON.parse(message.data));
    };
    ws.onclose = (closed) => this.closed(ws, closed.code, closed.reason);
    setTimeout(() => {
      if (this.ws === ws && !this.online) {
        this.closed(ws, 4000, "no hello from the hub");
        ws.close();
      }
    }, 10000);
  }

  /** The connection ended (or went silent): say so and try again with backoff. */
  closed(ws, code, reason) {
    if (this.ws !== ws) return;
    this.ws = null;
    this.setOnline(false);
    if (code === 4401 || code === 4403) {
      this.stop(); // the token is not good: trying again cannot help
      this.onDenied(code, reason);
    }
    clearInterval(this.pinger);
    clearInterval(this.watchdog);
    for (const { reject } of this.pending.values()) reject(new Error("connection lost"));
    this.pending.clear();
    if (this.stopped) return;
    const delay = Math.min(this.backoff, 5000) * (0.8 + Math.random() * 0.4);
    this.backoff = Math.min(this.backoff * 2, 5000);
    this.retry = setTimeout(() => this.connect(), Math.max(delay, this.heldUntil - Date.now()));
  }

  /** A network that drops silently never closes the socket: the hub's heartbeats stopping does. */
  watch(heartbeatMs) {
    const limit = Math.max(2 * heartbeatMs, heartbeatMs + 2000);
    clearInterval(this.watchdog);
    this.watchdog = setInterval(() => {
      const ws = this.ws;
      if (!ws || Date.now() - this.lastHeard <= limit) return;
      this.closed(ws, 4000, "nothing heard from the hub");
      ws.close();
    }, Math.min(1000, heartbeatMs / 2));
  }

  setOnline(online) {
    if (this.online !== online) {
      this.online = online;
      this.onStatus(online);
    }
  }

  receive(frame) {
    this.lastHeard = Date.now();
    switch (frame.kind) {
      case "hello":
        this.backoff = 500;
        this.serverOffsetMs = Date.parse(frame.server_time) - Date.now();
        this.setOnline(true);
        if (!this.lastEventId) this.lastEventId = frame.last_event_id;
        clearInterval(this.pinger);
        this.pinger = setInterval(() => this.raw({ action: "ping" }),
          Math.max(500, (frame.heartbeat_seconds * 1000) / 2));
        this.watch(frame.heartbeat_seconds * 1000);
        this.onHello(frame);
        break;
      case "event":
        this.lastEventId = frame.id;
        this.onEvent(frame);
        break;
      case "resync":
        this.lastEventId = frame.last_event_id;
        this.onResync(frame.reason);
        break;
      case "result":
      case "error": {
        const waiter = this.pending.get(frame.ref);
        if (waiter) {
          this.pending.delete(frame.ref);
          if (frame.kind === "result") waiter.resolve(frame.data);
          else waiter.reject(Object.assign(new Error(frame.problem.detail), { problem: frame.problem }));
        }
        break;
      }
      default:
        break;
    }
  }

  raw(message) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(message));
      return true;
    }
    return false;
  }

  /** Send an action; resolves with the hub's result or rejects with its problem. */
  request(action, fields) {
    const ref = `r${++this.refs}`;
    return new Promise((resolve, reject) => {
      if (!this.raw({ action, ref, ...fields })) {
        reject(new Error("offline"));
        return;
      }
      this.pending.set(ref, { resolve, reject });
      setTimeout(() => {
        if (this.pending.delete(ref)) reject(new Error("no answer from the hub"));
      }, 10000);
    });
  }

  /** Server time now, in ms (ring timers run on the hub's clock). */
  now() {
    return Date.now() + this.serverOffsetMs;
  }

  /** Close for good (signed out, token revoked): no more reconnecting. */
  stop() {
    this.stopped = true;
    clearTimeout(this.retry);
    clearInterval(this.pinger);
    clearInterval(this.watchdog);
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.close();
    }
    this.setOnline(false);
  }

  /** Drop the connection and stay away for `ms` (used by drills and browser tests). */
  drop(ms = 0) {
    this.heldUntil = Date.now() + ms;
    if (this.ws) this.ws.close();
  }
}
