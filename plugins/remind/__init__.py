"""remind: ``/remind in 10s stand up`` posts ``@user stand up`` in the thread then.

Also ``in 5 minutes``, ``in 2h``, ``at 09:00``, ``tomorrow at 9``; ``/remind list``
and ``/remind cancel ID``. Reminders are one-off scheduled runs: stored, so they
survive a restart.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from pydantic import Field, field_validator

from venn_bots import Context, Plugin, PluginConfig, command
from venn_bots.zones import check_zone, zone

UNITS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600, "d": 86400,
         "day": 86400}
_IN = re.compile(r"^in\s+(\d{1,6})\s*([a-z]+?)s?\s+(.+)$", re.I | re.S)
_AT = re.compile(r"^(tomorrow\s+)?at\s+(\d{1,2})(?::(\d{2}))?\s+(.+)$", re.I | re.S)
USAGE = (
    "Usage: /remind in 10s|5 minutes|2h TEXT, /remind at 09:00 TEXT, /remind tomorrow at 9 TEXT,"
    " /remind list, /remind cancel ID"
)


class RemindConfig(PluginConfig):
    timezone: str | None = Field(None, max_length=64, description="IANA time zone for 'at' times.")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        return check_zone(value) if value else value


def parse(text: str, now: datetime) -> tuple[datetime, str] | None:
    """When and what from ``in 10s TEXT`` / ``at 9:00 TEXT`` / ``tomorrow at 9 TEXT``."""
    m = _IN.match(text.strip())
    if m:
        unit = UNITS.get(m.group(2).lower())
        if unit is None:
            return None
        return now + timedelta(seconds=int(m.group(1)) * unit), m.group(3).strip()
    m = _AT.match(text.strip())
    if m:
        hour, minute = int(m.group(2)), int(m.group(3) or 0)
        if hour > 23 or minute > 59:
            return None
        when = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
        if m.group(1):
            when += timedelta(days=1)
        elif when <= now:
            when += timedelta(days=1)
        return when, m.group(4).strip()
    return None


class RemindPlugin(Plugin):
    name = "remind"
    description = "Reminders: /remind in 10m stand up."
    version = "1.0.0"
    Config = RemindConfig

    @command("remind", usage="in 10m TEXT | at 09:00 TEXT | list | cancel ID", help="Remind you later.")
    async def remind(self, ctx: Context[RemindConfig]) -> None:
        text = ctx.text.strip()
        if text == "list":
            rows = await ctx.scheduled()
            lines = [f"#{r.id} at {datetime.fromtimestamp(r.due_ms / 1000, zone(r.timezone)):%Y-%m-%d %H:%M:%S} "
                     f"{(r.data or {}).get('text', '')}" for r in rows]
            await ctx.reply("\n".join(lines) or "No reminders here.")
            return
        if text.startswith("cancel"):
            ident = text[6:].strip().lstrip("#")
            ok = ident.isdigit() and await ctx.cancel_scheduled(int(ident))
            await ctx.reply(f"Reminder #{ident} cancelled." if ok else f"No reminder #{ident}.")
            return
        tz = zone(ctx.config.timezone, self.runtime_zone)
        parsed = parse(text, datetime.now(tz))
        if parsed is None or ctx.user is None:
            await ctx.reply(USAGE)
            return
        when, what = parsed
        sid = await ctx.schedule_once(when, {"user": ctx.user.username, "text": what}, handler="fire")
        await ctx.reply(f"Reminder #{sid} set for {when:%Y-%m-%d %H:%M:%S %Z}.")

    runtime_zone = "UTC"

    async def setup(self, runtime: Any) -> None:
        self.runtime_zone = runtime.settings.timezone

    async def fire(self, ctx: Context[RemindConfig]) -> None:
        await ctx.reply(f"@{ctx.data['user']} {ctx.data['text']}")


plugin = RemindPlugin
