"""Prometheus metrics: requests, latencies, articles, groups and model time."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    """One registry per app, so several apps (tests) never collide."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "newsdedup_requests_total",
            "HTTP requests",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "newsdedup_request_seconds",
            "HTTP request latency",
            ["method", "route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )
        self.articles = Gauge(
            "newsdedup_articles_ingested", "Articles stored since start", registry=self.registry
        )
        self.copies = Gauge(
            "newsdedup_copies_ingested", "Copies found since start", registry=self.registry
        )
        self.embedded = Gauge(
            "newsdedup_texts_embedded",
            "Texts the model embedded since start",
            registry=self.registry,
        )
        self.model_seconds = Gauge(
            "newsdedup_assign_seconds",
            "Seconds spent assigning (model included) since start",
            registry=self.registry,
        )
        self.vectors = Gauge(
            "newsdedup_index_vectors", "Vectors in the live index", registry=self.registry
        )
        self.index_version = Gauge(
            "newsdedup_index_version", "Index version being served", registry=self.registry
        )
        self.reindex = Gauge(
            "newsdedup_last_reindex",
            "Figures of the last finished reindex",
            ["figure"],
            registry=self.registry,
        )
