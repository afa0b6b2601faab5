"""Service events → Socket.IO emits.

The service layer publishes each change once, in the process that made it, after
commit; this subscriber turns it into one emit, which the client manager delivers
to the sockets of every process. Rooms: ``user:<id>`` (each socket of a user),
``channel:<id>`` and ``thread:<id>`` (sockets that joined them).

- ``new_message``, ``message_updated``, ``message_deleted``, ``reaction_added``,
  ``reaction_removed``, ``message_pinned``, ``message_unpinned``: the channel's room,
  plus the thread's room for a thread reply (one emit to both rooms, so a socket
  in both gets it once).
- ``thread_created``: the channel's room.
- ``member_joined``, ``member_left``, ``member_removed``: the channel's room and the
  member's own room; a member who left or was removed is first taken out of the
  channel's rooms (and its checked posts) in every process, so that their next post
  there is refused once they hear of it.
- ``channel_updated`` (renamed, new topic, archived): the channel's room (below);
  first, every process drops the channel from its sockets' checked posts
  (``may_post``), so that the next post there is checked against the database.
- ``profile_changed``: not sent to clients; every process drops the user's checked
  posts (the sender, with their display name, is loaded again).
- ``dm_created``: each member's own room (one event per member: each sees the
  others as the conversation's members); first, in every process, the member's
  sockets are put in the new channel's room, so that its messages reach them
  without a ``join_channel``.
- ``mention``: only the own rooms of the users it names (the mentioned users).
- ``session_revoked``: the user's checked posts are dropped in every process, then
  the user's own room hears it, then every socket of the user is disconnected.
- ``pat_revoked``: not sent to clients; every process disconnects the sockets signed
  in with the revoked personal access tokens.
- ``sessions_ended``: every process tells the sockets of those sign-ins
  ``session_revoked`` and disconnects them (the user's other sockets stay).
- any other name (e.g. ``llm_response`` and ``bot_status`` from bots): the thread's
  room if the event has a thread, else the channel's room, plus the rooms of the
  users it names.
"""

from __future__ import annotations

import logging

from venn.events import Event
from venn.realtime.server import CONTROL_EVENT, Realtime, channel_room, spawn, thread_room, user_room
from venn.realtime.typing_status import Typist

log = logging.getLogger("venn.realtime.fanout")

MESSAGE_EVENTS = {
    "new_message", "message_updated", "message_deleted", "reaction_added", "reaction_removed", "message_pinned",
    "message_unpinned",
}
MEMBER_EVENTS = {"member_joined", "member_left", "member_removed"}
#: names never emitted to clients: the processes' control messages, and the names
#: Socket.IO clients reserve for themselves
NOT_FORWARDED = {CONTROL_EVENT, "connect", "connect_error", "disconnect", "disconnecting", "newListener",
                 "removeListener"}


class Fanout:
    def __init__(self, rt: Realtime) -> None:
        self.rt = rt

    async def __call__(self, event: Event) -> None:
        name = event.name
        if name in NOT_FORWARDED:
            log.warning("event name reserved; not forwarded to clients", extra={"event": name})
            return
        users = [user_room(uid) for uid in event.user_ids]
        if name in MESSAGE_EVENTS:
            rooms = [channel_room(event.channel_id)] if event.channel_id else []
            if event.thread_id:
                rooms.insert(0, thread_room(event.thread_id))
            await self.rt.emit(name, event.data, rooms + users)
            if name == "new_message":
                # not awaited: the post that published this holds its channel's lock
                spawn(self._stop_typing(event))
        elif name == "thread_created":
            await self.rt.emit(name, event.data, [channel_room(event.channel_id)] if event.channel_id else [])
        elif name in MEMBER_EVENTS:
            rooms = [channel_room(event.channel_id)] if event.channel_id else []
            if name in {"member_left", "member_removed"} and event.channel_id:
                # first, on the same bus: once the member hears of it, every process has
                # taken their sockets out of the rooms and refuses their next post there
                for uid in event.user_ids:
                    await self.rt.send_control({"op": "left", "user_id": uid, "channel_id": event.channel_id})
            await self.rt.emit(name, event.data, rooms + users)
        elif name == "channel_updated":
            if event.channel_id:
                await self.rt.send_control({"op": "channel_changed", "channel_id": event.channel_id})
                await self.rt.emit(name, event.data, [channel_room(event.channel_id)] + users)
        elif name == "profile_changed":
            # not for clients: posts of the user are checked (and their author loaded) again
            for uid in event.user_ids:
                await self.rt.send_control({"op": "sender_changed", "user_id": uid})
        elif name == "dm_created":
            # Sent before the event on the same bus, so every process has the sockets in
            # the room before the client hears of the conversation (or of its messages).
            for uid in event.user_ids:
                await self.rt.send_control({"op": "joined", "user_id": uid, "channel_id": event.channel_id})
            await self.rt.emit(name, event.data, users)
        elif name == "mention":
            await self.rt.emit(name, event.data, users)
        elif name == "pat_revoked":
            # not for clients: every process drops the sockets signed in with those tokens
            for uid in event.user_ids:
                ids = event.data["token_ids"]
                await self.rt.send_control({"op": "revoke_tokens", "user_id": uid, "token_ids": ids})
        elif name == "sessions_ended":
            for uid in event.user_ids:
                ids = event.data["session_ids"]
                await self.rt.send_control({"op": "end_sessions", "user_id": uid, "session_ids": ids})
        elif name == "session_revoked":
            for uid in event.user_ids:  # no post goes through unchecked from here on
                await self.rt.send_control({"op": "sender_changed", "user_id": uid})
            await self.rt.emit(name, event.data, users)
            for uid in event.user_ids:
                await self.rt.send_control({"op": "revoke", "user_id": uid})
        else:
            if event.thread_id:
                rooms = [thread_room(event.thread_id)]
            elif event.channel_id:
                rooms = [channel_room(event.channel_id)]
            else:
                rooms = []
            if not rooms and not users:
                log.debug("event with no audience dropped", extra={"event": name})
                return
            await self.rt.emit(name, event.data, rooms + users)

    async def _stop_typing(self, event: Event) -> None:
        """Whoever posts has stopped typing there: tell the others now."""
        author = event.context.get("author")
        if author is None or event.channel_id is None:
            return
        who = Typist(event.channel_id, event.thread_id, author.id, author.username)
        try:
            if await self.rt.typing.stop(who):
                await self.rt.emit_typing(who, False)
        except Exception:
            log.warning("typing indicator not cleared", extra={"channel_id": event.channel_id}, exc_info=True)
