"""Timestamps with their time zone: the models store aware UTC datetimes (SQLModel maps `datetime` to
`DateTime(timezone=True)`), which 0001 and 0002 declared without one.

On PostgreSQL a `timestamp without time zone` column keeps an aware value converted to the server's
TimeZone setting and hands it back naive, so a server not on UTC shifted every stored time; the columns
become `timestamptz`, existing values read as the UTC they were written in. SQLite stores both the same
way: nothing to change there.

Revision ID: 0004_timestamps_with_time_zone
Revises: 0003_fee_bumping
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_timestamps_with_time_zone"
down_revision = "0003_fee_bumping"
branch_labels = None
depends_on = None

TIMESTAMPS = {
    "signinnonce": ("issued_at", "expires_at", "used_at"),
    "membersession": ("created_at", "expires_at"),
    "tripoffer": ("created_at",),
    "riderequest": ("created_at",),
    "trip": ("created_at", "settled_at"),
    "relayedtransaction": ("created_at",),
    "proposal": ("created_at",),
    "settlementbatch": ("created_at", "finished_at"),
}


def _alter(with_time_zone: bool) -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for table, columns in TIMESTAMPS.items():
        for column in columns:
            op.alter_column(
                table,
                column,
                type_=sa.DateTime(timezone=with_time_zone),
                existing_type=sa.DateTime(timezone=not with_time_zone),
                postgresql_using=f"{column} AT TIME ZONE 'UTC'",
            )


def upgrade() -> None:
    _alter(with_time_zone=True)


def downgrade() -> None:
    _alter(with_time_zone=False)
