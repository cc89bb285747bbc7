"""A node directory: its configuration file, its key and its database.

DIR/node.toml   what the node is (alliance, city, origin, URL, database)
DIR/node.key    Ed25519 private key signing the log's checkpoints, mode 0600
DIR/witness.key Ed25519 private key cosigning other members' checkpoints, mode 0600
DIR/node.db     the SQLite database, unless `database` names another
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit

import tomli_w
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import DBAPIError

from lunan.clock import now_shanghai
from lunan.crypto import note
from lunan.crypto.canonical_json import canonical_json
from lunan.crypto.keys import create_key_file, load_key_file
from lunan.log.log import Log
from lunan.storage import db
from lunan.storage.schema import logs

CONFIG_FILE = "node.toml"
KEY_FILE = "node.key"
WITNESS_KEY_FILE = "witness.key"
DEFAULT_DATABASE = "sqlite:///node.db"
DEFAULT_URL = "http://127.0.0.1:8700"
OWN_LOG_ID = 1

_CITY = re.compile(r"^\d{6}$")
_ALLIANCE = re.compile(r"^[a-z0-9][a-z0-9.-]{0,62}$")


class NodeError(ValueError):
    """A node directory that cannot be created or opened; the message says how to fix it."""


@dataclass(frozen=True)
class NodeConfig:
    alliance: str
    city: str
    name: str
    origin: str
    url: str
    database: str

    @property
    def port(self) -> int:
        parts = urlsplit(self.url)
        return parts.port or (443 if parts.scheme == "https" else 80)


def validate(config: NodeConfig) -> None:
    if not _CITY.match(config.city):
        raise NodeError(
            f"city code {config.city!r} is not 6 digits: "
            "use the GB/T 2260 code, e.g. 371300 for 临沂"
        )
    if not _ALLIANCE.match(config.alliance):
        raise NodeError(
            f"alliance id {config.alliance!r} must be lower-case letters, digits, '.' or '-'"
        )
    if not config.name.strip():
        raise NodeError("the city name is empty: pass --name, e.g. --name 临沂")
    parts = urlsplit(config.url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise NodeError(f"node URL {config.url!r} must look like http://host:port")
    try:
        note.check_key_name(config.origin)
    except note.NoteError as e:
        raise NodeError(f"log origin {config.origin!r} is not a valid key name: {e}") from e


def init_node(directory: Path, config: NodeConfig) -> Engine:
    """Create a node directory with its key and a migrated database. Refuses to overwrite."""
    validate(config)
    if (directory / CONFIG_FILE).exists() or (directory / KEY_FILE).exists():
        raise NodeError(f"{directory} already holds a node; choose another --dir")
    url = db.resolve_url(config.database, directory)
    directory.mkdir(parents=True, exist_ok=True)
    before = set(directory.iterdir())
    engine: Engine | None = None
    try:
        engine = db.open_engine(url)
        if db.holds_tables(engine):
            raise NodeError(f"database {db.masked(url)} already holds a node's tables")
        key = create_key_file(directory / KEY_FILE)
        create_key_file(directory / WITNESS_KEY_FILE)
        db.migrate(engine)
        log_signer = signer(config, key)
        with engine.begin() as conn:
            conn.execute(
                insert(logs).values(id=OWN_LOG_ID, origin=config.origin, vkey=log_signer.vkey())
            )
        Log(engine, OWN_LOG_ID, log_signer).append([genesis_entry(config, log_signer.vkey())])
        # Written last: a directory with node.toml is a complete node.
        (directory / CONFIG_FILE).write_text(tomli_w.dumps(asdict(config)), encoding="utf-8")
    except BaseException as e:
        # Leave nothing half-made behind, so that the same command can simply be run again.
        if engine is not None:
            engine.dispose()
        for path in set(directory.iterdir()) - before:
            path.unlink()
        if isinstance(e, DBAPIError):
            raise NodeError(f"cannot use database {db.masked(url)}: {db.first_line(e)}") from e
        raise
    return engine


def genesis_entry(config: NodeConfig, vkey: str) -> bytes:
    """Entry 0 of every log: who keeps it and with which key (an event, DESIGN §3.1)."""
    return canonical_json(
        {
            "v": 1,
            "type": "node.genesis",
            "alliance": config.alliance,
            "origin": config.city,
            "time": now_shanghai(),
            "actor": {"system": "lunan init"},
            "object": f"node/{config.city}",
            "deps": [],
            "body": {"name": config.name, "url": config.url, "log": config.origin, "vkey": vkey},
        }
    )


def load_config(directory: Path) -> NodeConfig:
    path = directory / CONFIG_FILE
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise NodeError(
            f"no node in {directory}: run `lunan init --dir {directory} …` first"
        ) from e
    except tomllib.TOMLDecodeError as e:
        raise NodeError(f"{path} is not valid TOML: {e}") from e
    try:
        config = NodeConfig(**{k: str(raw[k]) for k in NodeConfig.__dataclass_fields__})
    except KeyError as e:
        raise NodeError(f"{path} lacks the setting {e.args[0]!r}") from e
    validate(config)
    return config


def load_key(directory: Path) -> Ed25519PrivateKey:
    return load_key_file(directory / KEY_FILE)


def load_witness_key(directory: Path) -> Ed25519PrivateKey:
    return load_key_file(directory / WITNESS_KEY_FILE)


def witness_signer(config: NodeConfig, key: Ed25519PrivateKey) -> note.Signer:
    """The cosigning key (C2SP tlog-cosignature, type 0x04), separate from the log key so that
    the two roles can be rotated and guarded apart. Its name is the origin + "/witness"."""
    return note.Signer(
        name=f"{config.origin}/witness", private_key=key, key_type=note.COSIGNATURE_V1
    )


def signer(config: NodeConfig, key: Ed25519PrivateKey) -> note.Signer:
    """The checkpoint signer: its key name is the log origin (C2SP tlog-checkpoint)."""
    return note.Signer(name=config.origin, private_key=key)


def database_url(directory: Path, config: NodeConfig) -> str:
    return db.resolve_url(config.database, directory)


def open_database(directory: Path, config: NodeConfig, migrate: bool = True) -> Engine:
    """The node's database, migrated to the newest schema first if it is behind (unless
    `migrate` is false, for read-only work such as an audit), and checked to be this node's."""
    url = database_url(directory, config)
    try:
        engine = db.open_engine(url)
        if not db.is_current(engine):
            if not migrate:
                raise NodeError(
                    f"database {db.masked(url)} needs migrating: run `lunan serve` once"
                )
            db.migrate(engine)
        with engine.connect() as conn:
            row = conn.execute(select(logs.c.origin).where(logs.c.id == OWN_LOG_ID)).first()
    except DBAPIError as e:
        raise NodeError(f"cannot use database {db.masked(url)}: {db.first_line(e)}") from e
    if row is None or row.origin != config.origin:
        found = "no log" if row is None else f"the log of {row.origin!r}"
        raise NodeError(
            f"database {db.masked(url)} holds {found}, but {directory / CONFIG_FILE} "
            f"says origin {config.origin!r}: point `database` at this node's database"
        )
    return engine
