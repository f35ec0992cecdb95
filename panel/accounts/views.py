"""Customer lists and pages shared by the reseller and admin areas (each passes its scope)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from panel import audit
from panel.accounts import masking
from panel.accounts.forms import ContactForm
from panel.accounts.models import CONTACT_FIELDS, Account
from panel.accounts.services import update_account
from panel.audit import AuditEvent
from panel.auth.models import User
from panel.domains.models import Domain
from panel.extensions import db
from panel.hooks import hook
from panel.paging import Page, keyset
from panel.tenancy import accounts, get_or_404


def customer_rows(extra: Any = None, args: Mapping[str, str] | None = None) -> Page:
    """One keyset page of the accounts in the viewer's scope, by client id, with domain
    counts, in one query; ``args`` carries the cursor when it does not come in the URL."""
    domains = (select(Domain.account_id, func.count().label("n"))
               .group_by(Domain.account_id).subquery())
    query = (accounts(current_user)
             .options(selectinload(Account.user))  # one query for every row's login
             .add_columns(func.coalesce(domains.c.n, 0))
             .outerjoin(domains, domains.c.account_id == Account.id))
    if extra is not None:
        query = query.where(extra)
    page = keyset(query, [Account.number], args=args, scalars=False, descending=False,
                  key_of=lambda row: [row[0].number])
    staff = current_user.is_staff
    page.rows = [{"account": a, "domains": n,
                  # staff pick an account by client id and a masked email; names need a session
                  "label": masking.email(a.user.email if a.user else None) if staff
                  else (a.name or "—")}
                 for a, n in page.rows]
    return page


def customer_page(template: str, account_id: str, endpoint: str) -> Any:
    """A customer's data, for a reseller (its own) or staff (as the access hook allows)."""
    account = get_or_404(current_user, Account, account_id)
    gate = hook().panel_account_access(viewer=current_user, account=account, purpose="view")
    if gate is not None:
        return gate
    form = ContactForm(data={f: getattr(account, f) or "" for f in CONTACT_FIELDS})
    status = 200
    # read-only until "Edit" (a GET link, no script): a look never risks a stray change
    editing = request.method == "POST" or request.args.get("edit") == "1"
    if request.method == "POST":
        form = ContactForm()
        if form.validate():
            changed = update_account(account, form.data, current_user)
            flash(f"Saved: {', '.join(changed)}." if changed else "Nothing changed.")
            return redirect(url_for(endpoint, account_id=account.id))
        status = 400
    login: User | None = account.user
    # whatever the method, the page below shows the customer's data: it goes on the trail
    audit.record(AuditEvent("account.view", actor=current_user, account_id=account.id,
                            object="customer page"))
    db.session.commit()
    return render_template(template, account=account, form=form, login=login,
                           editing=editing), status
