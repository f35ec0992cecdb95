"""Privacy policy versions and re-consent (P10).

Versions are numbered 1, 2, 3... and never edited once published, so what someone accepted
can always be shown again. A version takes effect on its ``effective_on`` date, never before
an earlier version's, so "the latest version in effect" is simply the highest number whose
date has come. A significant (material) change is announced by email in advance, and each
subscriber accepts it at their first sign-in once it is in effect.
"""

from __future__ import annotations

from datetime import date, timedelta

import nh3
from flask import current_app, has_request_context, request
from markdown_it import MarkdownIt
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from panel import audit
from panel.audit import AuditEvent
from panel.auth.models import ADMIN, SUBSCRIBER, User
from panel.db_types import today, utcnow
from panel.extensions import db
from panel.mail.outbox import queue
from panel.urls import external_url
from plugins.privacy.center.models import PolicyAcceptance, PolicyVersion

NOTICE_DAYS = 30  # the default of PANEL_POLICY_NOTICE_DAYS
MAX_BODY_CHARS = 100_000
MAX_SUMMARY_CHARS = 500

# What the rendered policy may contain: formatting and links, nothing active.
_TAGS = {"p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "code", "pre",
         "blockquote", "ul", "ol", "li", "a", "table", "thead", "tbody", "tr", "th", "td", "s"}
_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}
_md = MarkdownIt("commonmark", {"html": False}).enable("table").enable("strikethrough")


