"""A hosting control panel whose privacy promises are kept in software."""

from panel.app import create_app

__all__ = ["create_app"]
