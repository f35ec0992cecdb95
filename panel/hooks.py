"""The running app's plugin host, for everything below it: services, views, the audit trail.

``panel.plugins`` builds the host and registers the blueprints, so it sits above every view.
What views and services need from it at run time is reached through ``current_app`` here,
which imports nothing of the panel's, so no import ever points back up to the host.
"""

from __future__ import annotations

from typing import Any

from flask import current_app


def host() -> Any:
    """The app's ``panel.plugins.PluginHost`` (which plugins are installed and active)."""
    return current_app.extensions["panel.plugins"]


def hook() -> Any:
    """The hook caller honouring activation: ``hook().panel_account_created(...)``."""
    return host().hook
