"""REST API v1 handlers: thin callers of the service layer."""

from __future__ import annotations

from venn.api.routing import ApiRouter, Call
from venn.schemas import (
    AddMemberIn,
    ChannelCreateIn,
    DmCreateIn,
    LoginIn,
    MarkReadIn,
    MessageActionIn,
    MessageCreateIn,
    MessageEditIn,
    PageQuery,
    ReactionIn,
    RefreshIn,
    RegisterIn,
    SearchQueryIn,
    ThreadCreateIn,
    UpdateMeIn,
    UserSearchQuery,
)
from venn.services.views import user_view

api = ApiRouter(prefix="/api/v1")
ID = r"{%s:\d+}"


# Auth ---------------------------------------------------------------------


@api.post(
    "/auth/register",
    auth=False,
    body=RegisterIn,
    status=201,
    response="UserEnvelope",
    errors=(403, 409, 429),
    tag="auth",
)
async def register(call: Call):
    """Create an account."""
    user = await call.services.users.register(call.body, client_ip=call.client_ip)
    return {"user": user_view(user, viewer=user)}


@api.post("/auth/login", auth=False, body=LoginIn, response="Session", errors=(401, 429), tag="auth")
async def login(call: Call):
    """Log in with username and password; returns access and refresh tokens."""
    user_agent = call.request.headers.get("User-Agent")
    return await call.services.users.login(call.body, client_ip=call.client_ip, user_agent=user_agent)


@api.post("/auth/refresh", auth=False, body=RefreshIn, response="Session", errors=(401,), tag="auth")
async def refresh(call: Call):
    """Exchange a refresh token for new tokens (the old refresh token stops working)."""
    return await call.services.users.refresh(call.body.refresh_token)


@api.post("/auth/logout", status=204, tag="auth")
async def logout(call: Call):
    """Log out everywhere: revokes every token of the caller."""
    await call.services.users.revoke_all(call.user)
    return None


# Users --------------------------------------------------------------------


@api.get("/users/me", response="UserEnvelope", tag="users")
async def get_me(call: Call):
    """The caller's own account."""
    return {"user": await _user_with_status(call, call.user)}


@api.patch("/users/me", body=UpdateMeIn, response="UserEnvelope", errors=(429,), tag="users")
async def update_me(call: Call):
    """Change display name, email or password (the password needs current_password; a
    new one ends every other session and every personal access token)."""
    user = await call.services.users.update_me(call.user, call.body, session_id=call.session_id)
    return {"user": await _user_with_status(call, user)}


@api.get("/users", query=UserSearchQuery, response="UserSearch", tag="users")
async def search_users(call: Call):
    """People whose username or display name starts with ``q`` (for pickers and @-completion)."""
    query = call.query(UserSearchQuery)
    users = await call.services.users.search(query.q, query.limit)
    return {"users": [user_view(u, viewer=call.user) for u in users]}


@api.get("/users/" + ID % "user_id", response="UserEnvelope", errors=(404,), tag="users")
async def get_user(call: Call):
    """A user, with presence status."""
    user = await call.services.users.get(call.path_id("user_id"))
    return {"user": await _user_with_status(call, user)}


async def _user_with_status(call: Call, user):
    status = (await call.services.presence.statuses([user.id]))[user.id]
    return user_view(user, viewer=call.user, status=status)


# Channels -----------------------------------------------------------------


@api.post("/channels", body=ChannelCreateIn, status=201, response="ChannelEnvelope", errors=(409,), tag="channels")
async def create_channel(call: Call):
    """Create a channel; the creator is its owner and first member."""
    return {"channel": await call.services.channels.create(call.user, call.body)}


@api.get("/channels", response="ChannelList", tag="channels")
async def list_channels(call: Call):
    """The caller's channels with unread counts; ``?all=1`` adds public channels to browse."""
    include_public = call.request.query.get("all", "").lower() in {"1", "true", "yes"}
    return {"channels": await call.services.channels.list_for(call.user, include_public=include_public)}


