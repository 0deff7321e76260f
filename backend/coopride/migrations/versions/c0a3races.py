"""Race-free bookings (issue 12): the seat a request holds on its offer, unique per offer; the first answers to
POSTs sent with an Idempotency-Key.

Revision ID: c0a3races
Revises: c0a2v2rides
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "c0a3races"
down_revision = "c0a2v2rides"
branch_labels = None
depends_on = None

HOLDING = "('matched', 'booked', 'picked_up', 'ended_early', 'completed')"


def upgrade() -> None:
    with op.batch_alter_table("riderequest") as batch:
        batch.add_column(sa.Column("seat", sa.Integer(), nullable=True))
    # Requests that hold a seat today get seats 1, 2, ... on their offer, in the order they were made.
    op.execute(
        f"""
        UPDATE riderequest SET seat = (
            SELECT count(*) FROM riderequest AS earlier
            WHERE earlier.offer_id = riderequest.offer_id AND earlier.status IN {HOLDING}
              AND earlier.id <= riderequest.id
        )
        WHERE offer_id IS NOT NULL AND status IN {HOLDING}
        """
    )
    with op.batch_alter_table("riderequest") as batch:
        batch.create_unique_constraint("uq_riderequest_offer_seat", ["offer_id", "seat"])
        batch.create_check_constraint("ck_riderequest_seat", "seat IS NULL OR (seat >= 1 AND offer_id IS NOT NULL)")
    op.create_table(
        "idempotencyrecord",
        sa.Column("id", sa.Integer(), primary_key=True, nullable=False),
        sa.Column("caller", sa.String(length=42), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("fingerprint", sa.String(length=66), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("caller", "key", name="uq_idempotencyrecord_caller_key"),
    )


def downgrade() -> None:
    op.drop_table("idempotencyrecord")
    with op.batch_alter_table("riderequest") as batch:
        batch.drop_constraint("ck_riderequest_seat", type_="check")
        batch.drop_constraint("uq_riderequest_offer_seat", type_="unique")
        batch.drop_column("seat")
