"""Incremental matching (issue 13): each offer's footprint, the boxes a feasible request's pickup and
drop-off lie in and the span of its pickup times (`coopride.domain.incremental.offer_footprint`), indexed.
Offers stored before this revision have none (NULL): the arrival queries always include them.

Revision ID: c0a5footprints
Revises: c0a4workers
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "c0a5footprints"
down_revision = "c0a4workers"
branch_labels = None
depends_on = None

FLOATS = (
    "pickup_min_lat",
    "pickup_max_lat",
    "pickup_min_lon",
    "pickup_max_lon",
    "dropoff_min_lat",
    "dropoff_max_lat",
    "dropoff_min_lon",
    "dropoff_max_lon",
)


def upgrade() -> None:
    with op.batch_alter_table("tripoffer") as batch:
        for name in FLOATS:
            batch.add_column(sa.Column(name, sa.Float(), nullable=True))
        batch.add_column(sa.Column("pickup_from", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("pickup_until", sa.BigInteger(), nullable=True))
    op.create_index("ix_tripoffer_footprint", "tripoffer", ["region_id", "pickup_min_lat", "pickup_max_lat"])
    op.create_index("ix_riderequest_open_origin", "riderequest", ["region_id", "status", "origin_lat"])


def downgrade() -> None:
    op.drop_index("ix_riderequest_open_origin", table_name="riderequest")
    op.drop_index("ix_tripoffer_footprint", table_name="tripoffer")
    with op.batch_alter_table("tripoffer") as batch:
        batch.drop_column("pickup_until")
        batch.drop_column("pickup_from")
        for name in reversed(FLOATS):
            batch.drop_column(name)
