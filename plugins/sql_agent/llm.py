"""The language model of the SQL agent: ``ChatOpenAI`` from langchain-openai.

Settings (see ``.env.example``):

* ``OPENAI_API_KEY`` - the key for OpenAI, or for a compatible server that wants one;
* ``OPENAI_BASE_URL`` - any OpenAI-compatible chat-completions server instead of
  OpenAI: vLLM (``http://host:8000/v1``), Ollama (``http://host:11434/v1``), the
  llama.cpp server (``http://host:8080/v1``), LiteLLM, ...;
* ``VENN_LLM_MODEL`` - the model name the server knows (default ``gpt-4o-mini``);
* ``VENN_LLM_TIMEOUT`` - seconds one request may take (default 60; raise it for slow
  local models).

With neither a key nor a base URL there is no LLM: :func:`build_llm` returns None and
``/ask`` says how to configure one (``/sql`` works without an LLM).

The model runs at temperature 0, each request has a timeout and at most one retry, so
an unreachable server turns into a clear error at once and a stuck one within about two
minutes, never a hung question. The API key is kept as a ``SecretStr`` from ``venn.config``
through to the HTTP client and never goes into a log line or an error message.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from venn_plugins.sql_agent.settings import SQLSettings as Settings

#: seconds one request to the LLM server may take (generating the answer included),
#: unless ``VENN_LLM_TIMEOUT`` says otherwise
DEFAULT_TIMEOUT_SECONDS = 60.0
#: seconds to open a connection to the LLM server (a host that drops packets fails fast)
CONNECT_TIMEOUT_SECONDS = 10.0
#: retries of a failed request (connection errors, 408/409/429/5xx), with a short back-off
DEFAULT_MAX_RETRIES = 1
#: the key sent to an OpenAI-compatible server configured without one (Ollama, llama.cpp
#: and vLLM accept any; the OpenAI client library refuses to start without a key)
PLACEHOLDER_API_KEY = "not-needed"

HOW_TO_CONFIGURE = (
    "No language model is configured. Set OPENAI_API_KEY (and optionally VENN_LLM_MODEL) to use OpenAI, "
    "or OPENAI_BASE_URL to use an OpenAI-compatible server such as vLLM, Ollama or the llama.cpp server "
    "(for example OPENAI_BASE_URL=http://localhost:11434/v1 VENN_LLM_MODEL=llama3.1), then restart Venn. "
    "Meanwhile /sql runs your own SELECT through the same guard."
)


def llm_configured(settings: Settings) -> bool:
    """Whether settings name an LLM (an API key or a base URL)."""
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key is not None else ""
    return bool(key.strip() or (settings.openai_base_url or "").strip())


def build_llm(
    settings: Settings,
    *,
    timeout: float | None = None,
    max_retries: int = DEFAULT_MAX_RETRIES,
) -> BaseChatModel | None:
    """A ``ChatOpenAI`` for the SQL agent, or None when no LLM is configured.

    Uses ``settings.openai_api_key``, ``settings.openai_base_url`` and
    ``settings.llm_model``, temperature 0, a request ``timeout`` in seconds (default
    ``settings.llm_timeout_seconds``, ``VENN_LLM_TIMEOUT``; connecting gets at most
    :data:`CONNECT_TIMEOUT_SECONDS`) and ``max_retries``. With a base URL the Chat
    Completions API is used (the one every OpenAI-compatible server speaks), never the
    newer Responses API.
    """
    if not llm_configured(settings):
        return None
    import openai
    from langchain_openai import ChatOpenAI
    from pydantic import SecretStr

    if timeout is None:
        timeout = float(getattr(settings, "llm_timeout_seconds", DEFAULT_TIMEOUT_SECONDS))
    base_url = (settings.openai_base_url or "").strip() or None
    key = settings.openai_api_key
    if key is None or not key.get_secret_value().strip():
        key = SecretStr(PLACEHOLDER_API_KEY)
    options: dict[str, Any] = {
        "model": settings.llm_model,
        "temperature": 0,
        "api_key": key,
        "base_url": base_url,
        # A Timeout object (not a number): a short connect timeout; and, being unhashable,
        # it also gives this model its own HTTP client rather than langchain-openai's
        # process-wide cached one, whose pooled connections belong to one event loop.
        "timeout": openai.Timeout(timeout, connect=min(CONNECT_TIMEOUT_SECONDS, timeout)),
        "max_retries": max_retries,
    }
    if base_url is not None:
        options["use_responses_api"] = False
    return ChatOpenAI(**options)
