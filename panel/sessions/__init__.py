"""Server-side session records: a signed cookie alone no longer proves a session is live.

Each sign-in gets a row (who, when, which browser, from which address, sealed); the cookie
carries only a random token whose hash names the row. Signing out, "sign out everywhere" and
"Signed-in devices" delete rows, so a copied cookie stops working at once.
"""
