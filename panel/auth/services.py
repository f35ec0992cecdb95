"""What the auth feature does for the others: ending a person's sessions."""

from __future__ import annotations

from panel.auth.models import User, new_session_token


def sign_out_everywhere(user: User, keep: str | None = None) -> None:
    """End every session of ``user`` (password change or reset, suspension, erasure...); the
    caller commits. Every such path calls this one function, so a new kind of session record
    only has to be ended here. ``keep`` names a session to spare, where sessions are recorded
    one by one; with the login id alone, the caller signs the current browser in again."""
    del keep  # the login id carries the token: rotating it ends every session at once
    user.session_token = new_session_token()
