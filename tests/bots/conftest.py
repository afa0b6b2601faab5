"""The bot tests use the plugin testing kit's fixture, as plugin authors do."""

from __future__ import annotations

import pytest

from tests.bots import tiny_package
from venn_bots.testing import testbot  # noqa: F401


@pytest.fixture(scope="session")
def tiny_site(tmp_path_factory):
    """A directory where pip installed the tiny plugin package (put it on the path to use it)."""
    return tiny_package.install(tmp_path_factory.mktemp("tiny") / "site")
