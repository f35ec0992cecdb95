"""retention schedule, activity log, visitor statistics, cookie consent

Revision ID: 0010_retention
Revises: 0009_whois
Create Date: 2026-11-22 05:40:08.604237
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import panel.db_types

revision = '0010_retention'
down_revision = '0009_whois'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('privacy_page_view',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('path', sa.String(length=255), nullable=False),
    sa.Column('views', sa.BigInteger(), nullable=False),
    sa.Column('visitors', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_page_view')),
    sa.UniqueConstraint('day', 'path', name=op.f('uq_privacy_page_view_day'))
    )
    with op.batch_alter_table('privacy_page_view', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_privacy_page_view_day'), ['day'], unique=False)

    op.create_table('privacy_purge_run',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('started_at', panel.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', panel.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.Column('held', sa.JSON(), nullable=False),
    sa.Column('batches', sa.Integer(), nullable=False),
    sa.Column('longest_ms', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_purge_run'))
    )
    with op.batch_alter_table('privacy_purge_run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_privacy_purge_run_started_at'), ['started_at'], unique=False)

    op.create_table('privacy_known_device',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('device_hash', sa.String(length=64), nullable=False),
    sa.Column('browser', sa.String(length=64), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=True),
    sa.Column('first_seen', panel.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen', panel.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_privacy_known_device_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_known_device'))
    )
    with op.batch_alter_table('privacy_known_device', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_privacy_known_device_device_hash'), ['device_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_privacy_known_device_last_seen'), ['last_seen'], unique=False)
        batch_op.create_index(batch_op.f('ix_privacy_known_device_user_id'), ['user_id'], unique=False)

    op.create_table('privacy_activity_event',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('at', panel.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=True),
    sa.Column('account_id', sa.Uuid(), nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('method', sa.String(length=32), nullable=True),
    sa.Column('reason', sa.String(length=64), nullable=True),
    sa.Column('ip', sa.Text(), nullable=True),
    sa.Column('user_agent', sa.String(length=256), nullable=True),
    sa.Column('referrer', sa.String(length=255), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_privacy_activity_event_account_id_account'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_privacy_activity_event_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_activity_event'))
    )
    with op.batch_alter_table('privacy_activity_event', schema=None) as batch_op:
        batch_op.create_index('ix_privacy_activity_event_account_at', ['account_id', 'at'], unique=False)
        batch_op.create_index(batch_op.f('ix_privacy_activity_event_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_privacy_activity_event_user_id'), ['user_id'], unique=False)

    op.create_table('privacy_cookie_consent',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('at', panel.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=True),
    sa.Column('account_id', sa.Uuid(), nullable=True),
    sa.Column('choice', sa.String(length=16), nullable=False),
    sa.Column('analytics', sa.Boolean(), nullable=False),
    sa.Column('targeting', sa.Boolean(), nullable=False),
    sa.Column('signal', sa.String(length=8), nullable=True),
    sa.Column('notice_version', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_privacy_cookie_consent_account_id_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_privacy_cookie_consent_user_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_cookie_consent'))
    )
    with op.batch_alter_table('privacy_cookie_consent', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_privacy_cookie_consent_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_privacy_cookie_consent_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_privacy_cookie_consent_user_id'), ['user_id'], unique=False)

    op.create_table('privacy_legal_hold',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('placed_by', sa.Uuid(), nullable=True),
    sa.Column('placed_at', panel.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('released_by', sa.Uuid(), nullable=True),
    sa.Column('released_at', panel.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('release_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_privacy_legal_hold_account_id_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_legal_hold'))
    )
    with op.batch_alter_table('privacy_legal_hold', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_privacy_legal_hold_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_privacy_legal_hold_released_at'), ['released_at'], unique=False)

    op.create_table('privacy_log_import',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('domain_id', sa.Uuid(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('at', panel.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('lines', sa.BigInteger(), nullable=False),
    sa.Column('imported', sa.BigInteger(), nullable=False),
    sa.Column('malformed', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['domain_id'], ['domain.id'], name=op.f('fk_privacy_log_import_domain_id_domain'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_log_import'))
    )
    with op.batch_alter_table('privacy_log_import', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_privacy_log_import_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_privacy_log_import_domain_id'), ['domain_id'], unique=False)

    op.create_table('privacy_visitor_day',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('domain_id', sa.Uuid(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('requests', sa.BigInteger(), nullable=False),
    sa.Column('bytes', sa.BigInteger(), nullable=False),
    sa.Column('visitors', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['domain_id'], ['domain.id'], name=op.f('fk_privacy_visitor_day_domain_id_domain'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_visitor_day')),
    sa.UniqueConstraint('domain_id', 'day', name=op.f('uq_privacy_visitor_day_domain_id'))
    )
    with op.batch_alter_table('privacy_visitor_day', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_privacy_visitor_day_day'), ['day'], unique=False)

    op.create_table('privacy_visitor_net',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('domain_id', sa.Uuid(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('net', sa.String(length=48), nullable=False),
    sa.ForeignKeyConstraint(['domain_id'], ['domain.id'], name=op.f('fk_privacy_visitor_net_domain_id_domain'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_visitor_net')),
    sa.UniqueConstraint('domain_id', 'day', 'net', name=op.f('uq_privacy_visitor_net_domain_id'))
    )
    with op.batch_alter_table('privacy_visitor_net', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_privacy_visitor_net_day'), ['day'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('privacy_visitor_net', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_privacy_visitor_net_day'))

    op.drop_table('privacy_visitor_net')
    with op.batch_alter_table('privacy_visitor_day', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_privacy_visitor_day_day'))

    op.drop_table('privacy_visitor_day')
    with op.batch_alter_table('privacy_log_import', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_privacy_log_import_domain_id'))
        batch_op.drop_index(batch_op.f('ix_privacy_log_import_at'))

    op.drop_table('privacy_log_import')
    with op.batch_alter_table('privacy_legal_hold', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_privacy_legal_hold_released_at'))
        batch_op.drop_index(batch_op.f('ix_privacy_legal_hold_account_id'))

    op.drop_table('privacy_legal_hold')
    with op.batch_alter_table('privacy_cookie_consent', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_privacy_cookie_consent_user_id'))
        batch_op.drop_index(batch_op.f('ix_privacy_cookie_consent_at'))
        batch_op.drop_index(batch_op.f('ix_privacy_cookie_consent_account_id'))

    op.drop_table('privacy_cookie_consent')
    with op.batch_alter_table('privacy_activity_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_privacy_activity_event_user_id'))
        batch_op.drop_index(batch_op.f('ix_privacy_activity_event_at'))
        batch_op.drop_index('ix_privacy_activity_event_account_at')

    op.drop_table('privacy_activity_event')
    with op.batch_alter_table('privacy_known_device', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_privacy_known_device_user_id'))
        batch_op.drop_index(batch_op.f('ix_privacy_known_device_last_seen'))
        batch_op.drop_index(batch_op.f('ix_privacy_known_device_device_hash'))

    op.drop_table('privacy_known_device')
    with op.batch_alter_table('privacy_purge_run', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_privacy_purge_run_started_at'))

    op.drop_table('privacy_purge_run')
    with op.batch_alter_table('privacy_page_view', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_privacy_page_view_day'))

    op.drop_table('privacy_page_view')
