"""v2 rides: a booking's unpredictable trip id and fare authorisation, a trip's dispute and decision.

Revision ID: c0a2v2rides
Revises: c0a1v2members
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "c0a2v2rides"
down_revision = "c0a1v2members"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("riderequest") as batch:
        batch.add_column(sa.Column("trip_id", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("max_fare", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("cancel_by", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("authorisation_expiry", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("authorisation_tx_hash", sa.String(length=66), nullable=True))
        batch.add_column(sa.Column("release_tx_hash", sa.String(length=66), nullable=True))
        batch.create_unique_constraint("uq_riderequest_trip_id", ["trip_id"])
    with op.batch_alter_table("trip") as batch:
        batch.add_column(sa.Column("dispute_status", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("dispute_reason", sa.String(), nullable=True))
        batch.add_column(sa.Column("dispute_by", sa.String(length=42), nullable=True))
        batch.add_column(sa.Column("dispute_tx_hash", sa.String(length=66), nullable=True))
        batch.add_column(sa.Column("dispute_award", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("dispute_fee", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("dispute_mediator", sa.String(length=42), nullable=True))
        batch.add_column(sa.Column("resolution_reason", sa.String(), nullable=True))
        batch.add_column(sa.Column("resolution_tx_hash", sa.String(length=66), nullable=True))
        batch.create_index("ix_trip_dispute_status", ["dispute_status"])


def downgrade() -> None:
    with op.batch_alter_table("trip") as batch:
        batch.drop_index("ix_trip_dispute_status")
        for column in (
            "resolution_tx_hash",
            "resolution_reason",
            "dispute_mediator",
            "dispute_fee",
            "dispute_award",
            "dispute_tx_hash",
            "dispute_by",
            "dispute_reason",
            "dispute_status",
        ):
            batch.drop_column(column)
    with op.batch_alter_table("riderequest") as batch:
        batch.drop_constraint("uq_riderequest_trip_id", type_="unique")
        for column in (
            "release_tx_hash",
            "authorisation_tx_hash",
            "authorisation_expiry",
            "cancel_by",
            "max_fare",
            "trip_id",
        ):
            batch.drop_column(column)
