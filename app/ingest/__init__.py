"""`ragprep ingest`: walk files, send them through the HTTP API, write chunks + vectors as JSONL.

One client code path serves both modes: an in-process app behind httpx's ASGI transport, or a
running server named with --server.
"""
