"""Venn: a Slack-style chat server with a bot framework."""

__version__ = "0.2.0"
