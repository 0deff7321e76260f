"""Initial schema: sign-in, offers, ride requests, trips, relayed transactions, proposals.

Revision ID: 0001_initial
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None

ADDRESS = sa.String(42)
HASH = sa.String(66)


def upgrade() -> None:
    op.create_table(
        "signinnonce",
        sa.Column("nonce", sa.String(64), primary_key=True),
        sa.Column("address", ADDRESS, nullable=False, index=True),
        sa.Column("message", sa.String(), nullable=False),
        sa.Column("issued_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
    )
    op.create_table(
        "membersession",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("address", ADDRESS, nullable=False, index=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "tripoffer",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("driver", ADDRESS, nullable=False, index=True),
        sa.Column("region_id", sa.Integer(), nullable=False, index=True),
        sa.Column("origin_lat", sa.Float(), nullable=False),
        sa.Column("origin_lon", sa.Float(), nullable=False),
        sa.Column("destination_lat", sa.Float(), nullable=False),
        sa.Column("destination_lon", sa.Float(), nullable=False),
        sa.Column("depart_earliest", sa.Integer(), nullable=False),
        sa.Column("depart_latest", sa.Integer(), nullable=False),
        sa.Column("seats", sa.Integer(), nullable=False),
        sa.Column("max_detour_m", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "riderequest",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("rider", ADDRESS, nullable=False, index=True),
        sa.Column("region_id", sa.Integer(), nullable=False, index=True),
        sa.Column("origin_lat", sa.Float(), nullable=False),
        sa.Column("origin_lon", sa.Float(), nullable=False),
        sa.Column("destination_lat", sa.Float(), nullable=False),
        sa.Column("destination_lon", sa.Float(), nullable=False),
        sa.Column("earliest", sa.Integer(), nullable=False),
        sa.Column("latest", sa.Integer(), nullable=False),
        sa.Column("estimated_metres", sa.Integer(), nullable=False),
        sa.Column("fare_per_km", sa.Integer(), nullable=False),
        sa.Column("quoted_fare", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("offer_id", sa.Integer(), sa.ForeignKey("tripoffer.id"), nullable=True, index=True),
        sa.Column("shared_metres", sa.Integer(), nullable=True),
        sa.Column("detour_metres", sa.Integer(), nullable=True),
        sa.Column("pickup_time", sa.Integer(), nullable=True),
        sa.Column("picked_up_at", sa.Integer(), nullable=True),
        sa.Column("ended_at", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "trip",
        # SQLite autoincrements only an INTEGER PRIMARY KEY; elsewhere a uint64 trip id needs 64 bits.
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("driver", ADDRESS, nullable=False, index=True),
        sa.Column("rider", ADDRESS, nullable=True, index=True),
        sa.Column("request_id", sa.Integer(), sa.ForeignKey("riderequest.id"), nullable=True),
        sa.Column("region_id", sa.Integer(), nullable=False, index=True),
        sa.Column("distance_metres", sa.Integer(), nullable=False),
        sa.Column("fare", sa.BigInteger(), nullable=False),
        sa.Column("start_time", sa.BigInteger(), nullable=False),
        sa.Column("end_time", sa.BigInteger(), nullable=False),
        sa.Column("trace_hash", HASH, nullable=False),
        sa.Column("trace", sa.JSON(), nullable=False),
        sa.Column("check_reasons", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(24), nullable=False, index=True),
        sa.Column("driver_signature", sa.String(132), nullable=True),
        sa.Column("rider_signature", sa.String(132), nullable=True),
        sa.Column("batch_id", HASH, nullable=True, index=True),
        sa.Column("tx_hash", HASH, nullable=True),
        sa.Column("block_number", sa.BigInteger(), nullable=True),
        sa.Column("reject_reason", sa.String(), nullable=True),
        sa.Column("fare_paid", sa.BigInteger(), nullable=True),
        sa.Column("fee_paid", sa.BigInteger(), nullable=True),
        sa.Column("shares_minted", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("settled_at", sa.DateTime(), nullable=True),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "relayedtransaction",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("member", ADDRESS, nullable=False, index=True),
        sa.Column("kind", sa.String(24), nullable=False, index=True),
        sa.Column("region_id", sa.Integer(), nullable=True),
        sa.Column("amount", sa.String(), nullable=True),
        sa.Column("proposal_id", sa.String(), nullable=True, index=True),
        sa.Column("support", sa.Integer(), nullable=True),
        sa.Column("tx_hash", HASH, nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("gas_used", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "proposal",
        sa.Column("proposal_id", sa.String(), primary_key=True),
        sa.Column("proposer", ADDRESS, nullable=False, index=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("description", sa.String(), nullable=False),
        sa.Column("targets", sa.JSON(), nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.Column("calldatas", sa.JSON(), nullable=False),
        sa.Column("tx_hash", HASH, nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    for table in ("proposal", "relayedtransaction", "trip", "riderequest", "tripoffer", "membersession", "signinnonce"):
        op.drop_table(table)
