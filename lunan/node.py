"""A node directory: its configuration file, its key and its database.

DIR/node.toml   what the node is (alliance, city, origin, URL, database)
DIR/node.key    Ed25519 private key, mode 0600
DIR/node.db     the SQLite database, unless `database` names another
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit

import tomli_w
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, insert

from lunan.crypto import note
from lunan.crypto.canonical_json import canonical_json
from lunan.crypto.keys import create_key_file, load_key_file
from lunan.log.log import Log
from lunan.storage import db
from lunan.storage.schema import logs

CONFIG_FILE = "node.toml"
KEY_FILE = "node.key"
DEFAULT_DATABASE = "sqlite:///node.db"
DEFAULT_URL = "http://127.0.0.1:8700"
OWN_LOG_ID = 1
SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")

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
    key = create_key_file(directory / KEY_FILE)
    engine = db.open_engine(url)
    db.migrate(engine)
    log_signer = signer(config, key)
    with engine.begin() as conn:
        conn.execute(
            insert(logs).values(id=OWN_LOG_ID, origin=config.origin, vkey=log_signer.vkey())
        )
    Log(engine, OWN_LOG_ID, log_signer).append([genesis_entry(config, log_signer.vkey())])
    # Written last: a directory with node.toml is a complete node.
    (directory / CONFIG_FILE).write_text(tomli_w.dumps(asdict(config)), encoding="utf-8")
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


def now_shanghai() -> str:
    """Times are kept in Asia/Shanghai (UTC+8 all year, no daylight saving since 1991)."""
    return datetime.now(SHANGHAI).isoformat(timespec="seconds")


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


def signer(config: NodeConfig, key: Ed25519PrivateKey) -> note.Signer:
    """The checkpoint signer: its key name is the log origin (C2SP tlog-checkpoint)."""
    return note.Signer(name=config.origin, private_key=key)


def database_url(directory: Path, config: NodeConfig) -> str:
    return db.resolve_url(config.database, directory)


def open_database(directory: Path, config: NodeConfig) -> Engine:
    """The node's database, migrated to the newest schema first if it is behind."""
    engine = db.open_engine(database_url(directory, config))
    if not db.is_current(engine):
        db.migrate(engine)
    return engine
