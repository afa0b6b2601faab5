"""REST handlers for channel moderation (owners and admins; see venn/services/moderation.py)."""

from __future__ import annotations

from venn.api.routing import ApiRouter, Call
from venn.schemas import ChannelUpdateIn

moderation_api = ApiRouter(prefix="/api/v1")
CHANNEL = "/channels/{channel_id:\\d+}"


async def _view(call: Call, channel):
    return {"channel": await call.services.channels.view(call.user, channel)}


@moderation_api.patch(CHANNEL, body=ChannelUpdateIn, response="ChannelEnvelope", errors=(403, 404, 409),
                      tag="channels")
async def update_channel(call: Call):
    """Rename a channel or set its topic (its owners and admins)."""
    channel = await call.services.moderation.update(call.user, call.path_id("channel_id"), call.body)
    return await _view(call, channel)


@moderation_api.delete(CHANNEL + "/members/{user_id:\\d+}", status=204, errors=(403, 404), tag="channels")
async def remove_member(call: Call):
    """Remove a member (owners and admins): their sockets leave the channel at once."""
    await call.services.moderation.remove_member(call.user, call.path_id("channel_id"), call.path_id("user_id"))
    return None


@moderation_api.post(CHANNEL + "/archive", response="ChannelEnvelope", errors=(403, 404), tag="channels")
async def archive_channel(call: Call):
    """Archive a channel (owners and admins): it stays listed, read-only."""
    return await _view(call, await call.services.moderation.set_archived(call.user, call.path_id("channel_id"), True))


@moderation_api.post(CHANNEL + "/unarchive", response="ChannelEnvelope", errors=(403, 404), tag="channels")
async def unarchive_channel(call: Call):
    """Unarchive a channel (owners and admins)."""
    return await _view(call, await call.services.moderation.set_archived(call.user, call.path_id("channel_id"), False))
