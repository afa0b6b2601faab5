"""The SQL agent's settings, read from the environment and `.env` like the core's.

The names are the ones the agent has always read (``OPENAI_API_KEY``, ``OPENAI_BASE_URL``,
``VENN_LLM_MODEL``, ``VENN_WAREHOUSE_URL``, the ``SNOWFLAKE_*`` variables, ...); an
invalid value stops start-up naming the variable. The demo warehouse lives under the
server's ``VENN_DATA_DIR`` (``data_dir`` is filled in from the core's settings).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, ByteSize, Field, SecretStr
from pydantic_settings import BaseSettings

from venn.config import SETTINGS_CONFIG

__all__ = ["SQLSettings"]


class SQLSettings(BaseSettings):
    """LLM and warehouse settings of the ``sql`` plugin."""

    model_config = SETTINGS_CONFIG

    data_dir: Path = Field(Path(".venn"), validation_alias=AliasChoices("VENN_DATA_DIR"))
    openai_api_key: SecretStr | None = Field(None, validation_alias=AliasChoices("OPENAI_API_KEY"))
    openai_base_url: str | None = Field(None, validation_alias=AliasChoices("OPENAI_BASE_URL"))
    llm_model: str = Field("gpt-4o-mini", validation_alias=AliasChoices("VENN_LLM_MODEL"))
    llm_timeout_seconds: float = Field(60.0, gt=0, le=3600, validation_alias=AliasChoices("VENN_LLM_TIMEOUT"))
    warehouse_url: SecretStr | None = Field(None, validation_alias=AliasChoices("VENN_WAREHOUSE_URL"))
    snowflake_account: str | None = Field(None, validation_alias=AliasChoices("SNOWFLAKE_ACCOUNT"))
    snowflake_user: str | None = Field(None, validation_alias=AliasChoices("SNOWFLAKE_USER"))
    snowflake_password: SecretStr | None = Field(None, validation_alias=AliasChoices("SNOWFLAKE_PASSWORD"))
    snowflake_private_key_path: str | None = Field(None, validation_alias=AliasChoices("SNOWFLAKE_PRIVATE_KEY_PATH"))
    snowflake_private_key_passphrase: SecretStr | None = Field(
        None, validation_alias=AliasChoices("SNOWFLAKE_PRIVATE_KEY_PASSPHRASE")
    )
    snowflake_role: str | None = Field(None, validation_alias=AliasChoices("SNOWFLAKE_ROLE"))
    snowflake_warehouse: str | None = Field(None, validation_alias=AliasChoices("SNOWFLAKE_WAREHOUSE"))
    snowflake_database: str | None = Field(None, validation_alias=AliasChoices("SNOWFLAKE_DATABASE"))
    snowflake_schema: str | None = Field(None, validation_alias=AliasChoices("SNOWFLAKE_SCHEMA"))
    # Containment: sizes as 1GiB, 512MB, 512 MiB or a number of bytes.
    warehouse_memory_limit: ByteSize = Field(
        ByteSize(1024**3), ge=64 * 1024**2, validation_alias=AliasChoices("VENN_WAREHOUSE_MEMORY_LIMIT")
    )
    sql_max_result_bytes: ByteSize = Field(
        ByteSize(1024**2), ge=16 * 1024, le=64 * 1024**2, validation_alias=AliasChoices("VENN_SQL_MAX_RESULT_BYTES")
    )
    sql_max_csv_bytes: ByteSize = Field(
        ByteSize(20 * 1024**2), ge=64 * 1024, le=1024**3, validation_alias=AliasChoices("VENN_SQL_MAX_CSV_BYTES")
    )
    # Questions (/ask, mentions, llm-query) one person may ask per minute, across processes.
    sql_questions_per_minute: int = Field(
        10, ge=1, le=10_000, validation_alias=AliasChoices("VENN_SQL_QUESTIONS_PER_MINUTE")
    )
