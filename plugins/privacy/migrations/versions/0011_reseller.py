"""removal requests from resellers to the host (P26)

Revision ID: 0011_reseller
Revises: 0010_retention
Create Date: 2026-11-23 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import panel.db_types

revision = '0011_reseller'
down_revision = '0010_retention'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('privacy_removal_request',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('reseller_id', sa.Uuid(), nullable=False),
    sa.Column('data_request_id', sa.Uuid(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('requested_at', panel.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('completed_at', panel.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('completed_by', sa.Uuid(), nullable=True),
    sa.Column('outcome', sa.Text(), nullable=True),
    sa.Column('reminders', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_privacy_removal_request_account_id_account'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reseller_id'], ['user.id'], name=op.f('fk_privacy_removal_request_reseller_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_removal_request'))
    )
    with op.batch_alter_table('privacy_removal_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_privacy_removal_request_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_privacy_removal_request_due_on'), ['due_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_privacy_removal_request_reseller_id'), ['reseller_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_privacy_removal_request_status'), ['status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('privacy_removal_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_privacy_removal_request_status'))
        batch_op.drop_index(batch_op.f('ix_privacy_removal_request_reseller_id'))
        batch_op.drop_index(batch_op.f('ix_privacy_removal_request_due_on'))
        batch_op.drop_index(batch_op.f('ix_privacy_removal_request_account_id'))
    op.drop_table('privacy_removal_request')
