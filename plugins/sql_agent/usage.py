"""Counting a question's language-model tokens: LangChain's ``usage_metadata``.

Every chat model call made while :func:`counting_tokens` is open (the agent's, in any
task it starts) reports its ``AIMessage.usage_metadata`` to LangChain's
``UsageMetadataCallbackHandler``, through a callback hook on a context variable
registered once here (``langchain_core``'s own ``get_usage_metadata_callback`` makes
and registers a new variable each time it is used). What arrived is kept when the
question fails or is stopped half-way, so a failed question still counts its tokens.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from langchain_core.callbacks import UsageMetadataCallbackHandler
from langchain_core.tracers.context import register_configure_hook

__all__ = ["TokenUsage", "counting_tokens"]

_handler: ContextVar[UsageMetadataCallbackHandler | None] = ContextVar("venn_sql_token_usage", default=None)
register_configure_hook(_handler, inheritable=True)


@dataclass(frozen=True)
class TokenUsage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0

    @classmethod
    def of(cls, handler: UsageMetadataCallbackHandler) -> TokenUsage:
        """The sum over every model the handler saw."""
        usage = list(handler.usage_metadata.values())
        return cls(
            prompt_tokens=sum(int(u.get("input_tokens") or 0) for u in usage),
            completion_tokens=sum(int(u.get("output_tokens") or 0) for u in usage),
            total_tokens=sum(int(u.get("total_tokens") or 0) for u in usage),
        )


@contextmanager
def counting_tokens() -> Iterator[UsageMetadataCallbackHandler]:
    """Count the tokens of the model calls made inside the block (see the module's doc)."""
    handler = UsageMetadataCallbackHandler()
    token = _handler.set(handler)
    try:
        yield handler
    finally:
        _handler.reset(token)
