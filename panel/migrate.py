"""Alembic, driven from the app: core branch `panel`, plugin branches from panel_migration_dirs.

Our own few lines instead of Flask-Migrate, because the revision folders come from a hook and
`upgrade` must go to every branch head ("heads"), which Flask-Migrate's defaults do not.
"""

from __future__ import annotations

import os

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask

from panel.extensions import db
from panel.paths import MIGRATIONS


def alembic_config(app: Flask) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("path_separator", "os")
    dirs = [str(MIGRATIONS / "versions"), *app.extensions["panel.plugins"].migration_dirs()]
    cfg.set_main_option("version_locations", os.pathsep.join(dict.fromkeys(dirs)))
    cfg.attributes["app"] = app
    return cfg


def heads(app: Flask) -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config(app)).get_heads())


def current(app: Flask) -> set[str]:
    with db.engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())


def missing(app: Flask) -> set[str]:
    """Heads not yet applied. A plugin branch that depends on the core one subsumes it in
    alembic_version, so compare against everything the applied heads reach, not the heads."""
    script = ScriptDirectory.from_config(alembic_config(app))
    applied = {r.revision for r in script.revision_map._get_ancestor_nodes(
        script.revision_map.get_revisions(tuple(current(app))), include_dependencies=True)}
    return set(script.get_heads()) - applied


def is_current(app: Flask) -> bool:
    return not missing(app)


def upgrade(app: Flask, revision: str = "heads") -> None:
    command.upgrade(alembic_config(app), revision)


def downgrade(app: Flask, revision: str) -> None:
    command.downgrade(alembic_config(app), revision)
