"""Key-value storage for plugins, kept in the database (table ``bot_kv``).

Each plugin has its own namespace, split by scope: a thread, a channel, or the
plugin as a whole. Values are anything JSON can hold. (Each is stored wrapped as
``{"v": value}``: Tortoise reads a bare string in a JSON column as JSON text.)
"""

from __future__ import annotations

import json
from typing import Any

from tortoise.exceptions import IntegrityError

from venn_bots.models import BotKV, StoreScope

MAX_KEY_LENGTH = 200
MAX_VALUE_BYTES = 256 * 1024


def _unwrap(stored: Any) -> Any:
    return stored.get("v") if isinstance(stored, dict) else stored


class KVStore:
    """``await store.get(key)``, ``set``, ``delete``, ``keys``; one (plugin, scope, id) namespace."""

    __slots__ = ("plugin", "scope", "scope_id")

    def __init__(self, plugin: str, scope: str | StoreScope, scope_id: int) -> None:
        self.plugin = plugin
        self.scope = StoreScope(scope)
        self.scope_id = scope_id

    def __repr__(self) -> str:
        return f"KVStore({self.plugin!r}, {self.scope.value!r}, {self.scope_id})"

    def _filter(self, **more: Any):
        return BotKV.filter(plugin=self.plugin, scope=self.scope, scope_id=self.scope_id, **more)

    @staticmethod
    def _check(key: str, value: Any = None, *, with_value: bool = False) -> None:
        if not isinstance(key, str) or not key or len(key) > MAX_KEY_LENGTH:
            raise ValueError(f"storage keys are non-empty strings of at most {MAX_KEY_LENGTH} characters")
        if with_value:
            try:
                size = len(json.dumps(value))
            except (TypeError, ValueError) as exc:
                raise ValueError(f"storage values must be JSON-serialisable: {exc}") from None
            if size > MAX_VALUE_BYTES:
                raise ValueError(f"storage values are at most {MAX_VALUE_BYTES} bytes of JSON")

    async def get(self, key: str, default: Any = None) -> Any:
        self._check(key)
        row = await self._filter(key=key).first()
        return default if row is None else _unwrap(row.value)

    async def set(self, key: str, value: Any) -> None:
        self._check(key, value, with_value=True)
        value = {"v": value}
        if await self._filter(key=key).update(value=value):
            return
        try:
            await BotKV.create(plugin=self.plugin, scope=self.scope, scope_id=self.scope_id, key=key, value=value)
        except IntegrityError:  # created concurrently: overwrite it
            await self._filter(key=key).update(value=value)

    async def delete(self, key: str) -> bool:
        self._check(key)
        return bool(await self._filter(key=key).delete())

    async def keys(self, prefix: str = "") -> list[str]:
        query = self._filter(key__startswith=prefix) if prefix else self._filter()
        return sorted(await query.values_list("key", flat=True))

    async def items(self, prefix: str = "") -> dict[str, Any]:
        query = self._filter(key__startswith=prefix) if prefix else self._filter()
        return {row.key: _unwrap(row.value) for row in await query.order_by("key")}

    async def clear(self) -> int:
        return await self._filter().delete()
