"""A node inside its alliance: the background work of `lunan serve`.

One thread loops over the other members: follow each one's log (`Follower`), and have our own
latest checkpoint cosigned by each one's witness (`Submitter`). A member that fails costs a
retry with exponential back-off, never a crash; nothing it sent is stored unverified.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Engine, insert, select

from lunan import node
from lunan.alliance import config as alliance_config
from lunan.clock import now_shanghai
from lunan.crypto import note
from lunan.federation import alerts as alert_queries
from lunan.federation import cosigned
from lunan.federation.follower import FORK, Follower, ForkDetected, open_alert, raise_alert
from lunan.federation.peer import Peer
from lunan.federation.submitter import Submitter, WitnessPeer
from lunan.log import Log
from lunan.log.store import TreeStore
from lunan.log.witness import Witness
from lunan.net import signatures
from lunan.storage.schema import logs

ALLIANCE_FILE = "alliance.json"
MAX_BACKOFF = 30.0


def load_alliance(
    directory: Path, config: node.NodeConfig, log_vkey: str
) -> alliance_config.Alliance:
    """The node's alliance file, verified, and listing this node with its key.

    A later version is signed by the members of the one before, so earlier versions are kept
    beside it as `alliance-v1.json`, `alliance-v2.json`, … and the chain is checked from 1 on.
    """
    path = directory / ALLIANCE_FILE
    previous = sorted(directory.glob("alliance-v*.json"))
    try:
        alliance = alliance_config.open_for_node(path, config.city, log_vkey, previous)
    except alliance_config.AllianceError as e:
        raise node.NodeError(str(e)) from e
    if alliance.id != config.alliance:
        raise node.NodeError(
            f"{path} is for alliance {alliance.id!r}, this node for {config.alliance!r}"
        )
    return alliance


def request_signer(
    directory: Path, config: node.NodeConfig
) -> Callable[[str, str, bytes], dict[str, str]]:
    """Signs this node's requests to other members (RFC 9421 + RFC 9530, the log key)."""
    key = node.load_key(directory)

    def sign(method: str, url: str, body: bytes) -> dict[str, str]:
        return signatures.sign_request(method, url, {}, body, config.origin, key)

    return sign


def member_log_ids(engine: Engine, members: list[alliance_config.Member]) -> dict[str, int]:
    """The local log id of each member's replicated log, registering new ones."""
    ids: dict[str, int] = {}
    with engine.begin() as conn:
        rows = {
            r.origin: (r.id, r.vkey)
            for r in conn.execute(select(logs.c.id, logs.c.origin, logs.c.vkey))
        }
        next_id = max([i for i, _ in rows.values()], default=1) + 1
        for m in members:
            origin = m.log_verifier().name
            if origin in rows:
                log_id, vkey = rows[origin]
                if vkey != m.log_key:
                    raise node.NodeError(
                        f"the alliance file gives {m.label} a new log key; this node stores its "
                        "log under the old one (key rotation is not supported yet)"
                    )
            else:
                log_id = next_id
                next_id += 1
                conn.execute(insert(logs).values(id=log_id, origin=origin, vkey=m.log_key))
            ids[m.city] = log_id
    return ids


@dataclass
class MemberState:
    member: alliance_config.Member
    log_id: int
    follower: Follower
    witness: WitnessPeer
    last_error: str | None = None
    last_ok: str | None = None
    failures: int = 0
    next_try: float = 0.0


