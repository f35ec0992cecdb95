"""The Security page: one place where every role finds its password, two-step sign-in,
recovery codes, passkeys and signed-in devices."""
