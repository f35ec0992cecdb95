"""privacy policy versions, their acceptance, and pending sign-in email changes

Revision ID: 0004_policy
Revises: 0003_credentials
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import panel.db_types

revision = '0004_policy'
down_revision = '0003_credentials'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('privacy_policy_version',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('summary', sa.String(length=500), nullable=False),
    sa.Column('material', sa.Boolean(), nullable=False),
    sa.Column('effective_on', sa.Date(), nullable=False),
    sa.Column('published_at', panel.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('published_by', sa.Uuid(), nullable=True),
    sa.Column('notices_queued', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_policy_version')),
    sa.UniqueConstraint('number', name=op.f('uq_privacy_policy_version_number'))
    )
    with op.batch_alter_table('privacy_policy_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_privacy_policy_version_effective_on'), ['effective_on'], unique=False)

    op.create_table('privacy_policy_acceptance',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('version_id', sa.Uuid(), nullable=False),
    sa.Column('accepted_at', panel.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('ip', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_privacy_policy_acceptance_user_id_user'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['version_id'], ['privacy_policy_version.id'], name=op.f('fk_privacy_policy_acceptance_version_id_privacy_policy_version'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_policy_acceptance')),
    sa.UniqueConstraint('user_id', 'version_id', name=op.f('uq_privacy_policy_acceptance_user_id'))
    )
    with op.batch_alter_table('privacy_policy_acceptance', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_privacy_policy_acceptance_user_id'), ['user_id'], unique=False)

    op.create_table('privacy_email_change',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('new_email', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('requested_at', panel.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('done_at', panel.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_privacy_email_change_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_email_change'))
    )
    with op.batch_alter_table('privacy_email_change', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_privacy_email_change_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('privacy_email_change', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_privacy_email_change_user_id'))
    op.drop_table('privacy_email_change')
    with op.batch_alter_table('privacy_policy_acceptance', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_privacy_policy_acceptance_user_id'))
    op.drop_table('privacy_policy_acceptance')
    with op.batch_alter_table('privacy_policy_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_privacy_policy_version_effective_on'))
    op.drop_table('privacy_policy_version')
