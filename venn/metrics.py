"""Prometheus metrics, in a registry of the app's own (no global state)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "venn_http_requests_total", "HTTP requests", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "venn_http_request_duration_seconds",
            "HTTP request latency",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.messages_posted = Counter(
            "venn_messages_posted_total", "Messages posted", ["kind"], registry=self.registry
        )
        self.sockets = Gauge("venn_socket_connections", "Connected Socket.IO clients", registry=self.registry)
        self.socket_events = Counter(
            "venn_socket_events_total", "Socket.IO events handled", ["event", "outcome"], registry=self.registry
        )
        self.bot_jobs = Counter(
            "venn_bot_jobs_total", "Bot jobs run", ["plugin", "outcome"], registry=self.registry
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
