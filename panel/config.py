"""Configuration: defaults < instance/panel.toml (or panel.py) < PANEL_* environment.

Kept in one place so an operator can tell where any setting came from.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import os
import tomllib
from datetime import date, datetime
from pathlib import Path
from typing import Any

#: The key `panel demo` documents for throwaway debug runs. Refused outside debug/testing.
INSECURE_DEMO_KEY = "insecure-demo-key-do-not-use-in-production"

DEFAULTS: dict[str, Any] = {
    "SECRET_KEY": None,
    "DATABASE_URL": None,  # default: sqlite file in the instance folder
    "MASTER_KEY": None,
    "MASTER_KEY_FILE": None,
    "SMTP_URL": None,
    "BASE_URL": "http://127.0.0.1:5000",
    "PLUGINS": "privacy",
    "MAIL_FROM": "Hosting Panel <no-reply@panel.test>",
    "SUPPORT_EMAIL": None,  # default: support@<MAIL_FROM domain>; a reseller's own wins for its customers
    # Where every rate limit counts (panel/ratelimit/store.py): Redis when REDIS_URL is set,
    # else the panel's database; RATELIMIT_STORAGE_URI (any `limits` URI) overrides both.
    "REDIS_URL": None,
    "RATELIMIT_STORAGE_URI": None,
    "LOGIN_LIMIT_PER_IP": "20 per minute",
    "LOGIN_LIMIT_PER_ACCOUNT": "5 per minute",
    "SIGNUP_LIMIT_PER_IP": "20 per hour",
    "RESET_LIMIT_PER_IP": "10 per hour",  # "Forgot password?" requests
    "RESET_LIMIT_PER_ADDRESS": "3 per hour",
    "EMAIL_CHANGE_LIMIT_PER_USER": "5 per hour",
    "MAX_CONTENT_LENGTH": 1024 * 1024,
    "MAIL_RETRY_SECONDS": 300,
    "MAIL_MAX_ATTEMPTS": 10,
    "DEBUG": False,
    "TESTING": False,
    # Retention schedule (issue 8): whole days or years, each a positive integer.
    "RETENTION_LOG_DAYS": 90,
    "RETENTION_IDENTITY_DOCUMENT_DAYS": 30,
    "RETENTION_EXPORT_DAYS": 7,
    "RETENTION_RELAY_SENDER_DAYS": 30,
    "RETENTION_CLOSED_ACCOUNT_DAYS": 30,
    "RETENTION_BILLING_YEARS": 7,
    "RETENTION_EVIDENCE_YEARS": 6,
    "RETENTION_BATCH_ROWS": 10000,
    "GEOIP_DATABASE": None,  # optional MaxMind GeoLite2/GeoIP2 Country .mmdb file
    # Public holidays skipped when counting business days (issue 9): ISO dates, YYYY-MM-DD.
    "PUBLIC_HOLIDAYS": [],
    # Email preferences (issue 6): "opt-in" (nothing marketing until the subscriber says yes)
    # or "opt-out"; DKIM signing when DKIM_KEY (PEM text or a file path) is set.
    "EMAIL_CONSENT_MODE": "opt-in",
    "DKIM_KEY": None,
    "DKIM_SELECTOR": "panel",
    "DKIM_DOMAIN": None,  # default: the domain of MAIL_FROM
    "UNSUBSCRIBE_MAILTO": None,  # default: unsubscribe@<MAIL_FROM domain>
    "UNSUBSCRIBE_BAD_LIMIT_PER_IP": "30 per minute",  # only invalid one-click links count
    # WHOIS privacy (issue 7): the default for new domains, the customer's answer period in a
    # complaint case, and the public WHOIS/RDAP/relay limits.
    "PRIVACY_WHOIS_DEFAULT": True,
    "PRIVACY_COMPLAINT_DAYS": 14,
    # Privacy policy (P10): a significant version takes effect at least this many days after
    # it is published, so every subscriber hears of it in advance.
    "POLICY_NOTICE_DAYS": 30,
    "WHOIS_REGISTRAR_NAME": None,  # default: the panel's own registry name
    "WHOIS_TIMEOUT": 10.0,
    "WHOIS_RATE_LIMIT": "60 per minute",
    "RDAP_RATE_LIMIT": "120 per minute",
    "WHOIS_RELAY_LIMIT_PER_IP": "5 per hour",
    "WHOIS_RELAY_LIMIT_PER_DOMAIN": "20 per day",
    # Reverse proxies whose X-Forwarded-For / -Proto are believed (addresses or networks, e.g.
    # "127.0.0.1,10.0.0.0/8"). Empty: the client's address is the connection's, always.
    "TRUSTED_PROXIES": [],
    # Who may read /metrics (issue 17): these addresses or networks (default: this machine), or
    # anyone sending "Authorization: Bearer <METRICS_TOKEN>". Everyone else gets a 404.
    "METRICS_ALLOW": ["127.0.0.0/8", "::1"],
    "METRICS_TOKEN": None,
    # A reseller's own host names (issue 15): "panel.harbour.example=harbour-web,..." (or a
    # table in panel.toml): the sign-in page reached there wears that reseller's brand.
    "BRAND_HOSTS": {},
}

RETENTION_SETTINGS = tuple(k for k in DEFAULTS if k.startswith("RETENTION_"))

# Settings read from PANEL_<NAME>. Everything else in DEFAULTS can come from the file.
ENV_NAMES = (
    "SECRET_KEY", "DATABASE_URL", "MASTER_KEY", "MASTER_KEY_FILE", "SMTP_URL", "BASE_URL",
    "PLUGINS", "MAIL_FROM", "RATELIMIT_STORAGE_URI", "DEBUG", "GEOIP_DATABASE",
    "PUBLIC_HOLIDAYS", "EMAIL_CONSENT_MODE", "DKIM_KEY", "DKIM_SELECTOR", "DKIM_DOMAIN",
    "PRIVACY_WHOIS_DEFAULT", "PRIVACY_COMPLAINT_DAYS", "WHOIS_REGISTRAR_NAME", "POLICY_NOTICE_DAYS",
    "TRUSTED_PROXIES", "METRICS_ALLOW", "METRICS_TOKEN", "REDIS_URL", "SUPPORT_EMAIL",
    "BRAND_HOSTS", *RETENTION_SETTINGS,
)


class ConfigError(RuntimeError):
    """A setting is missing or unusable; the message names the setting."""


def _coerce(name: str, value: str) -> Any:
    if name == "DEBUG":
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return value


def load(instance_path: Path, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Merge the three layers; explicit overrides (tests, create_app(config=...)) win."""
    merged = dict(DEFAULTS)
    toml_file = instance_path / "panel.toml"
    py_file = instance_path / "panel.py"
    if toml_file.exists():
        with toml_file.open("rb") as fh:
            merged.update({k.upper(): v for k, v in tomllib.load(fh).items()})
    elif py_file.exists():
        namespace: dict[str, Any] = {}
        exec(compile(py_file.read_text(), str(py_file), "exec"), namespace)  # noqa: S102 - operator's own file
        merged.update({k: v for k, v in namespace.items() if k.isupper()})
    for name in ENV_NAMES:
        env = os.environ.get(f"PANEL_{name}")
        if env is not None and (env != "" or name == "PLUGINS"):  # PANEL_PLUGINS="" means none
            merged[name] = _coerce(name, env)
    if overrides:
        merged.update(overrides)
    if not merged.get("DATABASE_URL"):
        merged["DATABASE_URL"] = f"sqlite:///{instance_path / 'panel.db'}"
    merged["SQLALCHEMY_DATABASE_URI"] = merged["DATABASE_URL"]
    if isinstance(merged["PLUGINS"], str):
        merged["PLUGINS"] = [p.strip() for p in merged["PLUGINS"].split(",") if p.strip()]
    return merged


