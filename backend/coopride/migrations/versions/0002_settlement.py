"""Settlement worker tables: batches (stored before broadcast, for exactly-once) and retries.

Revision ID: 0002_settlement
Revises: 0001_initial
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_settlement"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "settlementbatch",
        sa.Column("id", sa.String(66), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("trip_ids", sa.JSON(), nullable=False),
        sa.Column("nonce", sa.BigInteger(), nullable=False),
        sa.Column("tx_hash", sa.String(66), nullable=False, index=True),
        sa.Column("raw_tx", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("broadcast_count", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("block_number", sa.BigInteger(), nullable=True),
        sa.Column("gas_used", sa.BigInteger(), nullable=True),
        sa.Column("settled_count", sa.Integer(), nullable=True),
        sa.Column("rejected_count", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(), nullable=True),
    )
    op.create_table(
        "settlementretry",
        sa.Column("trip_id", sa.BigInteger(), primary_key=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("retry_after", sa.Float(), nullable=False, server_default="0"),
        sa.Column("last_reason", sa.String(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("settlementretry")
    op.drop_table("settlementbatch")
