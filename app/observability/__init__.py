"""Logs, request ids and metrics: what operators see of a running server."""
