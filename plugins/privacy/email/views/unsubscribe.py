"""Links in mail, without signing in (P14): /unsubscribe/<token> and /email-preferences/<token>.

``/unsubscribe/<token>`` takes a one-click link (the List-Unsubscribe header's): GET (and HEAD,
which Flask answers with the GET view) only shows a confirmation page, because link scanners
follow and probe links; only POST with ``List-Unsubscribe=One-Click`` (RFC 8058) unsubscribes,
at once, answering 200. That POST is exempt from CSRF, and accepts nothing else: CSRF protects
requests that ride on a visitor's cookies, while this one carries its authority in the URL,
which only the recipient has. So the confirmation button on the GET page sends the very same
one-click POST. A revoked one-click link still unsubscribes; its page says it was revoked and
offers nothing else. A person's browser (its Accept header names HTML) gets the "you are
unsubscribed" page; a mail provider's RFC 8058 POST, which nobody reads, gets the same 200 as
one short line of plain text, without rendering a page or minting a preference-centre link.

``/email-preferences/<token>`` takes a live preference-centre link (the footer's): the centre,
a CSRF-protected form. Neither signs anyone in: the token changes email preferences and
nothing else. A change made through a link is the subscriber's on the trail: the link was
sent to them.
"""

from __future__ import annotations

from typing import Any

import limits
from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for

from panel.bodies import body_limit
from panel.extensions import csrf, db, limiter
from plugins.privacy.email.services import preferences as email_prefs
from plugins.privacy.email.services import unsubscribe
from plugins.privacy.email.services.unsubscribe import Link, LinkError
from plugins.privacy.email.views.preferences import PreferencesForm, apply_form, centre_context

bp = Blueprint("privacy_unsubscribe", __name__, template_folder="../templates")

MAX_ONE_CLICK_BYTES = 4096
ONE_CLICK = "One-Click"
LINK_MESSAGES = {
    "invalid": "This link is not valid. Copy the whole link from the email, or sign in to "
               "change your email preferences.",
    "revoked": "This link was revoked. Use the link in a newer email, or sign in to change "
               "your email preferences.",
    "erased": "This link no longer works: the account it belonged to was closed.",
    "not-one-click": "This link opens your email preferences; it does not unsubscribe by "
                     "itself. Open it to choose which emails you get.",
    "not-centre": "This is an unsubscribe link: it cannot open your email preferences. Use "
                  "the link at the foot of the email, or sign in to change your email "
                  "preferences.",
}


def _refuse(error: LinkError) -> Any:
    """Count a bad link against the sender's IP; real unsubscribes are never counted."""
    limit = limits.parse(current_app.config["UNSUBSCRIBE_BAD_LIMIT_PER_IP"])
    if not limiter.limiter.hit(limit, "privacy-unsubscribe-bad", request.remote_addr or "-"):
        return render_template("privacy/email/link_error.html",
                               message="Too many invalid links from your address: wait a "
                                       "minute and try again."), 429
    return render_template("privacy/email/link_error.html",
                           message=LINK_MESSAGES[error.kind],
                           sign_in=error.kind in ("revoked", "not-centre")), 404


def _resolve(token: str, resolver: Any = unsubscribe.resolve_centre) -> Link | Any:
    try:
        return resolver(token)
    except LinkError as exc:
        return _refuse(exc)


def _subscriber(link: Link) -> Any:
    """Who a change through a link is recorded as: the subscriber it was sent to."""
    return link.subscriber()


def _label(link: Link) -> str:
    return f"{email_prefs.label_of(link.category or '').lower()} email"


def _wants_page() -> bool:
    """A browser's form POST names HTML in Accept; a mail provider's one-click POST (RFC 8058)
    does not (none, or ``*/*``): it is answered in plain text."""
    return any(kind in ("text/html", "application/xhtml+xml") and quality > 0
               for kind, quality in request.accept_mimetypes)


def _one_click_page(link: Link, token: str, *, done: bool) -> str:
    centre = None if link.revoked else url_for(
        ".centre", token=unsubscribe.make(link.account_id, gen=link.generation))
    return render_template("privacy/email/unsubscribe.html", what=_label(link), token=token,
                           done=done, revoked=link.revoked, centre_url=centre)


@bp.route("/unsubscribe/<path:token>", methods=["GET", "POST"])
@csrf.exempt
@body_limit(MAX_ONE_CLICK_BYTES)
def one_click(token: str) -> Any:
    if request.method == "POST":
        return _one_click_post(token)
    link = _resolve(token, unsubscribe.resolve_one_click)  # GET and HEAD: show, change nothing
    if not isinstance(link, Link):
        return link
    return _one_click_page(link, token, done=False)


def _one_click_post(token: str) -> Any:
    if request.form.get("List-Unsubscribe") != ONE_CLICK:
        return render_template("privacy/email/link_error.html",
                               message="This address accepts only a one-click unsubscribe: "
                                       "a POST with the body List-Unsubscribe=One-Click."), 400
    link = _resolve(token, unsubscribe.resolve_one_click)
    if not isinstance(link, Link):
        return link
    assert link.category is not None  # resolve_one_click refuses a preference-centre link
    changed = []
    if email_prefs.category(link.category, link.ref) is not None:
        # the subscriber is loaded only if something is written (a repeated POST writes nothing)
        changed = email_prefs.change(link.ref, {link.category: False}, "one-click",
                                     actor=link.subscriber, latest={link.category: link.latest})
    if _wants_page():
        page = _one_click_page(link, token, done=True)  # before the commit expires the account
    else:
        page = Response(f"You are unsubscribed: you will get no more {_label(link)} from us.\n",
                        mimetype="text/plain")
    if changed:  # a repeated POST wrote nothing: nothing to commit
        db.session.commit()
    return page


@bp.route("/email-preferences/<path:token>", methods=["GET", "POST"])
def centre(token: str) -> Any:
    link = _resolve(token)
    if not isinstance(link, Link):
        return link
    form = PreferencesForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            error = apply_form(link.account, form, "preference-centre",
                               actor=_subscriber(link))
            if error is None:
                flash("Your email preferences were saved.")
                return redirect(url_for(".centre", token=token))
            form.form_errors.append(error)
        status = 400
    return render_template("privacy/email/prefs.html", form=form, tokened=True,
                           action=url_for(".centre", token=token),
                           all_action=url_for(".centre_all", token=token),
                           **centre_context(link.account)), status


@bp.route("/email-preferences/<path:token>/all", methods=["POST"])
def centre_all(token: str) -> Any:
    link = _resolve(token)
    if not isinstance(link, Link):
        return link
    form = PreferencesForm()
    if not form.validate_on_submit():
        return redirect(url_for(".centre", token=token))
    email_prefs.unsubscribe_all(link.account, "preference-centre", actor=_subscriber(link))
    db.session.commit()
    flash("You are unsubscribed from all marketing email.")
    return redirect(url_for(".centre", token=token))
