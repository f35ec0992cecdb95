"""Re-exports the real SMTP fixtures (aiosmtpd) and the browser fixtures (Playwright)."""

from tests.core.mail.conftest import clock, register_plugin, smtp  # noqa: F401
