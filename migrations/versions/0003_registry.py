"""registry data for WHOIS and RDAP: the domain's registrar and when it last changed

Revision ID: 0003_registry
Revises: 0002_totp
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import panel.db_types

revision = '0003_registry'
down_revision = '0002_totp'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('domain', schema=None) as batch_op:
        batch_op.add_column(sa.Column('registrar', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('updated_at', panel.db_types.UTCDateTime(timezone=True),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('domain', schema=None) as batch_op:
        batch_op.drop_column('updated_at')
        batch_op.drop_column('registrar')
