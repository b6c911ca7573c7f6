"""What the lifespan builds, in one typed object on `app.state.services`."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.engine.catalog import ModelCatalog
from app.engine.tiktoken_tokenizer import TiktokenTokenizer
from app.observability.metrics import Metrics
from app.services.chunk_store import ChunkStore
from app.services.documents import DocumentStore
from app.services.embedding_cache import EmbeddingCache
from app.services.file_embeddings import FileEmbedder
from app.services.files import FileStore
from app.services.pipeline import ChunkParams
from app.services.vector_stores.queue import IndexQueue
from app.services.vector_stores.search import Searcher


@dataclass
class Services:
    settings: Settings
    session_factory: async_sessionmaker[AsyncSession]
    file_store: FileStore
    catalog: ModelCatalog
    cl100k: TiktokenTokenizer
    embedding_cache: EmbeddingCache
    metrics: Metrics
    documents: DocumentStore
    chunk_store: ChunkStore
    index_queue: IndexQueue
    searcher: Searcher

    def file_embedder(self, params: ChunkParams) -> FileEmbedder:
        """Embeds a stored file's chunks through the embedding cache, as the API does."""
        return FileEmbedder(
            params=params,
            cl100k=self.cl100k,
            cache=self.embedding_cache,
            session_factory=self.session_factory,
        )
