"""The plugin host: entry-point discovery, the PANEL_PLUGINS allow-list and activation state.

Kept in ``app.extensions["panel.plugins"]``, never a module global, so two apps in one process
(tests, a CLI next to a server) each have their own. Code below the host reaches it through
``panel.hooks``.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from types import ModuleType
from typing import Any

import pluggy
from flask import Flask, g, has_request_context
from sqlalchemy import select

from panel import core_hooks, hookspecs
from panel.config import ConfigError
from panel.db_types import utcnow
from panel.extensions import OUTSIDE_TRANSACTION, db
from panel.jobs_models import PluginState

ENTRY_POINT_GROUP = "panel.plugins"
CORE = "core"


class _HookProxy:
    """``host.hook.name(...)`` calling only the activated plugins (and the core)."""

    def __init__(self, host: PluginHost) -> None:
        self._host = host

    def __getattr__(self, name: str) -> Any:
        inactive = self._host.inactive()
        if not inactive:
            return getattr(self._host.pm.hook, name)
        return self._host.pm.subset_hook_caller(
            name, remove_plugins=[self._host.modules[n] for n in inactive])


#: Asked once per request to a plugin's page: built once.
#: A plain read: it runs before the request's transaction begins (OUTSIDE_TRANSACTION).
_INACTIVE = (select(PluginState.name).where(PluginState.active.is_(False))
             .execution_options(**OUTSIDE_TRANSACTION))


class PluginHost:
    def __init__(self, allowed: list[str]) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.pm.register(core_hooks, name=CORE)
        self.modules: dict[str, ModuleType] = {}
        found = {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
        for name in allowed:
            if name not in found:
                raise ConfigError(
                    f"PANEL_PLUGINS names {name!r}, but no installed plugin has that name "
                    f"(installed: {', '.join(sorted(found)) or 'none'})")
            module = found[name].load()
            self.pm.register(module, name=name)
            self.modules[name] = module
        self.pm.check_pending()  # a misspelled hook name fails here, loudly
        self.hook = _HookProxy(self)
        self.blueprint_owner: dict[str, str] = {}

    def info(self, name: str) -> dict[str, Any]:
        caller = self.pm.subset_hook_caller(
            "panel_plugin_info", remove_plugins=[m for n, m in self.modules.items() if n != name])
        return caller() or {"name": name}

    def inactive(self) -> set[str]:
        """Names of allow-listed plugins an admin has deactivated (read once per request)."""
        if not self.modules:
            return set()
        in_request = has_request_context()
        if in_request:
            found = g.get("panel_inactive_plugins")
            if found is not None:
                return found  # type: ignore[no-any-return]
        try:
            # Core on the request's connection: no ORM entity machinery for one column. Read
            # every request (never kept in the process), so a change made through another
            # worker or server counts at once.
            rows = db.session.connection().execute(_INACTIVE).scalars()
            names = set(rows) & set(self.modules)
        except Exception:  # noqa: BLE001 - before `panel db upgrade` there is no table yet
            db.session.rollback()
            names = set()
        if in_request:
            g.panel_inactive_plugins = names
        return names

    def is_active(self, name: str) -> bool:
        return name in self.modules and name not in self.inactive()

    def set_active(self, name: str, active: bool) -> None:
        if name not in self.modules:
            raise KeyError(name)
        state = db.session.get(PluginState, name) or PluginState(name=name)
        state.active, state.changed_at = active, utcnow()
        db.session.add(state)
        db.session.commit()
        if has_request_context():
            g.pop("panel_inactive_plugins", None)

    def register_blueprints(self, app: Flask) -> None:
        for impl in self.pm.hook.panel_blueprints.get_hookimpls():
            for bp in impl.function():
                app.register_blueprint(bp)
                if impl.plugin_name != CORE:
                    self.blueprint_owner[bp.name] = impl.plugin_name

    def migration_dirs(self) -> list[str]:
        return [d for dirs in self.pm.hook.panel_migration_dirs() for d in dirs]
