"""OpenAI vector stores: stores and their files, a durable indexing queue, hybrid search."""
