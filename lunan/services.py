"""A node's parts wired together: its log, its alliance, the projections and the append path.

with open_node(node_dir) as n:
    n.projector.catch_up()
    n.writer.append("coop.task.created", n.writer.next_id("task"), body, user.actor())
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from lunan import domains, node
from lunan.alliance.config import Alliance
from lunan.auth.roles import Permission
from lunan.auth.users import User
from lunan.events.engine import Projector
from lunan.events.errors import Forbidden
from lunan.events.tables import p_objects
from lunan.events.writer import Writer
from lunan.log import Log


@dataclass
class NodeParts:
    directory: Path
    config: node.NodeConfig
    log: Log
    alliance: Alliance | None
    projector: Projector
    writer: Writer

    def close(self) -> None:
        self.log.close()
        self.log.engine.dispose()

    def __enter__(self) -> NodeParts:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def latest_deps(parts: NodeParts, object_id: str) -> list[tuple[str, int]]:
    """Deps on the last event that changed an object of another city's log (and so on all
    before it there); none if it is unknown or was last changed in this node's own log."""
    q = select(p_objects.c.updated_origin, p_objects.c.updated_idx).where(
        p_objects.c.id == object_id
    )
    with parts.projector.engine.connect() as conn:
        row = conn.execute(q).first()
    if row is None or row.updated_origin == parts.config.city:
        return []
    return [(row.updated_origin, row.updated_idx)]


def first_chair(alliance: Alliance | None, own_city: str) -> str:
    """The city that chairs from the start: the earliest chair term's (临沂 in the demo)."""
    if alliance is None or not alliance.chair_terms:
        return own_city
    return min(alliance.chair_terms, key=lambda t: t.start).city


def projector_for(log: Log, config: node.NodeConfig, alliance: Alliance | None) -> Projector:
    from lunan.federation.runtime import member_log_ids

    logs = {config.city: node.OWN_LOG_ID}
    if alliance is not None:
        others = [m for m in alliance.members if m.city != config.city]
        logs.update(member_log_ids(log.engine, others))
    alliance_id = alliance.id if alliance is not None else config.alliance
    projector = Projector(
        log.engine, domains.registry(), alliance_id, logs, first_chair(alliance, config.city)
    )
    projector.ensure()
    return projector


def parts_for(
    directory: Path, config: node.NodeConfig, log: Log, alliance: Alliance | None
) -> NodeParts:
    projector = projector_for(log, config, alliance)
    writer = Writer(log, projector, config.city, projector.alliance)
    return NodeParts(directory, config, log, alliance, projector, writer)


def open_node(directory: Path) -> NodeParts:
    """Open a node directory (and its alliance file, if it has one) for reading and writing."""
    from lunan.federation.runtime import ALLIANCE_FILE, load_alliance

    config = node.load_config(directory)
    engine = node.open_database(directory, config)
    log = Log(engine, node.OWN_LOG_ID, node.signer(config, node.load_key(directory)))
    alliance = None
    if (directory / ALLIANCE_FILE).exists():
        alliance = load_alliance(directory, config, log.signer.vkey())
    return parts_for(directory, config, log, alliance)


def acts_for_this_city(parts: NodeParts, user: User) -> None:
    """Forbidden unless `user` belongs to this node's city: a user acts only for its own."""
    if user.city != parts.config.city:
        raise Forbidden(
            f"只能以本市名义操作：用户属于 {user.city}，本节点是 {parts.config.city} — "
            f"a user acts only for its own city: {user.name!r} belongs to {user.city}"
        )


def authorize(parts: NodeParts, user: User, permission: Permission) -> None:
    """The check every write by a user starts with: the permission, and this node's city."""
    if not user.can(permission):
        raise Forbidden(
            f"无权操作：需要“{permission.value}”权限 — user {user.name!r} ({user.role.value}) "
            f"lacks the permission {permission.value!r}"
        )
    acts_for_this_city(parts, user)
