"""Prometheus metrics, one registry per app: tests build many apps in one process, and the
global default registry would refuse a second set of the same names.

The pieces that observe (HTTP middleware, batch engine, cache, chunking, uploads) are handed
this object; nothing reaches for a module global.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Seconds: health checks and cache hits (ms) up to large files and shutdown-long requests.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
# Sequences per batch (max_sequences is 256) and tokens per batch (batch_tokens and up).
BATCH_SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
BATCH_TOKEN_BUCKETS = (16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "ragprep_http_requests",
            "HTTP requests answered, by route template, method and status.",
            ["route", "method", "status"],
            registry=r,
        )
        self.request_seconds = Histogram(
            "ragprep_http_request_duration_seconds",
            "Time from request start to the end of its response, by route template and method.",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.rejected = Counter(
            "ragprep_http_rejected",
            "Requests refused with 429 because the embedding queue was full, by model.",
            ["model"],
            registry=r,
        )
        self.queue_inputs = Gauge(
            "ragprep_embedding_queue_inputs",
            "Inputs waiting for the embedding worker, by model.",
            ["model"],
            registry=r,
        )
        self.queue_tokens = Gauge(
            "ragprep_embedding_queue_tokens",
            "Tokens (special tokens included) waiting for the embedding worker, by model.",
            ["model"],
            registry=r,
        )
        self.batch_size = Histogram(
            "ragprep_embedding_batch_size",
            "Sequences per decoded embedding batch, by model.",
            ["model"],
            buckets=BATCH_SIZE_BUCKETS,
            registry=r,
        )
        self.batch_tokens = Histogram(
            "ragprep_embedding_batch_tokens",
            "Tokens per decoded embedding batch (special tokens included), by model.",
            ["model"],
            buckets=BATCH_TOKEN_BUCKETS,
            registry=r,
        )
        self.tokens_embedded = Counter(
            "ragprep_embedding_tokens",
            "Tokens embedded by the model (cache hits excluded), by model.",
            ["model"],
            registry=r,
        )
        self.cache_lookups = Counter(
            "ragprep_embedding_cache_lookups",
            "Inputs looked up in the embedding cache, by model and result (hit or miss).",
            ["model", "result"],
            registry=r,
        )
        self.chunking_seconds = Histogram(
            "ragprep_chunking_duration_seconds",
            "Time to decode and split one stored file into chunks, by model.",
            ["model"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.extraction_seconds = Histogram(
            "ragprep_extraction_seconds",
            "Time to extract the text of one document, by format (pdf, docx, html, ...).",
            ["format"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.upload_bytes = Counter(
            "ragprep_upload_bytes",
            "Request body bytes read by the upload route, framing included.",
            registry=r,
        )

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
