"""Imports every core model so the metadata (and Alembic) sees the whole core schema."""

from panel.accounts.models import Account
from panel.auth.models import User
from panel.billing.models import Invoice, PaymentMethod, Service
from panel.crypto.models import CryptoKey
from panel.domains.models import Domain, DomainContact
from panel.jobs_models import JobLock, JobRun, PluginState
from panel.mail.models import OutboxMessage
from panel.passkeys.models import Passkey, PasskeyChallenge
from panel.password_reset.models import PasswordReset
from panel.ratelimit.models import RateLimitCounter
from panel.reseller.models import ResellerBrand
from panel.sessions.models import UserSession

__all__ = ["Account", "CryptoKey", "Domain", "DomainContact", "Invoice", "JobLock", "JobRun",
           "OutboxMessage", "Passkey", "PasskeyChallenge", "PasswordReset", "PaymentMethod",
           "PluginState", "RateLimitCounter", "ResellerBrand", "Service", "User", "UserSession"]