@api.get("/channels/" + ID % "channel_id", response="ChannelEnvelope", errors=(404,), tag="channels")
async def get_channel(call: Call):
    """One channel."""
    channels = call.services.channels
    channel = await channels.get_visible(call.user, call.path_id("channel_id"))
    return {"channel": await channels.view(call.user, channel)}


@api.post("/channels/" + ID % "channel_id" + "/join", response="ChannelEnvelope", errors=(403, 404), tag="channels")
async def join_channel(call: Call):
    """Join a public channel."""
    return {"channel": await call.services.channels.join(call.user, call.path_id("channel_id"))}


@api.post("/channels/" + ID % "channel_id" + "/leave", status=204, errors=(403, 404), tag="channels")
async def leave_channel(call: Call):
    """Leave a channel."""
    await call.services.channels.leave(call.user, call.path_id("channel_id"))
    return None


@api.get("/channels/" + ID % "channel_id" + "/members", response="UserList", errors=(404,), tag="channels")
async def list_members(call: Call):
    """The channel's members, with presence status."""
    return {"members": await call.services.channels.members(call.user, call.path_id("channel_id"))}


@api.post("/channels/" + ID % "channel_id" + "/members", body=AddMemberIn, status=201, response="UserEnvelope",
          errors=(403, 404), tag="channels")
async def add_member(call: Call):
    """Add someone to a channel (owners and admins, for private channels)."""
    user = await call.services.channels.add_member(call.user, call.path_id("channel_id"), call.body.user_id)
    return {"user": user}


@api.post("/channels/" + ID % "channel_id" + "/read", body=MarkReadIn, response="ReadMarker", errors=(403, 404),
          tag="channels")
async def mark_read(call: Call):
    """Move the caller's read marker in a channel forward."""
    return await call.services.channels.mark_read(call.user, call.path_id("channel_id"), call.body.message_id)


# Direct messages ----------------------------------------------------------


@api.post("/dms", body=DmCreateIn, status=201, response="ChannelEnvelope", tag="channels",
          extra_statuses={200: "These people already have a conversation: that one"})
async def open_dm(call: Call):
    """Start a direct conversation with 1 to 8 other people (or get the one they already have)."""
    channel, created = await call.services.dms.open(call.user, call.body.user_ids)
    return (201 if created else 200), {"channel": channel}


# Messages -----------------------------------------------------------------


@api.post("/messages", body=MessageCreateIn, status=201, response="MessageEnvelope", errors=(403, 404, 409, 429),
          tag="messages", extra_statuses={200: "An earlier message with the same client_msg_id"})
async def post_message(call: Call):
    """Post a message; a retry with the same client_msg_id returns the first message (200)."""
    result = await call.services.messages.post(call.user, call.body)
    return (201 if result.created else 200), {"message": result.message}


@api.get("/messages/" + ID % "message_id", response="MessageEnvelope", errors=(404,), tag="messages")
async def get_message(call: Call):
    """One message."""
    return {"message": await call.services.messages.get(call.user, call.path_id("message_id"))}


@api.patch("/messages/" + ID % "message_id", body=MessageEditIn, response="MessageEnvelope", errors=(403, 404, 409),
           tag="messages")
async def edit_message(call: Call):
    """Edit a message (its author or an admin)."""
    return {"message": await call.services.messages.edit(call.user, call.path_id("message_id"), call.body.body)}


@api.delete("/messages/" + ID % "message_id", response="MessageEnvelope", errors=(403, 404, 409), tag="messages")
async def delete_message(call: Call):
    """Delete a message (soft: the body is cleared and ``deleted`` is true)."""
    return {"message": await call.services.messages.delete(call.user, call.path_id("message_id"))}


# Reactions and pins ---------------------------------------------------------


@api.post("/messages/" + ID % "message_id" + "/reactions", body=ReactionIn, response="MessageEnvelope",
          errors=(403, 404, 409, 429), tag="messages")
