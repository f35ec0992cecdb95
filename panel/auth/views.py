"""Sign-in, sign-out and password change."""

from __future__ import annotations

import hashlib
import time
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from panel import audit
from panel.audit import AuditEvent
from panel.auth import totp
from panel.auth.access import home_url, load_user
from panel.auth.forms import CodeForm, LoginForm, PasswordForm
from panel.auth.models import MFA_ROLES, User
from panel.auth.passwords import hash_password, needs_rehash
from panel.auth.passwords import verify as check_password
from panel.auth.services import sign_out_everywhere
from panel.auth.signin import MFA_KEY, MFA_WINDOW_SECONDS, finish_sign_in
from panel.crypto import normalise
from panel.extensions import db, limiter
from panel.hooks import hook
from panel.reseller import branding
from panel.urls import local_target

bp = Blueprint("auth", __name__)

PENDING_SECRET = "totp_pending_secret"
ENROL_ALLOWED = frozenset({"auth.totp_setup", "auth.logout", "auth.login", "static",
                           "public.healthz", "public.readyz"})

WRONG = "The email address or password is not right."


def _account_key() -> str:
    """Rate-limit key per account, hashed so the limiter's storage holds no addresses."""
    email = normalise.email(request.form.get("email", "")[:254])
    return "login-account:" + hashlib.sha256(email.encode()).hexdigest()


def _failed(response: Any) -> bool:
    return response.status_code != 302



@bp.route("/login", methods=["GET", "POST"])
@bp.route("/login/<slug>", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_IP"], methods=["POST"],
               deduct_when=_failed)
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"], methods=["POST"],
               key_func=_account_key, deduct_when=_failed)
def login(slug: str | None = None) -> Any:
    """A reseller's customers sign in at /login/<brand slug> (or on a host name mapped in
    BRAND_HOSTS) and see their provider's brand there, not the host's."""
    if current_user.is_authenticated:
        return redirect(home_url(current_user))
    brand = branding.sign_in_brand(slug, request.host, current_app.config)
    if slug is not None and brand is None:
        abort(404)
    form = LoginForm()
    if form.validate_on_submit():
        user = db.session.execute(
            select(User).where(User.email.matches(form.email.data))).scalar_one_or_none()
        if check_password(user.password_hash if user else None, form.password.data) and user:
            if not user.active:
                hook().panel_login_failed(user=user, method="password", reason="suspended")
                db.session.commit()
                form.email.errors = ["This account is suspended. Contact support."]
                return render_template("auth/login.html", form=form, brand=brand), 403
            if needs_rehash(user.password_hash):
                user.password_hash = hash_password(form.password.data)
            target = local_target(request.args.get("next"))
            session.clear()  # rotate: nothing from before sign-in survives, CSRF token included
            if user.totp_secret:
                db.session.commit()
                session[MFA_KEY] = {"user": user.get_id(), "at": time.time(), "next": target}
                return redirect(url_for("auth.verify"))
            return _signed_in(user, "password", target)
        hook().panel_login_failed(user=user, method="password", reason="wrong_password")
        db.session.commit()
        form.password.errors = [WRONG]
        return render_template("auth/login.html", form=form, brand=brand), 200
    status = 400 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form, brand=brand), status


def _signed_in(user: User, method: str, target: str | None) -> Any:
    return finish_sign_in(user, method, target)


@bp.route("/login/verify", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"], methods=["POST"],
               key_func=lambda: "mfa:" + str((session.get(MFA_KEY) or {}).get("user", "")),
               deduct_when=_failed)
def verify() -> Any:
    """Second step for accounts with two-factor sign-in."""
    pending = session.get(MFA_KEY)
    if not pending or time.time() - pending["at"] > MFA_WINDOW_SECONDS:
        session.pop(MFA_KEY, None)
        flash("Sign in again: the code step timed out.")
        return redirect(url_for("auth.login"))
    form = CodeForm()
    user = load_user(pending["user"])
    recovery = user is not None and totp.recovery_codes_left(user) > 0
    if recovery:
        form.code.label.text = "Code from your authenticator app, or a recovery code"
    if form.validate_on_submit():
        if user is not None and totp.check(user, form.code.data):
            session.clear()
            return _signed_in(user, "password+totp", pending.get("next"))
        db.session.rollback()
        hook().panel_login_failed(user=user, method="password+totp", reason="wrong_code")
        db.session.commit()
        form.code.errors = ["That code is not right, or was already used."]
        return render_template("auth/verify.html", form=form, recovery=recovery), 200
    return render_template("auth/verify.html", form=form, recovery=recovery), \
        400 if request.method == "POST" else 200


@bp.route("/account/2fa", methods=["GET", "POST"])
@login_required
def totp_setup() -> Any:
    """Enrol an authenticator app: scan the QR code, confirm one code, keep the recovery codes."""
    user: User = current_user._get_current_object()  # type: ignore[attr-defined]
    if user.totp_secret and request.method in ("GET", "HEAD"):  # HEAD runs this view too
        return redirect(url_for("security.index"))
    secret = session.get(PENDING_SECRET) or totp.new_secret()
    session[PENDING_SECRET] = secret
    form = CodeForm()
    if form.validate_on_submit():
        codes = totp.enrol(user, secret, form.code.data)
        if codes is not None:
            audit.record(AuditEvent("mfa.enrol", actor=user, account_id=user.account_id,
                                    object="authenticator app", fields=["totp_secret"]))
            db.session.commit()
            session.pop(PENDING_SECRET, None)
            return render_template("auth/totp_done.html", codes=codes)
        db.session.rollback()
        form.code.errors = ["That code does not match: check the time on your phone and try again."]
    uri = totp.provisioning_uri(secret, user.email or "")
    status = 400 if request.method == "POST" else 200
    return render_template("auth/totp_setup.html", form=form, secret=secret,
                           qr=totp.qr_svg_data_uri(uri), required=user.role in MFA_ROLES), status


@bp.before_app_request
def _second_factor_required() -> Any:
    """Resellers, staff and admins use the panel only after enrolling a second factor."""
    if (current_user.is_authenticated and current_user.role in MFA_ROLES
            and not current_user.totp_secret and request.endpoint not in ENROL_ALLOWED):
        return redirect(url_for("auth.totp_setup"))
    return None


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    """A reseller's customer lands on their provider's sign-in page, not the host's."""
    brand = branding.brand_for(current_user)
    logout_user()
    session.clear()
    flash("You have signed out.")
    if brand is not None and brand.slug and not branding.host_slugs(current_app.config).get(
            request.host.split(":", 1)[0].lower()):
        return redirect(url_for("auth.login", slug=brand.slug))
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def password() -> Any:
    form = PasswordForm()
    if form.validate_on_submit():
        user: User = current_user._get_current_object()  # type: ignore[attr-defined]
        if not check_password(user.password_hash, form.current.data):
            form.current.errors = ["That is not your current password."]
            return render_template("auth/password.html", form=form), 400
        user.password_hash = hash_password(form.new.data)
        sign_out_everywhere(user)  # every session ends here; this browser signs in again below
        audit.record(AuditEvent("password.change", actor=user, account_id=user.account_id,
                                object="password", fields=["password"]))
        db.session.commit()
        session.clear()
        login_user(user)
        flash("Password changed. Every other session has been signed out.")
        return redirect(home_url(user))
    return render_template("auth/password.html", form=form), 400 if request.method == "POST" else 200
