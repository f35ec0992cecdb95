"""reseller customers who never chose a password are marked as such (no schema change)

Before this revision a reseller's new customer got the argon2 hash of a random password, which
looks like a chosen one. Invitations may now set a password only while the stored value starts
with "!" (panel.auth.passwords.NOT_CHOSEN). A reseller's customer who has never signed in is
taken to have no password of their own: their invitation links from before stop working, and
the reseller sends a new one. (A customer who set a password and never signed in since is in
this group too; a new invitation lets them set it again.) The downgrade restores the hashes.

Revision ID: 0006_auth
Revises: 0005_reseller
Create Date: 2026-11-30 12:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = '0006_auth'
down_revision = '0005_reseller'
branch_labels = None
depends_on = None

MARK = "!legacy:"


def upgrade() -> None:
    op.execute(
        "UPDATE \"user\" SET password_hash = '" + MARK + "' || password_hash "
        "WHERE role = 'subscriber' AND last_login_at IS NULL "
        "AND password_hash NOT LIKE '!%' "
        "AND account_id IN (SELECT id FROM account WHERE reseller_id IS NOT NULL)")


def downgrade() -> None:
    op.execute(
        "UPDATE \"user\" SET password_hash = substr(password_hash, " + str(len(MARK) + 1) + ") "
        "WHERE password_hash LIKE '" + MARK + "%'")
