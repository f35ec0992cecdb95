"""staff help with signing in: a second-factor reset or a reset link, after a cool-down

Revision ID: 0013_staff_help
Revises: 0012_desk_approval
Create Date: 2026-12-10 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import panel.db_types

revision = '0013_staff_help'
down_revision = '0012_desk_approval'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('privacy_staff_help',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('session_id', sa.Uuid(), nullable=True),
    sa.Column('staff_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('open_key', sa.String(length=64), nullable=True),
    sa.Column('requested_at', panel.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('due_at', panel.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_at', panel.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_privacy_staff_help_account_id_account'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['session_id'], ['privacy_access_session.id'], name=op.f('fk_privacy_staff_help_session_id_privacy_access_session'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_staff_help')),
    sa.UniqueConstraint('open_key', name=op.f('uq_privacy_staff_help_open_key'))
    )
    with op.batch_alter_table('privacy_staff_help', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_privacy_staff_help_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_privacy_staff_help_due_at'), ['due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_privacy_staff_help_status'), ['status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('privacy_staff_help', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_privacy_staff_help_status'))
        batch_op.drop_index(batch_op.f('ix_privacy_staff_help_due_at'))
        batch_op.drop_index(batch_op.f('ix_privacy_staff_help_account_id'))
    op.drop_table('privacy_staff_help')