class PolicyError(ValueError):
    """A version that cannot be published or accepted; the message is for the admin or user,
    and ``field`` names the form field it belongs next to, if any."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def render(markdown: str) -> Markup:
    """Markdown to safe HTML: raw HTML is escaped by the parser, and nh3 strips anything
    active that might still get through (scripts, event handlers, javascript: links)."""
    html = _md.render(markdown or "")
    clean = nh3.clean(html, tags=_TAGS, attributes=_ATTRIBUTES,
                      url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer nofollow")
    return Markup(clean)  # noqa: S704 - sanitised by nh3 just above


def notice_days() -> int:
    """How far ahead a significant change must be announced (PANEL_POLICY_NOTICE_DAYS)."""
    return int(current_app.config.get("POLICY_NOTICE_DAYS", NOTICE_DAYS))


def earliest_effective_on(material: bool) -> date:
    """A minor change may take effect at once; a significant one only after the notice."""
    return today() + timedelta(days=notice_days()) if material else today()


def versions() -> list[PolicyVersion]:
    return list(db.session.execute(
        select(PolicyVersion).order_by(PolicyVersion.number.desc())).scalars())


def by_number(number: int) -> PolicyVersion | None:
    return db.session.execute(
        select(PolicyVersion).where(PolicyVersion.number == number)).scalar_one_or_none()


def current(on: date | None = None) -> PolicyVersion | None:
    """The version in effect: the newest whose date has come."""
    return db.session.execute(
        select(PolicyVersion).where(PolicyVersion.effective_on <= (on or today()))
        .order_by(PolicyVersion.number.desc()).limit(1)).scalar_one_or_none()


def current_material(on: date | None = None) -> PolicyVersion | None:
    """The newest significant version in effect: the one everybody must have accepted."""
    return db.session.execute(
        select(PolicyVersion).where(PolicyVersion.effective_on <= (on or today()),
                                    PolicyVersion.material.is_(True))
        .order_by(PolicyVersion.number.desc()).limit(1)).scalar_one_or_none()


def publish(admin: User, *, body: str, summary: str, material: bool,
            effective_on: date | None = None) -> PolicyVersion:
    """Publish a new version; for a significant change, queue the advance notice to every
    subscriber in the same transaction, so the version never exists unannounced."""
    if admin.role != ADMIN:
        raise PolicyError("Only administrators can publish the privacy policy.")
    body, summary = (body or "").strip(), (summary or "").strip()
    if not body:
        raise PolicyError("The policy text is empty.", "body")
    if len(body) > MAX_BODY_CHARS:
        raise PolicyError(f"The policy text can be at most {MAX_BODY_CHARS:,} characters.", "body")
    if not summary:
        raise PolicyError("Say in a sentence or two what changed.", "summary")
    if len(summary) > MAX_SUMMARY_CHARS:
        raise PolicyError(f"The summary can be at most {MAX_SUMMARY_CHARS} characters.", "summary")
    effective_on = effective_on or earliest_effective_on(material)
    if effective_on < today():
        raise PolicyError("A version cannot take effect in the past: choose today or later.",
                          "effective_on")
    earliest = earliest_effective_on(material)
    if effective_on < earliest:  # the promise (P10): everyone hears of it in advance
        raise PolicyError(f"A significant change must be announced {notice_days()} days ahead: "
                          f"choose {earliest:%Y-%m-%d} or later, or publish it as a minor "
                          "change if it is one.", "effective_on")
    latest = db.session.execute(
        select(PolicyVersion).order_by(PolicyVersion.number.desc()).limit(1)).scalar_one_or_none()
    if latest is not None and effective_on < latest.effective_on:
        raise PolicyError(f"Version {latest.number} takes effect on {latest.effective_on:%Y-%m-%d}; "
                          "a later version cannot take effect before it.", "effective_on")
    version = PolicyVersion(number=(latest.number + 1) if latest else 1, body=body, summary=summary,
                            material=material, effective_on=effective_on, published_at=utcnow(),
                            published_by=admin.id, notices_queued=0)
    db.session.add(version)
    try:
        db.session.flush()  # a concurrent publish took the same number: refuse, don't guess
    except IntegrityError:
        db.session.rollback()
        raise PolicyError("Another version was published at the same moment; reload the page "
                          "and check before publishing.") from None
    if material:
        version.notices_queued = _announce(version)
    audit.record(AuditEvent("policy.publish", actor=admin,
                            object=f"privacy policy version {version.number}"
                                   + (" (significant)" if material else ""),
                            fields=["body", "summary", "effective_on"]))
    db.session.commit()
    return version


def _announce(version: PolicyVersion) -> int:
    """A service notice (transactional) to every active subscriber; returns how many."""
    link = external_url("privacy_policy.version", number=version.number)
    body = "\n".join([
        "We are making a significant change to our privacy policy.",
        "",
        f"Version {version.number} takes effect on {version.effective_on:%d %B %Y}.",
        "",
        "What changes:",
        version.summary,
        "",
        f"Read the new version: {link}",
        f"Every version and its changes: {external_url('privacy_policy.index')}",
        "",
        "From that date we will ask you to accept it the next time you sign in.",
    ])
    sent = 0
    rows = db.session.execute(
        select(User).where(User.role == SUBSCRIBER, User.active.is_(True))).scalars().all()
    for user in rows:
        address = user.email
        if not address:
            continue
        try:
            queue(to=address, subject=f"Our privacy policy changes on {version.effective_on:%d %B %Y}",
                  body=body, account_id=user.account_id)
        except ValueError:  # an address that can reach no one (e.g. an erased account)
            continue
        sent += 1
    return sent


def upcoming_material(on: date | None = None) -> PolicyVersion | None:
    """An announced significant version not in effect yet (shown to people signing up now)."""
    return db.session.execute(
        select(PolicyVersion).where(PolicyVersion.effective_on > (on or today()),
                                    PolicyVersion.material.is_(True))
        .order_by(PolicyVersion.number.desc()).limit(1)).scalar_one_or_none()


def accepted(user: User, version: PolicyVersion) -> bool:
    """Has the user accepted this version or a later one (which includes it)?"""
    return db.session.execute(
        select(func.count()).select_from(PolicyAcceptance).join(PolicyAcceptance.version)
        .where(PolicyAcceptance.user_id == user.id,
               PolicyVersion.number >= version.number)).scalar_one() > 0


def pending_for(user: User) -> PolicyVersion | None:
    """The version this subscriber must accept before using the panel, if any: the one in
    effect (what /privacy shows as current), which includes every significant change before
    it. A significant version announced for later is not asked for until its date."""
    if user.role != SUBSCRIBER:
        return None
    version = current_material()
    if version is None or accepted(user, version):
        return None
    return current() or version


def changes_since_accepted(user: User, version: PolicyVersion) -> list[PolicyVersion]:
    """Each version after the last one the user accepted, up to ``version``: what changed."""
    last = db.session.execute(
        select(func.max(PolicyVersion.number)).join(
            PolicyAcceptance, PolicyAcceptance.version_id == PolicyVersion.id)
        .where(PolicyAcceptance.user_id == user.id)).scalar_one()
    return list(db.session.execute(
        select(PolicyVersion).where(PolicyVersion.number > (last or 0),
                                    PolicyVersion.number <= version.number)
        .order_by(PolicyVersion.number.desc())).scalars())


def accept(user: User, version: PolicyVersion, method: str, *, commit: bool = True) -> PolicyAcceptance:
    """Record the acceptance (once per version) as evidence: version, time, IP."""
    if version.effective_on > today():
        raise PolicyError("This version is not in effect yet.")
    existing = db.session.execute(select(PolicyAcceptance).where(
        PolicyAcceptance.user_id == user.id, PolicyAcceptance.version_id == version.id)
    ).scalar_one_or_none()
    if existing is not None:
        return existing
    ip = request.remote_addr if has_request_context() else None
    row = PolicyAcceptance(user_id=user.id, version_id=version.id, accepted_at=utcnow(),
                           method=method, ip=ip or None)
    db.session.add(row)
    audit.record(AuditEvent("policy.accept", actor=user, account_id=user.account_id,
                            object=f"privacy policy version {version.number} ({method})",
                            fields=["policy_version"]))
    if commit:
        db.session.commit()
    return row


def acceptance_counts() -> dict[int, int]:
    """How many people accepted each version, for the admin list."""
    rows = db.session.execute(
        select(PolicyVersion.number, func.count(PolicyAcceptance.id))
        .join(PolicyAcceptance, PolicyAcceptance.version_id == PolicyVersion.id)
        .group_by(PolicyVersion.number)).all()
    return {number: count for number, count in rows}


def history_for(user: User) -> list[PolicyAcceptance]:
    return list(db.session.execute(
        select(PolicyAcceptance).where(PolicyAcceptance.user_id == user.id)
        .order_by(PolicyAcceptance.accepted_at.desc())).scalars())


def forget_ips(user: User) -> None:
    """On erasure: keep which versions were accepted and when, drop where from (P09)."""
    for row in history_for(user):
        row.ip = None
