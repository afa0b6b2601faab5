"""Fixtures of the reliability suite: a database of the test's own for server subprocesses."""

from __future__ import annotations

import os

import pytest

from tests.reliability.kit import own_pg_database


@pytest.fixture
async def server_database(tmp_path):
    """PostgreSQL (a fresh database on VENN_TEST_DATABASE_URL's server) when configured,
    else a SQLite file: the URL to give a `venn serve` subprocess."""
    url = os.environ.get("VENN_TEST_DATABASE_URL")
    if url:
        async with own_pg_database(url) as own:
            yield own
    else:
        yield f"sqlite:///{tmp_path / 'venn.db'}"
