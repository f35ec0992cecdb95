"""Staff access to an account (P16-P18): access sessions, the lockbox, acting as the
customer, the support-credential vault and the tamper-evident trail."""
