"""The panel's own registry: what `panel_registrar_set_privacy` does when no outside registrar
is involved. The panel publishes WHOIS and RDAP itself from the domain row, so applying privacy
means checking the domain may change now; the caller then stores the new state."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from panel.domains.models import Domain

#: Domain states in which the registry accepts changes (a suspended domain is frozen).
CHANGEABLE = frozenset({"active"})


class RegistrarError(RuntimeError):
    """A registrar refused a change; the message is shown to the customer as it is."""


def own_registry_set_privacy(domain: Domain, enabled: bool) -> None:
    if domain.status not in CHANGEABLE:
        raise RegistrarError(f"The domain is {domain.status}: the registry does not accept "
                             "changes to it until it is active again.")
