"""Sign-in, sign-out and password change."""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from panel.auth.access import home_url
from panel.auth.forms import LoginForm, PasswordForm
from panel.auth.models import User, new_session_token
from panel.auth.passwords import hash_password, needs_rehash, verify
from panel.crypto import normalise
from panel.db_types import utcnow
from panel.extensions import db, limiter
from panel.plugins import hook

bp = Blueprint("auth", __name__)

WRONG = "The email address or password is not right."


def _account_key() -> str:
    """Rate-limit key per account, hashed so the limiter's storage holds no addresses."""
    email = normalise.email(request.form.get("email", "")[:254])
    return "login-account:" + hashlib.sha256(email.encode()).hexdigest()


def _failed(response: Any) -> bool:
    return response.status_code != 302


def _safe_next(target: str | None) -> str | None:
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_IP"], methods=["POST"],
               deduct_when=_failed)
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"], methods=["POST"],
               key_func=_account_key, deduct_when=_failed)
def login() -> Any:
    if current_user.is_authenticated:
        return redirect(home_url(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        user = db.session.execute(
            select(User).where(User.email.matches(form.email.data))).scalar_one_or_none()
        if verify(user.password_hash if user else None, form.password.data) and user:
            if not user.active:
                form.email.errors = ["This account is suspended. Contact support."]
                return render_template("auth/login.html", form=form), 403
            if needs_rehash(user.password_hash):
                user.password_hash = hash_password(form.password.data)
            user.last_login_at = utcnow()
            db.session.commit()
            session.clear()  # rotate: nothing from before sign-in survives, CSRF token included
            login_user(user)
            hook().panel_user_login(user=user, method="password")
            db.session.commit()
            return redirect(_safe_next(request.args.get("next")) or home_url(user))
        form.password.errors = [WRONG]
        return render_template("auth/login.html", form=form), 200
    status = 400 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    logout_user()
    session.clear()
    flash("You have signed out.")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def password() -> Any:
    form = PasswordForm()
    if form.validate_on_submit():
        user: User = current_user._get_current_object()  # type: ignore[attr-defined]
        if not verify(user.password_hash, form.current.data):
            form.current.errors = ["That is not your current password."]
            return render_template("auth/password.html", form=form), 400
        user.password_hash = hash_password(form.new.data)
        user.session_token = new_session_token()  # every other session ends here
        db.session.commit()
        session.clear()
        login_user(user)
        flash("Password changed. Every other session has been signed out.")
        return redirect(home_url(user))
    return render_template("auth/password.html", form=form), 400 if request.method == "POST" else 200
