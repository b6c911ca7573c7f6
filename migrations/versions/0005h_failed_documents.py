"""Failed extractions remembered in the database

Revision ID: 0005h
Revises: 0004v
Create Date: 2026-12-02 16:40:00

failed_documents: an extraction that failed on the document's own bytes (content hash, name
suffix, extractor version, digest of the limits), with the error it gave, so every replica and
a restarted server answer a re-post at once (issue 24). Was an in-process LRU before: nothing to
carry over.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005h"
down_revision = "0004v"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "failed_documents",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("suffix", sa.String(255), primary_key=True),
        sa.Column("extractor", sa.String(64), primary_key=True),
        sa.Column("limits", sa.String(64), primary_key=True),
        sa.Column("error", sa.String(64), nullable=False),
        sa.Column("code", sa.String(64), nullable=True),
        sa.Column("param", sa.String(64), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("filename", sa.Text(), nullable=False),
        sa.Column("created_ns", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_failed_documents_created_ns", "failed_documents", ["created_ns"])


def downgrade() -> None:
    op.drop_index("ix_failed_documents_created_ns", table_name="failed_documents")
    op.drop_table("failed_documents")
