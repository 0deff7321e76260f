"""Membership applications (v2): an applicant's signed application and capital-share permit, kept until the
admissions role admits or refuses it.

Revision ID: c0a1v2members
Revises: 0004_timestamps_with_time_zone
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "c0a1v2members"
down_revision = "0004_timestamps_with_time_zone"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "application",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("applicant", sa.String(42), nullable=False, index=True),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("max_capital_share", sa.String(80), nullable=False),
        sa.Column("deadline", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("reason", sa.String(500), nullable=True),
        sa.Column("tx_hash", sa.String(66), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("nonce", sa.String(80), nullable=False),
        sa.Column("signature", sa.String(132), nullable=False),
        sa.Column("permit_value", sa.String(80), nullable=False),
        sa.Column("permit_nonce", sa.String(80), nullable=False),
        sa.Column("permit_signature", sa.String(132), nullable=False),
    )
    op.create_index(
        "uq_application_pending_applicant",
        "application",
        ["applicant"],
        unique=True,
        sqlite_where=sa.text("status = 'pending'"),
        postgresql_where=sa.text("status = 'pending'"),
    )


def downgrade() -> None:
    op.drop_index("uq_application_pending_applicant", table_name="application")
    op.drop_table("application")
