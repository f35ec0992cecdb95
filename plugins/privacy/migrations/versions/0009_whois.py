"""WHOIS privacy: service identity, contact relay, complaint cases, documents, disclosures

Revision ID: 0009_whois
Revises: 0008_email
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import panel.db_types

revision = '0009_whois'
down_revision = '0008_email'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('privacy_whois_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('organization', sa.String(length=120), nullable=False),
    sa.Column('street', sa.String(length=200), nullable=False),
    sa.Column('city', sa.String(length=120), nullable=False),
    sa.Column('state', sa.String(length=120), nullable=False),
    sa.Column('postcode', sa.String(length=20), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=False),
    sa.Column('web_form', sa.String(length=255), nullable=False),
    sa.Column('updated_at', panel.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_whois_settings'))
    )
    op.create_table('privacy_domain_relay',
    sa.Column('domain_id', sa.Uuid(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['domain_id'], ['domain.id'], name=op.f('fk_privacy_domain_relay_domain_id_domain'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('domain_id', name=op.f('pk_privacy_domain_relay'))
    )
    op.create_table('privacy_complaint_case',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('domain_id', sa.Uuid(), nullable=False),
    sa.Column('domain_name', sa.String(length=253), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('complainant_name', sa.Text(), nullable=True),
    sa.Column('complainant_email', sa.Text(), nullable=True),
    sa.Column('legal_basis', sa.String(length=32), nullable=False),
    sa.Column('details', sa.Text(), nullable=True),
    sa.Column('opened_by', sa.Uuid(), nullable=True),
    sa.Column('opened_at', panel.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('due_at', panel.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('answer', sa.String(length=16), nullable=True),
    sa.Column('answer_text', sa.Text(), nullable=True),
    sa.Column('answered_at', panel.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', panel.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_by', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_privacy_complaint_case_account_id_account'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['domain_id'], ['domain.id'], name=op.f('fk_privacy_complaint_case_domain_id_domain'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_complaint_case'))
    )
    op.create_index(op.f('ix_privacy_complaint_case_account_id'), 'privacy_complaint_case', ['account_id'], unique=False)
    op.create_index(op.f('ix_privacy_complaint_case_domain_id'), 'privacy_complaint_case', ['domain_id'], unique=False)
    op.create_index(op.f('ix_privacy_complaint_case_due_at'), 'privacy_complaint_case', ['due_at'], unique=False)
    op.create_index(op.f('ix_privacy_complaint_case_status'), 'privacy_complaint_case', ['status'], unique=False)
    op.create_table('privacy_relay_message',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('domain_id', sa.Uuid(), nullable=False),
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('sender_name', sa.Text(), nullable=True),
    sa.Column('sender_email', sa.Text(), nullable=True),
    sa.Column('body', sa.Text(), nullable=True),
    sa.Column('created_at', panel.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', panel.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('replied_at', panel.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_privacy_relay_message_account_id_account'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['domain_id'], ['domain.id'], name=op.f('fk_privacy_relay_message_domain_id_domain'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_relay_message'))
    )
    op.create_index(op.f('ix_privacy_relay_message_account_id'), 'privacy_relay_message', ['account_id'], unique=False)
    op.create_index(op.f('ix_privacy_relay_message_domain_id'), 'privacy_relay_message', ['domain_id'], unique=False)
    op.create_index(op.f('ix_privacy_relay_message_expires_at'), 'privacy_relay_message', ['expires_at'], unique=False)
    op.create_table('privacy_case_document',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('filename', sa.Text(), nullable=True),
    sa.Column('content_type', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('file_path', sa.String(length=500), nullable=False),
    sa.Column('file_key', sa.Text(), nullable=True),
    sa.Column('uploaded_at', panel.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['privacy_complaint_case.id'], name=op.f('fk_privacy_case_document_case_id_privacy_complaint_case'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_case_document'))
    )
    op.create_index(op.f('ix_privacy_case_document_case_id'), 'privacy_case_document', ['case_id'], unique=False)
    op.create_table('privacy_case_event',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('at', panel.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=120), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['privacy_complaint_case.id'], name=op.f('fk_privacy_case_event_case_id_privacy_complaint_case'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_case_event'))
    )
    op.create_index(op.f('ix_privacy_case_event_case_id'), 'privacy_case_event', ['case_id'], unique=False)
    op.create_table('privacy_disclosure',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('case_id', sa.Uuid(), nullable=True),
    sa.Column('domain_name', sa.String(length=253), nullable=False),
    sa.Column('recipient', sa.Text(), nullable=True),
    sa.Column('legal_basis', sa.String(length=32), nullable=False),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.Column('consented', sa.Boolean(), nullable=False),
    sa.Column('disclosed_at', panel.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('disclosed_by', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_privacy_disclosure_account_id_account'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['case_id'], ['privacy_complaint_case.id'], name=op.f('fk_privacy_disclosure_case_id_privacy_complaint_case'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_disclosure'))
    )
    op.create_index(op.f('ix_privacy_disclosure_account_id'), 'privacy_disclosure', ['account_id'], unique=False)
    op.create_index(op.f('ix_privacy_disclosure_case_id'), 'privacy_disclosure', ['case_id'], unique=False)


def downgrade() -> None:
    op.drop_table('privacy_disclosure')
    op.drop_table('privacy_case_event')
    op.drop_table('privacy_case_document')
    op.drop_table('privacy_relay_message')
    op.drop_table('privacy_complaint_case')
    op.drop_table('privacy_domain_relay')
    op.drop_table('privacy_whois_settings')
