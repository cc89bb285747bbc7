"""Every event type the node knows, from every domain: the one list the projector folds with.

Importing the domain packages also registers their projection tables (`lunan.events.tables`).
"""

from __future__ import annotations

from lunan import calendar, coop, exchange, governance, indicators, sharing
from lunan.events import core
from lunan.events.registry import Registry


def registry() -> Registry:
    return Registry(
        [
            *core.TYPES,
            *governance.TYPES,
            *coop.TYPES,
            *indicators.TYPES,
            *sharing.TYPES,
            *exchange.TYPES,
            *calendar.TYPES,
        ]
    )
