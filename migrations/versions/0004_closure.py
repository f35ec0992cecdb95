"""account closure: when an account was closed, for the retention schedule's grace period

Revision ID: 0004_closure
Revises: 0003_registry
Create Date: 2026-11-23 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import panel.db_types

revision = '0004_closure'
down_revision = '0003_registry'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('closed_at', panel.db_types.UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.create_index(batch_op.f('ix_account_closed_at'), ['closed_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_account_closed_at'))
        batch_op.drop_column('closed_at')
