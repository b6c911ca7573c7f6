"""Declarative base shared by every table; Alembic reads its metadata."""

from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass
