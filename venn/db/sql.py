"""Hand-written SQL for the few queries the ORM cannot express well."""

from __future__ import annotations

from typing import Any


class SQLParams:
    """Collects bound values and yields the right placeholder for the backend."""

    def __init__(self, connection: Any) -> None:
        self.sqlite = connection.capabilities.dialect == "sqlite"
        self.values: list[Any] = []
        self.false = "0" if self.sqlite else "false"

    def add(self, value: Any) -> str:
        self.values.append(value)
        return "?" if self.sqlite else f"${len(self.values)}"
