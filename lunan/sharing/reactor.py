"""What a node does by itself after folding new events (`lunan serve` calls `react`):

- as a provider, it approves at once every pending request for one of its entries whose entry
  and requested fields are all 无条件共享 (国发〔2016〕51号: unconditional data needs no decision);
- as a requester, it records in its own log every agreement granted to its city
  (`sharing.agreement.acknowledged`), so both sides' logs hold the agreement.

It acts as `{"system": "lunan serve"}`, through the same checked actions people use, so it
appends only what would be applied. Should an append still be rejected (a race with another
node's event), the object is not tried again by this process: a rejected event stays in the log,
and retrying after every fold would fill the log with them.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable
from functools import partial

from lunan.events.errors import ActionError
from lunan.events.registry import Rejected
from lunan.events.writer import Writer
from lunan.services import NodeParts
from lunan.sharing import actions, queries
from lunan.sharing.models import UNCONDITIONAL, ApprovalTerms

log = logging.getLogger(__name__)

AUTO_APPROVAL = "无条件共享，自动批准 unconditional sharing: approved at once"
_given_up: weakref.WeakKeyDictionary[Writer, set[str]] = weakref.WeakKeyDictionary()


def _unconditional(request: queries.RequestView, entry: queries.DatasetView | None) -> bool:
    """Whether the request is for 无条件共享 data only, as the entry stands now."""
    if entry is None or entry.status != "published" or entry.category != UNCONDITIONAL:
        return False
    fields = [entry.field(name) for name in request.fields]
    return all(f is not None and f.category == UNCONDITIONAL for f in fields)


def _try(parts: NodeParts, object_id: str, what: str, write: Callable[[], str]) -> int:
    skipped = _given_up.setdefault(parts.writer, set())
    if object_id in skipped:
        return 0
    try:
        write()
    except ActionError:
        return 0  # the state changed since it was read (decided, withdrawn…): nothing to do
    except Rejected as r:
        skipped.add(object_id)
        log.warning("%s %s was rejected (%s); not retried", what, object_id, r.reason)
        return 0
    return 1


def grant_unconditional(parts: NodeParts) -> int:
    """Approve the pending 无条件共享 requests for this city's entries; returns how many."""
    engine = parts.projector.engine
    done = 0
    for request in queries.requests(engine, provider=parts.config.city, status="pending"):
        if request.category != UNCONDITIONAL:
            continue
        if not _unconditional(request, queries.dataset(engine, request.dataset)):
            continue  # the entry became restricted since: a person decides
        terms = ApprovalTerms(reason=AUTO_APPROVAL)
        write = partial(actions.grant, parts, actions.SYSTEM_ACTOR, request.id, terms)
        done += _try(parts, request.id, "grant of", write)
    return done


def acknowledge_grants(parts: NodeParts) -> int:
    """Acknowledge every agreement granted to this city not acknowledged yet."""
    engine = parts.projector.engine
    done = 0
    for agreement in queries.agreements(engine, requester=parts.config.city):
        if agreement.acknowledged:
            continue
        write = partial(actions.acknowledge, parts, actions.SYSTEM_ACTOR, agreement.id)
        done += _try(parts, agreement.id, "acknowledgement of", write)
    return done


def react(parts: NodeParts) -> int:
    """Everything this node does by itself now; returns the number of events appended."""
    return grant_unconditional(parts) + acknowledge_grants(parts)
