"""The browser fixtures live in tests/browser_fixtures.py and are loaded once, by
tests/conftest.py: Playwright's session may exist only once per run, so no other conftest may
define or import them again."""
