"""Pages of a stored document that OCR read

Revision ID: 0004o
Revises: 0003
Create Date: 2026-12-02 13:30:00

documents.ocr_pages: JSON list of the 1-based pages whose text came from OCR (scanned PDF pages,
image frames), reported by GET /v1/files/{id}/text; chunks.ocr_pages: those of a chunk's pages,
in chunk details. Rows stored before it read no page by OCR: '[]'.
"""

from alembic import op
import sqlalchemy as sa


revision = "0004o"
down_revision = "0003"
branch_labels = None
depends_on = None


TABLES = ("documents", "chunks")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column("ocr_pages", sa.Text(), nullable=False, server_default="[]"))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("ocr_pages")
