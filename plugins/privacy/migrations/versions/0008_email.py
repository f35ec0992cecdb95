"""email preferences: consent events, link keys, campaigns, partner disclosures

Revision ID: 0008_email
Revises: 0007_export_key
Create Date: 2026-11-22 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import panel.db_types

revision = '0008_email'
down_revision = '0007_export_key'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'privacy_consent_event',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('account_id', sa.Uuid(), nullable=False),
        sa.Column('category', sa.String(length=64), nullable=False),
        sa.Column('granted', sa.Boolean(), nullable=False),
        sa.Column('method', sa.String(length=24), nullable=False),
        sa.Column('mode', sa.String(length=8), nullable=False),
        sa.Column('notice_version', sa.String(length=32), nullable=False),
        sa.Column('notice_hash', sa.String(length=64), nullable=False),
        sa.Column('ip', sa.Text(), nullable=True),
        sa.Column('user_agent', sa.String(length=256), nullable=True),
        sa.Column('actor_id', sa.Uuid(), nullable=True),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.Column('at', panel.db_types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['account_id'], ['account.id'],
                                name=op.f('fk_privacy_consent_event_account_id_account'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_consent_event')),
    )
    op.create_index('ix_privacy_consent_event_latest', 'privacy_consent_event',
                    ['account_id', 'category', 'at'], unique=False)
    op.create_table(
        'privacy_email_link_key',
        sa.Column('account_id', sa.Uuid(), nullable=False),
        sa.Column('generation', sa.Integer(), nullable=False),
        sa.Column('revoked_at', panel.db_types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['account_id'], ['account.id'],
                                name=op.f('fk_privacy_email_link_key_account_id_account'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('account_id', name=op.f('pk_privacy_email_link_key')),
    )
    op.create_table(
        'privacy_campaign',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('reseller_id', sa.Uuid(), nullable=True),
        sa.Column('author_id', sa.Uuid(), nullable=True),
        sa.Column('category', sa.String(length=64), nullable=False),
        sa.Column('subject', sa.String(length=255), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('queued', sa.Integer(), nullable=False),
        sa.Column('skipped', sa.Integer(), nullable=False),
        sa.Column('created_at', panel.db_types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('sent_at', panel.db_types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['reseller_id'], ['user.id'],
                                name=op.f('fk_privacy_campaign_reseller_id_user'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_campaign')),
    )
    op.create_index(op.f('ix_privacy_campaign_reseller_id'), 'privacy_campaign',
                    ['reseller_id'], unique=False)
    op.create_table(
        'privacy_campaign_message',
        sa.Column('outbox_id', sa.Uuid(), nullable=False),
        sa.Column('campaign_id', sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(['campaign_id'], ['privacy_campaign.id'],
                                name=op.f('fk_privacy_campaign_message_campaign_id_privacy_campaign'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['outbox_id'], ['mail_outbox.id'],
                                name=op.f('fk_privacy_campaign_message_outbox_id_mail_outbox'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('outbox_id', name=op.f('pk_privacy_campaign_message')),
    )
    op.create_index(op.f('ix_privacy_campaign_message_campaign_id'), 'privacy_campaign_message',
                    ['campaign_id'], unique=False)
    op.create_table(
        'privacy_partner_disclosure',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('account_id', sa.Uuid(), nullable=False),
        sa.Column('share_id', sa.Uuid(), nullable=False),
        sa.Column('partner', sa.String(length=120), nullable=False),
        sa.Column('purpose', sa.String(length=200), nullable=False),
        sa.Column('fields', sa.JSON(), nullable=False),
        sa.Column('staff_id', sa.Uuid(), nullable=True),
        sa.Column('at', panel.db_types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['account_id'], ['account.id'],
                                name=op.f('fk_privacy_partner_disclosure_account_id_account'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_partner_disclosure')),
    )
    op.create_index(op.f('ix_privacy_partner_disclosure_account_id'),
                    'privacy_partner_disclosure', ['account_id'], unique=False)
    op.create_index(op.f('ix_privacy_partner_disclosure_share_id'),
                    'privacy_partner_disclosure', ['share_id'], unique=False)


def downgrade() -> None:
    op.drop_table('privacy_partner_disclosure')
    op.drop_table('privacy_campaign_message')
    op.drop_table('privacy_campaign')
    op.drop_table('privacy_email_link_key')
    op.drop_index('ix_privacy_consent_event_latest', table_name='privacy_consent_event')
    op.drop_table('privacy_consent_event')
