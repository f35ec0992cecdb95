"""data requests, identity documents and processing limits

Revision ID: 0005_requests
Revises: 0004_policy
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import panel.db_types

revision = '0005_requests'
down_revision = '0004_policy'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('privacy_data_request',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('purpose', sa.String(length=16), nullable=True),
    sa.Column('details', sa.Text(), nullable=True),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('verification', sa.String(length=32), nullable=True),
    sa.Column('received_at', panel.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('decided_at', panel.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sa.Uuid(), nullable=True),
    sa.Column('refusal_reason', sa.Text(), nullable=True),
    sa.Column('reminders', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_privacy_data_request_account_id_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_data_request'))
    )
    with op.batch_alter_table('privacy_data_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_privacy_data_request_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_privacy_data_request_due_on'), ['due_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_privacy_data_request_status'), ['status'], unique=False)
    op.create_table('privacy_identity_document',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('request_id', sa.Uuid(), nullable=False),
    sa.Column('filename', sa.Text(), nullable=True),
    sa.Column('content_type', sa.String(length=64), nullable=False),
    sa.Column('content', sa.Text(), nullable=True),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('uploaded_at', panel.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('delete_by', panel.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['privacy_data_request.id'], name=op.f('fk_privacy_identity_document_request_id_privacy_data_request'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_identity_document'))
    )
    with op.batch_alter_table('privacy_identity_document', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_privacy_identity_document_delete_by'), ['delete_by'], unique=False)
        batch_op.create_index(batch_op.f('ix_privacy_identity_document_request_id'), ['request_id'], unique=False)
    op.create_table('privacy_processing_limit',
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('restricted', sa.Boolean(), nullable=False),
    sa.Column('objections', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_privacy_processing_limit_account_id_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('account_id', name=op.f('pk_privacy_processing_limit'))
    )


def downgrade() -> None:
    op.drop_table('privacy_processing_limit')
    op.drop_table('privacy_identity_document')
    op.drop_table('privacy_data_request')
