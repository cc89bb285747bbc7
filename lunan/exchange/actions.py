"""The exchange's writes for people: import a table, configure a service, call a provider.

Import and configure change only node-local tables (`data_rows`, `data_services`): nothing goes
to the log. Who may: a user holding Permission.MANAGE_DATA, of this node's city, for one of this
city's own catalog entries; `user=None` is the operator at the node's console (the CLI), who
may do anything on the node anyway.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lunan.auth.roles import Permission
from lunan.auth.users import User
from lunan.events.errors import Conflict, Forbidden, Invalid, NotFound
from lunan.exchange import adapters, client, importer
from lunan.services import NodeParts, authorize
from lunan.sharing import queries as sharing
from lunan.sharing.models import NOT_SHARED
from lunan.sharing.queries import DatasetView


@dataclass(frozen=True)
class Imported:
    code: str
    service: str
    rows: int
    adapter: str  # what serves the entry now: "table" unless another adapter was configured
    configured: bool  # the import configured the table adapter (the service had none)


def _check_user(parts: NodeParts, user: User | None) -> None:
    if user is not None:  # None: the node's operator at its console
        authorize(parts, user, Permission.MANAGE_DATA)


def own_entry(parts: NodeParts, code: str) -> DatasetView:
    """This city's published catalog entry with resource code `code`."""
    dataset = sharing.dataset_by_code(parts.projector.engine, code)
    if dataset is None:
        raise NotFound(f"共享目录中没有{code} no catalog entry {code}", field="entry")
    if dataset.provider != parts.config.city:
        raise Forbidden(
            f"{code}由{dataset.provider_name}提供，只能由其导入 {code} is {dataset.provider}'s "
            "entry: only its provider imports or configures its data",
            field="entry",
        )
    if dataset.status != "published":
        raise Conflict(f"共享目录{code}已撤销 the entry was withdrawn", field="entry")
    return dataset


def import_data(parts: NodeParts, user: User | None, code: str, data: bytes) -> Imported:
    """Replace the rows of this city's entry `code` with a file's (all or nothing)."""
    _check_user(parts, user)
    dataset = own_entry(parts, code)
    columns = [importer.Column(f.name, f.type) for f in dataset.fields]
    rows = importer.parse(data, columns, dataset.keys, dataset.provider)
    engine = parts.projector.engine
    key = dataset.keys[0] if dataset.keys else None
    adapters.replace_rows(engine, dataset.code, key, rows)
    config = adapters.get_config(engine, dataset.service)
    configured = config is None or config.dataset != dataset.id
    if configured:
        config = adapters.save_config(engine, dataset.service, dataset.id, "table", {})
    assert config is not None
    return Imported(dataset.code, dataset.service, len(rows), config.adapter, configured)


def configure_service(
    parts: NodeParts,
    user: User | None,
    code: str,
    adapter: adapters.AdapterKind,
    url: str | None = None,
    table: str | None = None,
    columns: Mapping[str, str] | None = None,
    timeout: float | None = None,
    factory: str | None = None,
    options: Mapping[str, Any] | None = None,
) -> adapters.ServiceConfig:
    """Say where the service of this city's entry `code` reads its data (checked first; a
    python adapter's factory is imported and called with `options`)."""
    _check_user(parts, user)
    dataset = own_entry(parts, code)
    config: dict[str, Any] = {}
    if adapter == "python":
        config["factory"] = factory or ""
        config["options"] = dict(options or {})
    elif adapter != "table":
        config["url"] = url or ""
    if table is not None:
        config["table"] = table
    if columns:
        unknown = [f for f in columns if dataset.field(f) is None]
        if unknown:
            raise Invalid(f"不是{code}的字段 not fields of {code}: {', '.join(unknown)}", "columns")
        config["columns"] = dict(columns)
    if timeout is not None:
        config["timeout"] = timeout
    try:
        # Only what may ever be asked for: a 不予共享 field need not exist in the source.
        servable = [f.name for f in dataset.fields if f.category != NOT_SHARED]
        adapters.check_config(adapter, config, servable)
    except adapters.ConfigError as e:
        raise Invalid(str(e), "factory" if adapter == "python" else "url") from e
    return adapters.save_config(
        parts.projector.engine, dataset.service, dataset.id, adapter, config
    )


def parse_params(text: str) -> dict[str, str]:
    """`--params '{"身份证号": "…"}'`: a JSON object of strings."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise Invalid(f"params须为JSON对象 params must be a JSON object: {e.msg}", "params") from e
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise Invalid('params须为字符串的JSON对象，如 {"身份证号": "…"}', "params")
    return value


def agreement_terms(parts: NodeParts, agreement_id: str) -> client.Terms:
    found = client.terms(parts, agreement_id)
    if found is None:
        raise NotFound(f"本节点未见共享协议{agreement_id} no agreement {agreement_id} known here")
    return found


def call(
    parts: NodeParts,
    user: User | None,
    actor_id: str,
    agreement_id: str,
    params: Mapping[str, str],
    purpose: str | None = None,
    fields: Sequence[str] | None = None,
    timeout: float = client.DEFAULT_TIMEOUT,
) -> client.ExchangeResult:
    """An exchange on behalf of `user` (or the operator); `purpose` defaults to the
    agreement's own."""
    _check_user(parts, user)
    if purpose is None:
        purpose = agreement_terms(parts, agreement_id).purpose
    return client.call(parts, actor_id, agreement_id, params, purpose, fields, timeout)
