"""What every table uses: UTC timestamps, and the column types the migrations chose."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import BigInteger, Column, Dialect, Integer, String, TypeDecorator

ADDRESS_LENGTH = 42  # 0x + 40 hex digits
HASH_LENGTH = 66  # 0x + 64 hex digits


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """SQLite hands datetimes back without their zone; everything stored is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class EnumString(TypeDecorator[StrEnum]):
    """A status or kind column: VARCHAR(length) holding a `StrEnum`'s value, read back as the enum member
    (never a database enum type, so the schema is the plain strings it always was)."""

    impl = String
    cache_ok = True

    def __init__(self, enum: type[StrEnum], length: int):
        super().__init__(length=length)
        self.enum = enum

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: Any, dialect: Dialect) -> StrEnum | None:
        return None if value is None else self.enum(value)


class Numbered(Protocol):
    id: int | None


def stored_id(row: Numbered) -> int:
    """The id the database gave a row (None only before the row is flushed)."""
    if row.id is None:
        raise ValueError(f"{type(row).__name__} has no id yet: flush it first")
    return row.id


def trip_id_column() -> Column[int]:
    # SQLite only autoincrements an INTEGER PRIMARY KEY; PostgreSQL needs 64 bits for a uint64 trip id.
    return Column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True)
