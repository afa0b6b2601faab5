// A click on a bot message's button or select (docs/api.md, "Interactive messages"):
// through the socket when it is up, else REST. The answer only says that the plugin got
// it; what the plugin makes of it arrives later, as the message's `message_updated`.

import { api } from "./api.js";
import { conn } from "./conn.js";

/** Send the click on `message`'s action `actionId` with `value`; resolves to `{accepted, job_id}`. */
export async function sendAction(message, actionId, value) {
  const click = { action_id: actionId, value };
  return conn.socket?.connected
    ? conn.socket.call("message_action", { message_id: message.id, ...click })
    : api("POST", `/messages/${message.id}/actions`, click);
}
