"""A hosting control panel whose privacy promises are kept in software.

The app is built by ``panel.app.create_app``; ``panel.wsgi`` serves it and ``panel.cli`` is the
`panel` command.
"""
