"""documents (extracted once per content and extractor) and chunk provenance

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 06:00:00

Chunk sets made before extraction existed are a cache of decoded text without provenance: they
are dropped and rebuilt on demand, keyed by the extractor version from now on.
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

PARAMS = ["file_id", "model", "tokenizer", "chunk_capacity", "chunk_overlap"]


def upgrade() -> None:
    op.create_table(
        "documents",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("suffix", sa.String(length=255), nullable=False),
        sa.Column("extractor", sa.String(length=64), nullable=False),
        sa.Column("media_type", sa.String(length=200), nullable=False),
        sa.Column("markdown", sa.Boolean(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("pages", sa.Text(), nullable=False),
        sa.Column("headings", sa.Text(), nullable=False),
        sa.Column("created_ns", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("sha256", "suffix", "extractor"),
    )
    op.execute("DELETE FROM chunks")
    op.execute("DELETE FROM chunk_sets")
    with op.batch_alter_table("chunk_sets", schema=None) as batch_op:
        batch_op.drop_index("ux_chunk_sets_params")
        batch_op.add_column(sa.Column("extractor", sa.String(length=64), nullable=False))
        batch_op.create_index("ux_chunk_sets_params", [*PARAMS, "extractor"], unique=True)
    with op.batch_alter_table("chunks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("page_first", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("page_last", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("headings", sa.Text(), nullable=False))


def downgrade() -> None:
    op.execute("DELETE FROM chunks")
    op.execute("DELETE FROM chunk_sets")
    with op.batch_alter_table("chunks", schema=None) as batch_op:
        batch_op.drop_column("headings")
        batch_op.drop_column("page_last")
        batch_op.drop_column("page_first")
    with op.batch_alter_table("chunk_sets", schema=None) as batch_op:
        batch_op.drop_index("ux_chunk_sets_params")
        batch_op.drop_column("extractor")
        batch_op.create_index("ux_chunk_sets_params", PARAMS, unique=True)
    op.drop_table("documents")