@dataclass
class Federation:
    config: node.NodeConfig
    alliance: alliance_config.Alliance
    log: Log
    witness: Witness
    members: list[MemberState] = field(default_factory=list)
    submit_error: str | None = None
    replays: signatures.ReplayCache = field(default_factory=signatures.ReplayCache)
    refusals: dict[str, int] = field(default_factory=dict)
    # Runs after each round, e.g. folding what was just replicated into the projections.
    after_step: Callable[[], object] | None = None
    after_step_error: str | None = None
    # Seconds a member's catch-up may take in one round before the next member's turn.
    round_share: float = 1.0
    _refusals_lock: threading.Lock = field(default_factory=threading.Lock)

    def member_key(self, key_id: str) -> Ed25519PublicKey | None:
        """A member's log public key by its key id (the log origin), for request signatures."""
        for m in self.alliance.members:
            verifier = m.log_verifier()
            if verifier.name == key_id:
                return note.ed25519_key(verifier.public_key)
        return None

    def record_refusal(self, path: str, error: signatures.SignatureError) -> None:
        """Count every refused request; raise an alert only for a refusal in a member's name
        (a bad signature, a replay, a stale time), so anonymous noise cannot fill the database."""
        with self._refusals_lock:
            self.refusals[error.reason] = self.refusals.get(error.reason, 0) + 1
        # Only a replay is known to come from a member's key (its signature verified); any
        # other refusal needs no key at all, so it is counted, never stored.
        if error.reason == "replayed":
            raise_alert(
                self.log.engine, "-", "refused-request", f"{path}: {error.reason}: {error}", []
            )

    def witnesses_except(self, city: str) -> list[note.Verifier]:
        """The witness keys that may vouch for `city`'s log: every other member's."""
        return [m.witness_verifier() for m in self.alliance.members if m.city != city]

    def _refusal_counts(self) -> dict[str, int]:
        with self._refusals_lock:
            return dict(self.refusals)

    @classmethod
    def start(
        cls,
        directory: Path,
        config: node.NodeConfig,
        log: Log,
        sign: Callable[[str, str, bytes], dict[str, str]] | None = None,
    ) -> Federation:
        alliance = load_alliance(directory, config, log.signer.vkey())
        others = [m for m in alliance.members if m.city != config.city]
        ids = member_log_ids(log.engine, others)
        by_origin = {m.log_verifier().name: m.log_verifier() for m in others}
        replicas = {m.log_verifier().name: TreeStore(log.engine, ids[m.city]) for m in others}
        witness = Witness(
            log.engine,
            node.witness_signer(config, node.load_witness_key(directory)),
            by_origin.get,
            replicas.get,
            lambda origin, detail, evidence: raise_alert(
                log.engine, origin, FORK, detail, evidence
            ),
            lambda origin: open_alert(log.engine, origin, FORK),
        )
        fed = cls(config, alliance, log, witness)
        for m in others:
            peer = Peer(m.url, sign)
            fed.members.append(
                MemberState(
                    m,
                    ids[m.city],
                    Follower(log.engine, ids[m.city], m.log_verifier(), peer),
                    WitnessPeer(m.city, m.witness_verifier(), peer),
                )
            )
        return fed

    def step(self, now: float) -> bool:
        """One round: follow every member that is due, then get our checkpoint cosigned.
        True if a member's log is still being caught up: the next round need not wait."""
        behind = False
        for state in self.members:
            if now < state.next_try:
                continue
            try:
                if state.follower.stopped:  # a query: inside, as a database error can be
                    continue
                # A long catch-up takes turns with the rest: a round's share at a time.
                state.follower.sync(until=time.monotonic() + self.round_share)
                self._collect_cosignatures(state)
                state.last_error, state.failures, state.last_ok = None, 0, now_shanghai()
                behind = behind or state.follower.seen_size > state.follower.store.size()
            except ForkDetected as e:
                state.last_error = str(e)
            except Exception as e:  # a peer's odd answer or a database hiccup: retry later
                state.failures += 1
                state.last_error = str(e)
                state.next_try = now + min(MAX_BACKOFF, 0.5 * 2**state.failures)
        submitter = Submitter(self.log, [s.witness for s in self.members if now >= s.next_try])
        try:
            submitter.submit()
            self.submit_error = None
        except Exception as e:  # as above: never let the background loop die
            self.submit_error = f"{type(e).__name__}: {e}"
        if self.after_step is not None:
            try:
                self.after_step()
                self.after_step_error = None
            except Exception as e:  # shown in status; the next round tries again
                self.after_step_error = f"{type(e).__name__}: {e}"
        return behind

    def _collect_cosignatures(self, state: MemberState) -> None:
        """Keep the cosignatures the member serves with its checkpoint (for finality)."""
        latest = state.follower.store.latest()
        if latest is None:
            return
        size, signed = latest
        served = state.follower.served  # the note `sync` was just given
        body = signed.split("\n\n", 1)[0] + "\n"
        if not served.startswith(body):
            return  # we hold an older size; the next round catches up
        # Only the other members' witnesses count: a log never vouches for itself.
        lines, stamps = cosigned.verified(body, served, self.witnesses_except(state.member.city))
        cosigned.store(self.log.engine, state.log_id, size, lines, stamps)

    def run(self, stop: threading.Event, interval: float = 0.5) -> None:
        """Rounds `interval` apart, the first at once; back to back while a member is being
        caught up."""
        pause = 0.0
        while not stop.wait(pause):
            pause = 0.0 if self.step(time.monotonic()) else interval

    def close(self) -> None:
        for state in self.members:
            state.follower.peer.close()

    def status(self) -> dict[str, Any]:
        quorum = self.alliance.quorum_size()
        engine = self.log.engine
        own_size = self.log.size()
        members = []
        for s in self.members:
            replicated = s.follower.store.size()
            members.append(
                {
                    "city": s.member.city,
                    "name": s.member.name,
                    "url": s.member.url,
                    "origin": s.follower.origin,
                    "replicated_size": replicated,
                    "served_size": s.follower.seen_size,
                    "final_size": cosigned.final_size(engine, s.log_id, quorum),
                    "lag": max(0, s.follower.seen_size - replicated),
                    "following": not s.follower.stopped,
                    "last_ok": s.last_ok,
                    "last_error": s.last_error,
                }
            )
        return {
            "alliance": {
                "id": self.alliance.id,
                "name": self.alliance.name,
                "version": self.alliance.version,
                "quorum": quorum,
            },
            "node": {
                "city": self.config.city,
                "name": self.config.name,
                "origin": self.log.signer.name,
                "size": own_size,
                "final_size": cosigned.final_size(engine, self.log.store.log_id, quorum),
                "submit_error": self.submit_error,
                "projection_error": self.after_step_error,
            },
            "members": members,
            "refused_requests": self._refusal_counts(),
            "alerts": list_alerts(engine),
        }


def list_alerts(engine: Engine, limit: int = 100) -> list[dict[str, Any]]:
    """The newest open alerts, newest last: a resolved one is history (lunan alerts list)."""
    return [
        {
            "id": a.id,
            "origin": a.origin,
            "kind": a.kind,
            "detail": a.detail,
            "created_at": a.created_at,
            "stopped_following": a.stops_following,
        }
        for a in alert_queries.list_alerts(engine, alert_queries.OPEN, limit=limit)
    ]
