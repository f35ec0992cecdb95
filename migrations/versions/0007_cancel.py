"""service cancellation: when a customer asked, when it takes effect, when it was cancelled

Revision ID: 0007_cancel
Revises: 0006_auth
Create Date: 2026-12-02 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import panel.db_types

revision = '0007_cancel'
down_revision = '0006_auth'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('service', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cancel_requested_at',
                                      panel.db_types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('cancel_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('cancelled_at', panel.db_types.UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.create_index(batch_op.f('ix_service_cancel_on'), ['cancel_on'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('service', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_cancel_on'))
        batch_op.drop_column('cancelled_at')
        batch_op.drop_column('cancel_on')
        batch_op.drop_column('cancel_requested_at')
