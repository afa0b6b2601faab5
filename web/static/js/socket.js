// The Socket.IO connection (docs/realtime.md): auth with a current access token on
// every (re)connection, a connection state for the UI, and acked calls that never
// queue while offline (the caller decides what to retry).

import { io } from "/static/vendor/socket.io.esm.min.js";
import { accessToken, expireAccessToken, endSession } from "./api.js";

export class SocketError extends Error {
  constructor(code, message, extra = {}) {
    super(message);
    this.code = code;
    this.extra = extra;
  }
}

/**
 * Open the socket. `handlers` maps server event names to functions; `onState(state)`
 * gets "connecting", "online" or "reconnecting"; `onConnect()` runs on every connect
 * (the first and each reconnect) and should join rooms, then `sync`; `onDisconnect()`
 * runs when a connection drops (take the `sync` cursors then).
 */
export function openSocket({ handlers, onState, onConnect, onDisconnect = () => {} }) {
  let retryTimer = null;
  const socket = io({
    path: "/socket.io/",
    transports: ["websocket", "polling"],
    reconnectionDelay: 500,
    reconnectionDelayMax: 3000,
    // a function: every (re)connection asks for a token that is valid now
    auth: (send) => {
      accessToken().then(
        (token) => send({ token }),
        () => send({}),
      );
    },
  });

  const retryLater = (ms) => {
    clearTimeout(retryTimer);
    retryTimer = setTimeout(() => {
      if (!socket.connected) socket.connect();
    }, ms);
  };

  socket.on("connect", () => {
    onState("online");
    Promise.resolve(onConnect()).catch((err) => console.warn("venn: after connect:", err));
  });
  socket.on("disconnect", (reason) => {
    // "io server disconnect": the server closed it (e.g. logout); Socket.IO does not
    // reconnect by itself then. session_revoked has usually ended the session already.
    try {
      onDisconnect();
    } catch (err) {
      console.warn("venn: on disconnect:", err);
    }
    onState("reconnecting");
    if (reason === "io server disconnect") retryLater(1000);
  });
  socket.io.on("reconnect_attempt", () => onState("reconnecting"));
  socket.on("connect_error", (err) => {
    const code = err?.data?.code;
    if (!code) return; // a transport error: the manager retries with back-off
    // Refused by the server: Socket.IO does not retry this by itself.
    if (code === "invalid_token") {
      expireAccessToken();
      retryLater(300);
    } else if (code === "token_revoked" || code === "missing_token") {
      endSession(code === "token_revoked" ? "revoked" : "expired");
    } else if (code === "origin_not_allowed") {
      // A setting of the server (or its proxy) refuses this page: retrying cannot help,
      // so say what the server said and stop.
      onState("refused", err.message);
      return;
    } else {
      retryLater(2000);
    }
    onState("reconnecting");
  });
  socket.on("session_revoked", () => endSession("revoked"));
  for (const [event, handler] of Object.entries(handlers)) {
    socket.on(event, (data) => {
      try {
        handler(data);
      } catch (err) {
        console.error(`venn: ${event} handler failed`, err);
      }
    });
  }

  return {
    get connected() {
      return socket.connected;
    },
    /** An acked call: the answer's fields (ok stripped), or a SocketError. */
    async call(event, data, timeoutMs = 10_000) {
      if (!socket.connected) throw new SocketError("not_connected", "Not connected.");
      let answer;
      try {
        answer = await socket.timeout(timeoutMs).emitWithAck(event, data);
      } catch {
        throw new SocketError("timeout", "The server did not answer in time.");
      }
      if (!answer || answer.ok !== true) {
        const error = answer?.error || {};
        const { code, message, ...extra } = error;
        throw new SocketError(code || "error", message || "The server refused.", extra);
      }
      return answer;
    },
    /** Fire and forget (typing). */
    send(event, data) {
      if (socket.connected) socket.emit(event, data);
    },
    close() {
      clearTimeout(retryTimer);
      socket.io.reconnection(false);
      socket.disconnect();
    },
  };
}