def check(config: dict[str, Any]) -> None:
    """Refuse to start on an unsafe or incomplete configuration."""
    secret = config.get("SECRET_KEY")
    relaxed = bool(config.get("DEBUG") or config.get("TESTING"))
    if not secret:
        raise ConfigError(
            "SECRET_KEY is not set: set PANEL_SECRET_KEY or secret_key in instance/panel.toml"
        )
    if secret == INSECURE_DEMO_KEY and not relaxed:
        raise ConfigError(
            "SECRET_KEY is the published demo key: it is only accepted with DEBUG on; "
            "set PANEL_SECRET_KEY to a random value"
        )
    if len(str(secret)) < 16 and not relaxed:
        raise ConfigError("SECRET_KEY is too short: use at least 32 random characters")
    master_key(config)  # raises ConfigError when missing or malformed
    for name in RETENTION_SETTINGS:
        config[name] = positive_int(config, name, RETENTION_MAXIMA.get(name, 36_500))
    config["PUBLIC_HOLIDAYS"] = iso_dates(config, "PUBLIC_HOLIDAYS")
    config["POLICY_NOTICE_DAYS"] = positive_int(config, "POLICY_NOTICE_DAYS", 365)
    config["TRUSTED_PROXIES"] = networks(config, "TRUSTED_PROXIES")
    config["METRICS_ALLOW"] = networks(config, "METRICS_ALLOW")
    if config.get("METRICS_TOKEN") and len(str(config["METRICS_TOKEN"])) < 16:
        raise ConfigError("METRICS_TOKEN is too short: use at least 32 random characters")
    redis_url = config.get("REDIS_URL")
    if redis_url and not str(redis_url).startswith(("redis://", "rediss://", "redis+unix://")):
        raise ConfigError("PANEL_REDIS_URL must be a Redis address like redis://127.0.0.1:6379/0 "
                          "(or rediss://, redis+unix://)")


