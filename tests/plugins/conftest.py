"""The bundled plugins tests use the plugin testing kit's fixture."""

from venn_bots.testing import testbot  # noqa: F401
