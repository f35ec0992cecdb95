"""passkeys (WebAuthn credentials) and their single-use challenges

Revision ID: 0010_passkeys
Revises: 0009_sessions
Create Date: 2026-12-10 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import panel.db_types

revision = '0010_passkeys'
down_revision = '0009_sessions'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('passkey',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('credential_id', sa.String(length=1400), nullable=False),
    sa.Column('public_key', sa.LargeBinary(), nullable=False),
    sa.Column('sign_count', sa.BigInteger(), nullable=False),
    sa.Column('transports', sa.JSON(), nullable=True),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('aaguid', sa.String(length=36), nullable=True),
    sa.Column('backed_up', sa.Boolean(), nullable=False),
    sa.Column('created_at', panel.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', panel.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_passkey_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_passkey')),
    sa.UniqueConstraint('credential_id', name=op.f('uq_passkey_credential_id'))
    )
    op.create_index(op.f('ix_passkey_user_id'), 'passkey', ['user_id'], unique=False)
    op.create_table('passkey_challenge',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('purpose', sa.String(length=16), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=True),
    sa.Column('challenge', sa.String(length=128), nullable=False),
    sa.Column('expires_at', panel.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_passkey_challenge_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_passkey_challenge'))
    )
    op.create_index(op.f('ix_passkey_challenge_expires_at'), 'passkey_challenge', ['expires_at'], unique=False)
    op.create_index(op.f('ix_passkey_challenge_user_id'), 'passkey_challenge', ['user_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_passkey_challenge_user_id'), table_name='passkey_challenge')
    op.drop_index(op.f('ix_passkey_challenge_expires_at'), table_name='passkey_challenge')
    op.drop_table('passkey_challenge')
    op.drop_index(op.f('ix_passkey_user_id'), table_name='passkey')
    op.drop_table('passkey')
