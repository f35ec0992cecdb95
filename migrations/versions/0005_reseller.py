"""reseller white label: brand name, logo, colour, support email, privacy-policy URL

Revision ID: 0005_reseller
Revises: 0004_closure
Create Date: 2026-11-23 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import panel.db_types

revision = '0005_reseller'
down_revision = '0004_closure'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('reseller_brand',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('reseller_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=True),
    sa.Column('colour', sa.String(length=7), nullable=True),
    sa.Column('support_email', sa.Text(), nullable=True),
    sa.Column('privacy_url', sa.String(length=500), nullable=True),
    sa.Column('logo', sa.LargeBinary(), nullable=True),
    sa.Column('logo_sha256', sa.String(length=64), nullable=True),
    sa.Column('logo_width', sa.Integer(), nullable=True),
    sa.Column('logo_height', sa.Integer(), nullable=True),
    sa.Column('updated_at', panel.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['reseller_id'], ['user.id'], name=op.f('fk_reseller_brand_reseller_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reseller_brand')),
    sa.UniqueConstraint('reseller_id', name=op.f('uq_reseller_brand_reseller_id'))
    )


def downgrade() -> None:
    op.drop_table('reseller_brand')
