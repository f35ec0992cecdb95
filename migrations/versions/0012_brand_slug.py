"""a reseller's own sign-in address, /login/<slug> (white label, issue 15)

Revision ID: 0012_brand_slug
Revises: 0011_limits
Create Date: 2026-12-30 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0012_brand_slug'
down_revision = '0011_limits'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('reseller_brand', sa.Column('slug', sa.String(length=40), nullable=True))
    op.create_index(op.f('ix_reseller_brand_slug'), 'reseller_brand', ['slug'], unique=True)


def downgrade() -> None:
    op.drop_index(op.f('ix_reseller_brand_slug'), table_name='reseller_brand')
    op.drop_column('reseller_brand', 'slug')
