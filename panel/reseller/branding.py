"""White label (P25): a reseller's customers see the reseller's brand, not the host's.

The brand shows in the panel (name, logo, colour, support and privacy contact) and in the
From name and footer of mail the reseller sends its customers. Mail the host sends itself
(transactional notices) keeps the host's name.

Logos are the risky part: an upload is accepted only when its first bytes say PNG, JPEG or
GIF and Pillow decodes it within the size and pixel limits; it is then re-encoded to PNG, so
what is stored and served is an image the panel wrote (no SVG, no polyglot, no metadata).
"""

from __future__ import annotations

import hashlib
import io
import re
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email
from flask_login import current_user
from sqlalchemy import select

from panel import audit
from panel.accounts.models import Account
from panel.audit import AuditEvent
from panel.auth.models import RESELLER, SUBSCRIBER, User
from panel.db_types import utcnow
from panel.extensions import db
from panel.mail.outbox import FROM_NAME_HEADER  # the outbox turns it into the From name
from panel.reseller.models import ResellerBrand

LOGO_MAX_BYTES = 200 * 1024
LOGO_MAX_WIDTH, LOGO_MAX_HEIGHT = 800, 400
LOGO_MIN_SIDE = 16
MAGIC = ((b"\x89PNG\r\n\x1a\n", "PNG"), (b"\xff\xd8\xff", "JPEG"), (b"GIF87a", "GIF"),
         (b"GIF89a", "GIF"))
COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
#: Ready-made colours the branding page offers beside the picker: choosing one changes the
#: preview at once, in CSS alone (``:has(:checked)``, see ``swatch_css``). Each keeps white
#: button text readable (WCAG AA contrast of 4.5:1 or more).
SWATCHES = (("#0b5cad", "Blue"), ("#0b6e4f", "Green"), ("#6f42c1", "Purple"),
            ("#b3261e", "Red"), ("#8a4b00", "Brown"), ("#1b1f24", "Black"))
SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?")
#: Paths under /login/ the panel itself uses: never a brand's.
RESERVED_SLUGS = frozenset({"verify", "passkey", "passkeys"})
NAME_MAX = 80
URL_MAX = 500


class BrandError(ValueError):
    """A brand setting that cannot be used; the message is for the reseller."""


@dataclass(frozen=True)
class Brand:
    """What a page or a message shows of a reseller's brand."""

    reseller_id: uuid.UUID
    name: str
    colour: str | None
    support_email: str | None
    privacy_url: str | None
    has_logo: bool
    logo_version: str
    slug: str | None = None

    @property
    def privacy_contact(self) -> str | None:
        return self.support_email


# --- validation -------------------------------------------------------------------------------


def swatch_css() -> str:
    """The live preview of each ready-made colour: while its radio button is checked, the
    preview wears it. A style sheet, not a script: the CSP allows neither inline."""
    rules = []
    for colour, _ in SWATCHES:
        on = f'main:has(input[name="swatch"][value="{colour}"]:checked) .brand-preview'
        rules.append(f".swatch-{colour[1:]}::before {{ background:{colour}; }}")
        rules.append(f"{on} {{ border-top-color:{colour}; }}")
        rules.append(f"{on} .preview-name {{ color:{colour}; }}")
        rules.append(f"{on} .preview-button {{ background:{colour}; border-color:{colour}; }}")
    return "\n".join(rules) + "\n"


def clean_colour(value: str | None) -> str | None:
    value = (value or "").strip()
    if not value:
        return None
    if not COLOUR.fullmatch(value):
        raise BrandError("Write the colour as # and six hexadecimal digits, like #0b5cad.")
    return value.lower()


def slugify(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40].strip("-")


def clean_slug(value: str | None, name: str) -> str | None:
    """The sign-in address's last part: given, or made from the brand name."""
    value = (value or "").strip().lower() or slugify(name)
    if not value:
        return None
    if not SLUG.fullmatch(value) or value in RESERVED_SLUGS:
        raise BrandError("The sign-in address may use lower-case letters, digits and hyphens "
                         "(up to 40), like harbour-web.")
    return value


