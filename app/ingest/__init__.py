"""`ragprep ingest`: walk files, store, chunk and embed them, write chunks + vectors as JSONL.

One run serves both modes through a `Backend` (backend.py): the services in this process
(local.py, the same ones the server's routes call), or a running server named with --server
(client.py, over its HTTP API).
"""
