"""Several settlement workers on one database (issue 13): each unfinished batch has an owner and a lease.

Revision ID: c0a4workers
Revises: c0a3races
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "c0a4workers"
down_revision = "c0a3races"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("settlementbatch") as batch:
        batch.add_column(sa.Column("owner", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("lease_until", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("settlementbatch") as batch:
        batch.drop_column("lease_until")
        batch.drop_column("owner")