def clean_url(value: str | None) -> str | None:
    value = (value or "").strip()
    if not value:
        return None
    if len(value) > URL_MAX:
        raise BrandError(f"The privacy-policy address can be at most {URL_MAX} characters.")
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname or any(c.isspace() for c in value):
        raise BrandError("The privacy-policy address must be a full https:// address.")
    if parts.username or parts.password:
        raise BrandError("The privacy-policy address may not contain a user name or password.")
    return value


def clean_email(value: str | None) -> str | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return validate_email(value, check_deliverability=False, test_environment=True).normalized
    except EmailNotValidError:
        raise BrandError("The support email is not a valid email address.") from None


def clean_logo(data: bytes) -> tuple[bytes, int, int]:
    """The upload re-encoded as PNG, with its width and height; BrandError when refused."""
    if not data:
        raise BrandError("The logo file is empty.")
    if len(data) > LOGO_MAX_BYTES:
        raise BrandError(f"The logo is {len(data) // 1024} kB; the limit is "
                         f"{LOGO_MAX_BYTES // 1024} kB.")
    kind = next((name for magic, name in MAGIC if data.startswith(magic)), None)
    if kind is None:
        raise BrandError("Upload a PNG, JPEG or GIF image. SVG and other formats are not "
                         "accepted (SVG files can carry scripts).")
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data), formats=[kind]) as img:
            width, height = img.size  # read from the header, before anything is decoded
            if not (LOGO_MIN_SIDE <= width <= LOGO_MAX_WIDTH
                    and LOGO_MIN_SIDE <= height <= LOGO_MAX_HEIGHT):
                raise BrandError(f"The logo is {width}×{height} pixels; it must be between "
                                 f"{LOGO_MIN_SIDE} and {LOGO_MAX_WIDTH}×{LOGO_MAX_HEIGHT}.")
            img.load()
            out = io.BytesIO()
            img.convert("RGBA").save(out, "PNG", optimize=True)
    except BrandError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise BrandError("The logo could not be read as an image: it may be damaged.") from None
    return out.getvalue(), width, height


# --- reading ----------------------------------------------------------------------------------


def settings(reseller_id: uuid.UUID) -> ResellerBrand | None:
    return db.session.execute(select(ResellerBrand).where(
        ResellerBrand.reseller_id == reseller_id)).scalar_one_or_none()


def brand_of(reseller_id: uuid.UUID | None) -> Brand | None:
    """A reseller's brand, named after the reseller when it has not set a name."""
    if reseller_id is None:
        return None
    reseller = db.session.get(User, reseller_id)
    if reseller is None or reseller.role != RESELLER:
        return None
    row = settings(reseller_id)
    return Brand(reseller_id=reseller_id, slug=row.slug if row else None,
                 name=(row.name if row and row.name else reseller.label),
                 colour=row.colour if row else None,
                 support_email=row.support_email if row else None,
                 privacy_url=row.privacy_url if row else None,
                 has_logo=bool(row and row.logo),
                 logo_version=(row.logo_sha256 or "")[:12] if row else "")


