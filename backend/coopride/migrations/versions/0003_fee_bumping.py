"""Fee bumping: a batch keeps the hashes of the versions it replaced, and when its current one was signed.

Revision ID: 0003_fee_bumping
Revises: 0002_settlement
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_fee_bumping"
down_revision = "0002_settlement"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("settlementbatch") as batch:
        batch.add_column(sa.Column("replaced_tx_hashes", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("signed_at", sa.Float(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("settlementbatch") as batch:
        batch.drop_column("signed_at")
        batch.drop_column("replaced_tx_hashes")
