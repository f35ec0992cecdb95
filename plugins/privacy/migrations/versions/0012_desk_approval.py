"""four eyes on erasures: a second staff member approves or rejects

Revision ID: 0012_desk_approval
Revises: 0011_reseller
Create Date: 2026-11-30 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import panel.db_types

revision = '0012_desk_approval'
down_revision = '0011_reseller'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('privacy_erasure_approval',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('subject', sa.String(length=16), nullable=False),
    sa.Column('subject_id', sa.Uuid(), nullable=False),
    sa.Column('open_key', sa.Uuid(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('asked_by', sa.Uuid(), nullable=False),
    sa.Column('asked_at', panel.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_by', sa.Uuid(), nullable=True),
    sa.Column('decided_at', panel.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_privacy_erasure_approval_account_id_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_erasure_approval')),
    sa.UniqueConstraint('open_key', name=op.f('uq_privacy_erasure_approval_open_key'))
    )
    with op.batch_alter_table('privacy_erasure_approval', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_privacy_erasure_approval_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_privacy_erasure_approval_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_privacy_erasure_approval_subject_id'), ['subject_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('privacy_erasure_approval', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_privacy_erasure_approval_subject_id'))
        batch_op.drop_index(batch_op.f('ix_privacy_erasure_approval_status'))
        batch_op.drop_index(batch_op.f('ix_privacy_erasure_approval_account_id'))
    op.drop_table('privacy_erasure_approval')