def brand_for(user: Any) -> Brand | None:
    """The brand ``user`` sees: a reseller's customer sees the reseller's; a reseller its own."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    if user.role == RESELLER:
        return brand_of(user.id)
    if user.role == SUBSCRIBER and user.account is not None:
        return brand_of(user.account.reseller_id)
    return None


def brand_by_slug(slug: str) -> Brand | None:
    row = db.session.execute(select(ResellerBrand).where(
        ResellerBrand.slug == slug.lower()[:40])).scalar_one_or_none()
    return brand_of(row.reseller_id) if row else None


def host_slugs(config: dict[str, Any]) -> dict[str, str]:
    """BRAND_HOSTS as {host name: slug}, from "host=slug,..." or a table."""
    value = config.get("BRAND_HOSTS") or {}
    if isinstance(value, str):
        pairs = [p.split("=", 1) for p in value.split(",") if "=" in p]
        value = {h: s for h, s in pairs}
    return {str(h).strip().lower(): str(s).strip().lower() for h, s in dict(value).items()}


def sign_in_brand(slug: str | None, host: str, config: dict[str, Any]) -> Brand | None:
    """The brand of a sign-in page: /login/<slug>, or a host name mapped in BRAND_HOSTS."""
    if slug is None:
        slug = host_slugs(config).get(host.split(":", 1)[0].lower())
    return brand_by_slug(slug) if slug else None


def brand_by_logo(version: str) -> ResellerBrand | None:
    """A logo by its version (its digest's first 12 hex digits), for a sign-in page, where
    nobody is signed in yet; a logo is public, shown on that page."""
    if not re.fullmatch(r"[0-9a-f]{12}", version or ""):
        return None
    return db.session.execute(select(ResellerBrand).where(
        ResellerBrand.logo_sha256.startswith(version)).limit(1)).scalar_one_or_none()


def email_pre_send(message: Any, headers: dict[str, str]) -> None:
    """Mail to a reseller's customer carries the reseller's name as its From name, whoever
    wrote it (the host's notices included): the customer never meets the host (issue 15)."""
    if FROM_NAME_HEADER in headers or message.account_id is None or not message.to_addr:
        return
    account = db.session.get(Account, message.account_id)
    if account is None or account.reseller_id is None or account.user is None:
        return
    if (account.user.email or "").lower() != message.to_addr.lower():
        return  # a notice about the customer to someone else (the host's staff)
    brand = brand_of(account.reseller_id)
    if brand is not None:
        headers[FROM_NAME_HEADER] = " ".join(brand.name.split())[:NAME_MAX]


def mail_branding(reseller_id: uuid.UUID) -> tuple[dict[str, str], str]:
    """Headers and body footer for mail a reseller sends its customer (never host mail)."""
    brand = brand_of(reseller_id)
    if brand is None:
        return {}, ""
    lines = ["", "--", brand.name]
    if brand.support_email:
        lines.append(f"Support: {brand.support_email}")
    if brand.privacy_url:
        lines.append(f"Privacy policy: {brand.privacy_url}")
    name = " ".join(brand.name.split())[:NAME_MAX]
    return {FROM_NAME_HEADER: name}, "\n".join(lines)


def context() -> dict[str, Any]:
    """Template context for every page: ``brand`` is None for the house's own people."""
    try:
        return {"brand": brand_for(current_user)}
    except RuntimeError:  # no request (mail templates rendered by jobs)
        return {"brand": None}


# --- saving -----------------------------------------------------------------------------------


def save(reseller: User, *, name: str, colour: str | None, support_email: str | None,
         privacy_url: str | None, logo: bytes | None = None, remove_logo: bool = False,
         slug: str | None = None) -> list[str]:
    """Validate everything first, then store; returns the names of what changed."""
    name = " ".join((name or "").split())
    if len(name) > NAME_MAX:
        raise BrandError(f"The brand name can be at most {NAME_MAX} characters.")
    slug = clean_slug(slug, name or reseller.label)
    taken = slug and db.session.execute(select(ResellerBrand.id).where(
        ResellerBrand.slug == slug, ResellerBrand.reseller_id != reseller.id)).first()
    if taken:
        raise BrandError(f"The sign-in address /login/{slug} is taken; choose another.")
    values: dict[str, Any] = {"name": name or None, "slug": slug, "colour": clean_colour(colour),
                              "support_email": clean_email(support_email),
                              "privacy_url": clean_url(privacy_url)}
    if logo:
        png, width, height = clean_logo(logo)
        values.update(logo=png, logo_sha256=hashlib.sha256(png).hexdigest(),
                      logo_width=width, logo_height=height)
    elif remove_logo:
        values.update(logo=None, logo_sha256=None, logo_width=None, logo_height=None)
    row = settings(reseller.id) or ResellerBrand(id=uuid.uuid4(), reseller_id=reseller.id)
    changed = [k for k, v in values.items()
               if k not in ("logo_sha256", "logo_width", "logo_height") and getattr(row, k) != v]
    for key, value in values.items():
        setattr(row, key, value)
    row.updated_at = utcnow()
    db.session.add(row)
    if changed:  # what the reseller's customers see changed: names only, never values
        audit.record(AuditEvent("reseller.brand_update", actor=reseller,
                                object=f"white label of reseller {reseller.id}", fields=changed))
    db.session.commit()
    return changed
