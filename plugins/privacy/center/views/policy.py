"""The privacy policy (P10), sign-up (P01, P11) and the sign-in email change (P05).

Three blueprints by audience: the public pages (/privacy, /signup, the email confirmation
link), the subscriber's pages under /client/privacy/, and the admin's under /admin/privacy/.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user

from panel.accounts import masking
from panel.auth.access import home_url, role_required
from panel.auth.models import ADMIN, SUBSCRIBER, User
from panel.db_types import today
from panel.extensions import db, limiter
from panel.hooks import host
from panel.urls import local_target
from plugins.privacy.access.services.act_as import KEY as ACTING_KEY
from plugins.privacy.center.forms import AcceptForm, ConfirmForm, EmailChangeForm, PublishForm, SignupForm
from plugins.privacy.center.models import AT_SIGNIN, PolicyVersion
from plugins.privacy.center.services import email_change, policy
from plugins.privacy.center.services import signup as signup_service
from plugins.privacy.email.services import preferences as email_prefs

SIGNUP_LIMIT = "20 per hour"
EMAIL_CHANGE_LIMIT = "5 per hour"
#: Set once this session's subscriber is known to have accepted what is in effect. The session
#: is cleared at every sign-in, so each sign-in checks again.
CHECKED_KEY = "privacy_policy_ok"

public_bp = Blueprint("privacy_policy", __name__, template_folder="../templates")
client_bp = Blueprint("privacy_policy_client", __name__, url_prefix="/client/privacy",
                      template_folder="../templates")
admin_bp = Blueprint("privacy_policy_admin", __name__, url_prefix="/admin/privacy/policy",
                     template_folder="../templates")

#: Pages a subscriber may open before accepting: the policy itself, leaving, and asking for
#: their data to be erased instead.
GATE_OPEN = frozenset({"static", "auth.logout", "public.healthz", "public.readyz",
                       "privacy_policy_client.accept"})
GATE_OPEN_BLUEPRINTS = frozenset({"privacy_policy", "privacy_requests"})


# --- the re-consent gate ----------------------------------------------------------------------


@public_bp.before_app_request
def _policy_gate() -> Any:
    """A subscriber who has not accepted the significant version in effect accepts it first."""
    if (not current_user.is_authenticated or current_user.role != SUBSCRIBER
            or request.endpoint is None or request.endpoint in GATE_OPEN
            or request.blueprint in GATE_OPEN_BLUEPRINTS
            or session.get(CHECKED_KEY) == str(current_user.id)
            or session.get(ACTING_KEY)  # staff acting as the customer cannot accept for them
            or not host().is_active("privacy")):
        return None
    if policy.pending_for(current_user) is None:
        session[CHECKED_KEY] = str(current_user.id)
        return None
    target = request.full_path.rstrip("?") if request.method in ("GET", "HEAD") else None
    return redirect(url_for("privacy_policy_client.accept", next=target))


@public_bp.app_context_processor
def _signup_link() -> dict[str, Any]:
    """Lets the core sign-in page offer sign-up only while this plugin is active."""
    def signup_url() -> str | None:
        return url_for("privacy_policy.signup") if host().is_active("privacy") else None

    return {"signup_url": signup_url}



# --- public pages -----------------------------------------------------------------------------


@public_bp.route("/privacy")
def index() -> Any:
    """The policy in effect, and every version with its date and what changed."""
    mine = (policy.history_for(current_user)
            if current_user.is_authenticated and current_user.role == SUBSCRIBER else [])
    return render_template("privacy/center/policy_index.html", current=policy.current(),
                           versions=policy.versions(), today=today(), render=policy.render,
                           mine=mine)


@public_bp.route("/privacy/<int:number>")
def version(number: int) -> Any:
    found = policy.by_number(number)
    if found is None:
        abort(404)
    return render_template("privacy/center/policy_version.html", version=found, current=policy.current(),
                           today=today(), html=policy.render(found.body))


def _signup_limit() -> str:
    return str(current_app.config.get("SIGNUP_LIMIT_PER_IP", SIGNUP_LIMIT))


def _counted(response: Any) -> bool:
    """Only attempts that reached the database count: typos in a form do not use up the limit."""
    return bool(g.get("privacy_limit_counted"))


@public_bp.route("/signup", methods=["GET", "POST"])
@limiter.limit(_signup_limit, methods=["POST"], deduct_when=_counted)
def signup() -> Any:
    """Only what P01 lists is asked for; nothing else is required, or even offered."""
    if current_user.is_authenticated:
        return redirect(home_url(current_user))
    form = SignupForm()
    if form.validate_on_submit():
        g.privacy_limit_counted = True  # an account made, or an address looked up
        try:
            user = signup_service.sign_up(first_name=form.first_name.data, last_name=form.last_name.data,
                                  email=form.email.data, phone=form.phone.data,
                                  password=form.password.data, old_enough=bool(form.old_enough.data))
        except signup_service.SignupError as exc:
            getattr(form, exc.field or "email").errors = [str(exc)]
            return _signup_form(form, 400)
        if user is not None:
            _record_signup_consent(user, form.marketing.data or [])
            db.session.commit()
        # The same page whether the address was new or already had an account (whose owner
        # was mailed instead): nobody signs in here, so nobody learns who has an account.
        return render_template("privacy/center/signup_sent.html", email=form.email.data)
    return _signup_form(form, 400 if request.method == "POST" else 200)


def _record_signup_consent(user: Any, chosen: list[str]) -> None:
    """Each box offered at sign-up is evidence (P13): ticked ones are grants; in opt-out mode an
    unticked box is a withdrawal. A box left at the default records nothing, as elsewhere."""
    offered = [c for c in email_prefs.HOUSE if c.marketing]
    for cat in offered:
        email_prefs.record(user.account, cat.key, cat.key in chosen, "sign-up", actor=user)


def _signup_form(form: SignupForm, status: int) -> Any:
    return render_template("privacy/center/signup.html", form=form, current=policy.current(),
                           upcoming=policy.upcoming_material()), status


@public_bp.route("/confirm-email/<token>", methods=["GET", "POST"])
def confirm_email(token: str) -> Any:
    """The link sent to the new address. GET only shows a button, so a mail scanner that
    fetches the link changes nothing; the POST makes the change."""
    form = ConfirmForm()
    try:
        change = email_change.pending_from_token(token)
        if form.validate_on_submit():
            user = email_change.confirm(token)
            return render_template("privacy/center/email_change_confirm.html", done=True,
                                   new_email=user.email, form=form)
    except email_change.EmailChangeError as exc:
        return render_template("privacy/center/email_change_confirm.html", error=str(exc), form=form), 400
    status = 400 if request.method == "POST" else 200
    return render_template("privacy/center/email_change_confirm.html", form=form,
                           masked=masking.email(change.new_email)), status


# --- the subscriber's pages ------------------------------------------------------------------


@client_bp.before_request
@role_required(SUBSCRIBER)
def _subscribers_only() -> None:
    return None


def _me() -> User:
    return current_user._get_current_object()  # type: ignore[attr-defined,no-any-return]


@client_bp.route("/policy/accept", methods=["GET", "POST"])
def accept() -> Any:
    """Accept the significant version in effect; nothing else opens until then."""
    me = _me()
    pending = policy.pending_for(me)
    target = local_target(request.args.get("next"))
    if pending is None:
        return redirect(target or home_url(me))
    if session.get(ACTING_KEY):
        abort(404)  # only the customer can accept
    form = AcceptForm()
    if form.validate_on_submit():
        if form.version.data != str(pending.number):  # a newer version came into effect meanwhile
            form.version.data = str(pending.number)
            flash(f"Version {pending.number} is now in effect: please read it before accepting.")
            return _accept_page(me, pending, form, 409)
        policy.accept(me, pending, AT_SIGNIN)
        session[CHECKED_KEY] = str(me.id)
        flash(f"Thank you: you accepted version {pending.number} of the privacy policy.")
        return redirect(target or home_url(me))
    form.version.data = str(pending.number)
    return _accept_page(me, pending, form, 400 if request.method == "POST" else 200)


def _accept_page(me: User, pending: PolicyVersion, form: AcceptForm, status: int) -> Any:
    return render_template("privacy/center/policy_accept.html", version=pending, form=form,
                           html=policy.render(pending.body), older=policy.history_for(me),
                           changes=policy.changes_since_accepted(me, pending)), status


def _email_change_key() -> str:
    return f"email-change:{current_user.id if current_user.is_authenticated else ''}"


def _email_change_limit() -> str:
    return str(current_app.config.get("EMAIL_CHANGE_LIMIT_PER_USER", EMAIL_CHANGE_LIMIT))


@client_bp.route("/email", methods=["GET", "POST"])
@limiter.limit(_email_change_limit, methods=["POST"], key_func=_email_change_key,
               deduct_when=_counted)
def email() -> Any:
    """Ask to change the sign-in address; it changes when the new address confirms."""
    me = _me()
    if session.get(ACTING_KEY):
        abort(404)  # staff acting as the customer may not change how they sign in
    form = EmailChangeForm()
    if form.validate_on_submit():
        g.privacy_limit_counted = True  # a password tried, or a mail sent
        try:
            email_change.request_change(me, form.email.data, form.password.data)
        except email_change.EmailChangeError as exc:
            getattr(form, exc.field or "email").errors = [str(exc)]
            return _email_page(me, form, 400)
        flash("We sent a link to the new address. Your sign-in email changes when you open it, "
              "within 24 hours.")
        return redirect(url_for(".email"))
    return _email_page(me, form, 400 if request.method == "POST" else 200)


def _email_page(me: User, form: EmailChangeForm, status: int) -> Any:
    return render_template("privacy/center/email_change.html", form=form, me=me,
                           pending=email_change.pending_for(me), cancel_form=ConfirmForm()), status


@client_bp.route("/email/cancel", methods=["POST"])
def cancel_email_change() -> Any:
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    email_change.cancel(_me())
    flash("The pending change is cancelled; its link no longer works.")
    return redirect(url_for(".email"))


# --- the admin's pages ------------------------------------------------------------------------


@admin_bp.before_request
@role_required(ADMIN)
def _admins_only() -> None:
    return None


@admin_bp.route("/", methods=["GET", "POST"])
def admin_index() -> Any:
    """Publish a version (with a preview first, if wanted) and see every version's uptake."""
    form = PublishForm()
    days = policy.notice_days()
    form.effective_on.description = (f"Leave empty for today, or {days} days ahead for a "
                                     "significant change (the earliest it may take effect).")
    preview = None
    status = 200
    if form.validate_on_submit():
        if request.form.get("action") == "preview":
            preview = policy.render(form.body.data)
        else:
            try:
                published = policy.publish(_me(), body=form.body.data, summary=form.summary.data,
                                           material=bool(form.material.data),
                                           effective_on=form.effective_on.data)
            except policy.PolicyError as exc:
                db.session.rollback()
                getattr(form, exc.field or "body").errors = [str(exc)]
                status = 400
            else:
                notice = (f" {published.notices_queued} subscribers will be told by email."
                          if published.material else "")
                flash(f"Version {published.number} is published and takes effect on "
                      f"{published.effective_on:%Y-%m-%d}.{notice}")
                return redirect(url_for(".admin_index"))
    elif request.method == "POST":
        status = 400
    return render_template("privacy/center/policy_admin.html", form=form, preview=preview,
                           versions=policy.versions(), counts=policy.acceptance_counts(),
                           today=today(), notice_days=days), status
