"""What the sign-in pages and every other feature ask of authentication."""

from __future__ import annotations

from panel.auth.models import User, new_session_token
from panel.sessions import services as sessions
from panel.sessions.models import UserSession


def sign_out_everywhere(user: User, keep: UserSession | None = None) -> None:
    """End every session of the user's (password change, reset, suspension, closure...), or
    every one but ``keep`` (usually ``panel.sessions.services.current()``). Rotating the token
    changes the login id in every cookie; deleting the rows ends them on the server too. The
    browser that keeps its session signs in again (``login_user``) to carry the new token.
    The caller commits."""
    user.session_token = new_session_token()
    sessions.end_all(user, keep)
