"""64-bit file sizes and creation times

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-22 06:00:00

PostgreSQL's INTEGER is 32-bit: files.bytes would overflow past 2 GiB (a raised upload limit)
and files.created_at in January 2038. SQLite's INTEGER is 64-bit already, and rebuilding the
table there (batch mode) would drop `files` with foreign keys on, cascading to every chunk set:
the change is made on other databases only.
"""

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

COLUMNS = ('bytes', 'created_at')


def upgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        return
    for column in COLUMNS:
        op.alter_column('files', column, type_=sa.BigInteger(), existing_type=sa.Integer(),
                        existing_nullable=False)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        return
    for column in COLUMNS:
        op.alter_column('files', column, type_=sa.Integer(), existing_type=sa.BigInteger(),
                        existing_nullable=False)