async def add_reaction(call: Call):
    """Add the caller's reaction (one emoji or a short name such as +1; adding it again changes nothing)."""
    return {"message": await call.services.reactions.add(call.user, call.path_id("message_id"), call.body.emoji)}


@api.post("/messages/" + ID % "message_id" + "/actions", body=MessageActionIn, status=202, response="ActionAccepted",
          errors=(403, 404, 409, 422, 429, 503), tag="messages")
async def message_action(call: Call):
    """Click a bot message's button or select: the plugin's action handler runs as a job
    (404: no such message here; 422: the message has no such action; 403: the channel is
    archived; 409: its plugin is no longer enabled here; 503: the bots are too busy)."""
    body: MessageActionIn = call.body
    return await call.services.actions.click(call.user, call.path_id("message_id"), body.action_id, body.value)


@api.delete("/messages/" + ID % "message_id" + "/reactions/{emoji}", response="MessageEnvelope",
            errors=(403, 404, 409, 422, 429), tag="messages")
async def remove_reaction(call: Call):
    """Remove the caller's reaction (removing one that is not there changes nothing)."""
    emoji = call.request.match_info["emoji"]
    return {"message": await call.services.reactions.remove(call.user, call.path_id("message_id"), emoji)}


@api.post("/messages/" + ID % "message_id" + "/pin", response="MessageEnvelope", errors=(403, 404, 409),
          tag="messages")
async def pin_message(call: Call):
    """Pin a message to its channel (pinning it again changes nothing)."""
    return {"message": await call.services.pins.pin(call.user, call.path_id("message_id"))}


@api.delete("/messages/" + ID % "message_id" + "/pin", response="MessageEnvelope", errors=(403, 404, 409),
            tag="messages")
async def unpin_message(call: Call):
    """Unpin a message."""
    return {"message": await call.services.pins.unpin(call.user, call.path_id("message_id"))}


@api.get("/channels/" + ID % "channel_id" + "/pins", response="PinList", errors=(404,), tag="channels")
async def list_pins(call: Call):
    """The channel's pinned messages, the latest pinned first."""
    return {"pins": await call.services.pins.in_channel(call.user, call.path_id("channel_id"))}


@api.get("/messages/channel/" + ID % "channel_id", query=PageQuery, response="MessagePage", errors=(404,),
         tag="messages")
async def channel_history(call: Call):
    """A page of a channel's messages, oldest first (keyset pagination on id)."""
    page = call.query(PageQuery)
    return await call.services.messages.channel_history(call.user, call.path_id("channel_id"), page)


# Threads ------------------------------------------------------------------


@api.post("/threads", body=ThreadCreateIn, status=201, response="ThreadEnvelope", errors=(403, 404),
          tag="threads", extra_statuses={200: "The thread of that message already existed"})
async def create_thread(call: Call):
    """Open the thread of a message (returns the existing one with 200)."""
    thread, created = await call.services.threads.create(call.user, call.body)
    return (201 if created else 200), {"thread": thread}


@api.get("/threads/" + ID % "thread_id", response="ThreadEnvelope", errors=(404,), tag="threads")
async def get_thread(call: Call):
    """One thread."""
    return {"thread": await call.services.threads.get(call.user, call.path_id("thread_id"))}


@api.get("/threads/" + ID % "thread_id" + "/messages", query=PageQuery, response="MessagePage", errors=(404,),
         tag="threads")
async def thread_history(call: Call):
    """A page of a thread's replies, oldest first."""
    page = call.query(PageQuery)
    return await call.services.messages.thread_history(call.user, call.path_id("thread_id"), page)


# Search -------------------------------------------------------------------


@api.get("/search", query=SearchQueryIn, response="SearchPage", errors=(404,), tag="search")
async def search(call: Call):
    """Search the messages of the caller's channels: best matches first, then newest."""
    return await call.services.search.search(call.user, call.query(SearchQueryIn))
