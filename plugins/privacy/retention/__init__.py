"""Retention (P21-P24): sign-in and account activity, visitor logs, the retention schedule
with legal holds, account closure and cookie consent."""
