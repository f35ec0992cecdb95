"""sign-in history and data exports

Revision ID: 0006_export
Revises: 0005_requests
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import panel.db_types

revision = '0006_export'
down_revision = '0005_requests'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('privacy_signin_event',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('account_id', sa.Uuid(), nullable=True),
    sa.Column('at', panel.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ip', sa.Text(), nullable=True),
    sa.Column('user_agent', sa.String(length=256), nullable=True),
    sa.Column('referrer', sa.String(length=255), nullable=True),
    sa.Column('method', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_privacy_signin_event_account_id_account'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_privacy_signin_event_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_signin_event'))
    )
    with op.batch_alter_table('privacy_signin_event', schema=None) as batch_op:
        batch_op.create_index('ix_privacy_signin_event_account_at', ['account_id', 'at'], unique=False)
        batch_op.create_index(batch_op.f('ix_privacy_signin_event_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_privacy_signin_event_user_id'), ['user_id'], unique=False)

    op.create_table('privacy_export',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('format', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('file_path', sa.String(length=500), nullable=True),
    sa.Column('size', sa.BigInteger(), nullable=True),
    sa.Column('rows', sa.Integer(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', panel.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ready_at', panel.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('expires_at', panel.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_privacy_export_account_id_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_export'))
    )
    with op.batch_alter_table('privacy_export', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_privacy_export_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_privacy_export_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_privacy_export_status'), ['status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('privacy_export', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_privacy_export_status'))
        batch_op.drop_index(batch_op.f('ix_privacy_export_expires_at'))
        batch_op.drop_index(batch_op.f('ix_privacy_export_account_id'))
    op.drop_table('privacy_export')
    with op.batch_alter_table('privacy_signin_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_privacy_signin_event_user_id'))
        batch_op.drop_index(batch_op.f('ix_privacy_signin_event_at'))
        batch_op.drop_index('ix_privacy_signin_event_account_at')
    op.drop_table('privacy_signin_event')
