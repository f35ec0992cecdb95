"""WSGI entry point for gunicorn: ``gunicorn 'panel.wsgi:app'``.

Checks the schema and the master key at start-up, so a bad deployment fails at once.
"""

from panel.app import create_app

app = create_app(check_database=True)
