"""account.profile: the sealed profile fields in one sealed envelope per row (issue 16)

The old per-field columns stay: rows keep their values there until `panel keys regroup`
(online, resumable) or their next write moves them into the group, so this revision is
instant on any size of table.

Revision ID: 0013_seal_groups
Revises: 0012_brand_slug
Create Date: 2026-11-30 15:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0013_seal_groups'
down_revision = '0012_brand_slug'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('account', sa.Column('profile', sa.Text(), nullable=True))


def downgrade() -> None:
    conn = op.get_bind()
    if conn.execute(sa.text("SELECT 1 FROM account WHERE profile IS NOT NULL LIMIT 1")).first():
        # Back into the per-field columns first, or the values would go with the column.
        from flask import current_app

        from panel.keys.regroup import ungroup
        ungroup(conn, current_app.extensions["panel.keyring"].get())
    # A plain DROP COLUMN (SQLite 3.35+): batch mode would copy and drop the account table,
    # and dropping it fires the users' foreign-key actions.
    op.drop_column('account', 'profile')