def networks(config: dict[str, Any], name: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """Addresses or networks (a list, or "10.0.0.1,10.0.0.0/8" from the environment), or a
    ConfigError naming the setting and the first bad entry."""
    value = config.get(name)
    if value is None or value == "":
        return []
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise ConfigError(f"{name} must be a list of addresses like 10.0.0.1, not {value!r}")
    found = []
    for item in items:
        if isinstance(item, ipaddress.IPv4Network | ipaddress.IPv6Network):
            found.append(item)
            continue
        try:
            found.append(ipaddress.ip_network(str(item).strip(), strict=False))
        except ValueError:
            raise ConfigError(f"{name} must list IP addresses or networks (like 10.0.0.1 or "
                              f"10.0.0.0/8); {item!r} is not one") from None
    return found


def iso_dates(config: dict[str, Any], name: str) -> list[date]:
    """A list of ISO dates (a TOML/Python list, or "2026-12-25,2026-12-26" from the
    environment), or a ConfigError naming the setting and the first bad entry."""
    value = config.get(name)
    if value is None or value == "":
        return []
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise ConfigError(f"{name} must be a list of dates like 2026-12-25, not {value!r}")
    found = []
    for item in items:
        if isinstance(item, date) and not isinstance(item, datetime):
            found.append(item)
            continue
        text = item.strip() if isinstance(item, str) else item
        try:
            if not isinstance(text, str) or len(text) != 10:
                raise ValueError
            found.append(date.fromisoformat(text))
        except ValueError:
            raise ConfigError(f"{name} must be a list of dates written YYYY-MM-DD "
                              f"(like 2026-12-25); {item!r} is not one") from None
    return sorted(set(found))


# Upper bounds: a batch must stay a short transaction (P22), and years/days must stay dates.
RETENTION_MAXIMA = {"RETENTION_BATCH_ROWS": 100_000, "RETENTION_BILLING_YEARS": 100,
                    "RETENTION_EVIDENCE_YEARS": 100}


def positive_int(config: dict[str, Any], name: str, maximum: int | None = None) -> int:
    """A whole number from 1 to ``maximum``, or a ConfigError naming the setting."""
    value = config.get(name)
    try:
        number = int(str(value).strip()) if not isinstance(value, bool) else None
    except ValueError:
        number = None
    if number is None or number < 1:
        raise ConfigError(f"{name} must be a whole number of at least 1, not {value!r}")
    if maximum is not None and number > maximum:
        raise ConfigError(f"{name} must be at most {maximum:,}, not {number:,}")
    return number


def master_key(config: dict[str, Any]) -> bytes:
    """The 32-byte master key from PANEL_MASTER_KEY (base64) or PANEL_MASTER_KEY_FILE."""
    raw = config.get("MASTER_KEY")
    source = "PANEL_MASTER_KEY"
    if not raw and config.get("MASTER_KEY_FILE"):
        path = Path(config["MASTER_KEY_FILE"])
        source = f"PANEL_MASTER_KEY_FILE ({path})"
        try:
            raw = path.read_text().strip()
        except OSError as exc:
            raise ConfigError(f"{source} cannot be read: {exc.strerror}") from None
    if not raw:
        raise ConfigError(
            "The master key is not set: set PANEL_MASTER_KEY or PANEL_MASTER_KEY_FILE "
            "(`make run` creates instance/master.key)"
        )
    try:
        key = base64.urlsafe_b64decode(str(raw).strip() + "=" * (-len(str(raw).strip()) % 4))
    except (binascii.Error, ValueError):
        raise ConfigError(f"{source} is not base64") from None
    if len(key) != 32:
        raise ConfigError(f"{source} must decode to 32 bytes, not {len(key)}")
    return key


def new_master_key() -> str:
    """A fresh master key in the form PANEL_MASTER_KEY takes."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
