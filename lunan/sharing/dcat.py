"""The alliance-wide catalog as DCAT-AP JSON-LD (a dcat:Catalog with a dcat:Dataset per entry),
for harvesting by other catalogs (CKAN with ckanext-dcat, data.europa.eu-style portals).

- dct:identifier is the resource code (资源代码); dct:publisher the providing city's department;
- dct:accessRights maps the sharing category onto the EU access-right vocabulary:
  无条件共享 → PUBLIC, 有条件共享 → RESTRICTED, 不予共享 → NON_PUBLIC;
- dct:accrualPeriodicity maps the update cycle onto the EU frequency vocabulary;
- each mode is a dcat:Distribution; the API mode has a dcat:DataService whose endpoint is the
  provider's exchange path `/exchange/v1/{service}` (RFC 9421-signed requests under an
  agreement);
- the fields are a CSVW table schema (csvw:tableSchema), each column with its own access right.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select

from lunan.events.tables import p_nodes
from lunan.sharing.queries import ACCESS_RIGHTS, DatasetView

MEDIA_TYPE = "application/ld+json"
ACCESS_RIGHT = "http://publications.europa.eu/resource/authority/access-right/"
FREQUENCY = "http://publications.europa.eu/resource/authority/frequency/"
FREQUENCIES = {
    "实时": "UPDATE_CONT",
    "每日": "DAILY",
    "每周": "WEEKLY",
    "每月": "MONTHLY",
    "每季度": "QUARTERLY",
    "每年": "ANNUAL",
    "不定期": "IRREG",
}
XSD_TYPES = {
    "text": "string",
    "integer": "integer",
    "decimal": "decimal",
    "date": "date",
    "boolean": "boolean",
    "resident_id": "string",  # GB 11643, 18 characters
    "division_code": "string",  # GB/T 2260, 6 digits
}
CONTEXT = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "csvw": "http://www.w3.org/ns/csvw#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "lunan": "urn:lunan:vocab:",
}
LANG = "zh-CN"


def _text(value: str) -> dict[str, str]:
    return {"@value": value, "@language": LANG}


def _iri(value: str) -> dict[str, str]:
    return {"@id": value}


def node_urls(engine: Engine) -> dict[str, str]:
    """City → the node's base URL, as its genesis entry gives it."""
    with engine.connect() as conn:
        return {
            r.city: r.url.rstrip("/") for r in conn.execute(select(p_nodes.c.city, p_nodes.c.url))
        }


def _base(d: DatasetView, urls: dict[str, str]) -> str:
    return urls.get(d.provider, f"urn:lunan:node:{d.provider}")


def dataset_iri(d: DatasetView, urls: dict[str, str]) -> str:
    """The entry's page in its provider's API: dataset/371300/1 → …/catalog/371300/1."""
    city, number = d.id.split("/")[1:]
    return f"{_base(d, urls)}/api/v1/sharing/catalog/{city}/{number}"


def endpoint(d: DatasetView, urls: dict[str, str]) -> str:
    return f"{_base(d, urls)}/exchange/v1/{d.service}"


def _distributions(d: DatasetView, urls: dict[str, str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if "api" in d.modes:
        url = endpoint(d, urls)
        answer = "仅答复是/否" if d.answer == "exists" else "返回协议约定的字段"
        out.append(
            {
                "@type": "dcat:Distribution",
                "dct:title": _text("接口查询"),
                "dct:description": _text(f"按数据共享协议经签名请求查询；{answer}"),
                "dcat:accessURL": _iri(url),
                "dcat:accessService": {
                    "@type": "dcat:DataService",
                    "dct:title": _text(d.service),
                    "dcat:endpointURL": _iri(url),
                    "dcat:servesDataset": _iri(dataset_iri(d, urls)),
                    "dct:conformsTo": _iri("https://www.rfc-editor.org/rfc/rfc9421"),
                    "dct:accessRights": _iri(ACCESS_RIGHT + d.access_rights),
                },
            }
        )
    if "file" in d.modes:
        out.append(
            {
                "@type": "dcat:Distribution",
                "dct:title": _text("文件交换"),
                "dct:description": _text("按数据共享协议以文件方式提供"),
                "dcat:accessURL": _iri(dataset_iri(d, urls)),
            }
        )
    return out


def _schema(d: DatasetView) -> dict[str, Any]:
    return {
        "@type": "csvw:Schema",
        "csvw:column": [
            {
                "@type": "csvw:Column",
                "csvw:name": f.name,
                "csvw:datatype": _iri("xsd:" + XSD_TYPES[f.type]),
                "dct:description": _text(f.description or f.name),
                "dct:accessRights": _iri(ACCESS_RIGHT + ACCESS_RIGHTS[f.category]),
                "lunan:fieldType": f.type,
                "lunan:sharingCategory": f.category,
            }
            for f in d.fields
        ],
        "lunan:queryKeys": list(d.keys),
    }


def dataset_node(d: DatasetView, urls: dict[str, str]) -> dict[str, Any]:
    node: dict[str, Any] = {
        "@id": dataset_iri(d, urls),
        "@type": "dcat:Dataset",
        "dct:identifier": d.code,
        "dct:title": _text(d.name),
        "dct:description": _text(d.description or d.name),
        "dct:publisher": {
            "@type": "foaf:Agent",
            "foaf:name": _text(f"{d.provider_name} {d.department}"),
            "lunan:city": d.provider,  # the city's GB/T 2260 code
        },
        "dct:issued": {"@value": d.created_time, "@type": "xsd:dateTime"},
        "dct:modified": {"@value": d.updated_time, "@type": "xsd:dateTime"},
        "dct:accessRights": _iri(ACCESS_RIGHT + d.access_rights),
        "dct:accrualPeriodicity": _iri(FREQUENCY + FREQUENCIES[d.update_cycle]),
        "dcat:distribution": _distributions(d, urls),
        "csvw:tableSchema": _schema(d),
        "lunan:sharingCategory": d.category,
    }
    if d.legal_basis:
        node["lunan:legalBasis"] = _text(d.legal_basis)
    if d.sample:
        node["lunan:sample"] = True  # 示例数据
    return node


def catalog(
    engine: Engine,
    entries: list[DatasetView],
    catalog_url: str,
    title: str = "鲁南经济圈政务数据共享目录",
    publisher: str = "鲁南经济圈",
) -> dict[str, Any]:
    """The JSON-LD document: `entries` (e.g. `queries.datasets(...)`) as one dcat:Catalog."""
    urls = node_urls(engine)
    return {
        "@context": CONTEXT,
        "@id": catalog_url,
        "@type": "dcat:Catalog",
        "dct:title": _text(title),
        "dct:description": _text(f"{publisher}各成员城市发布的政务数据共享目录（共享目录）"),
        "dct:publisher": {"@type": "foaf:Agent", "foaf:name": _text(publisher)},
        "dct:language": _iri("http://publications.europa.eu/resource/authority/language/ZHO"),
        "dcat:dataset": [dataset_node(d, urls) for d in entries],
    }
