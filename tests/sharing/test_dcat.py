"""The catalog as DCAT-AP JSON-LD: a dcat:Catalog with a dcat:Dataset per published entry,
the resource code as dct:identifier, the sharing category as an EU access right, the exchange
service as the distribution's access service, and the fields as a CSVW schema."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from factories import CHAIR, SharingCities, user_of
from fastapi.testclient import TestClient

from lunan.sample import sharing as sample
from lunan.sharing import actions, dcat, queries
from lunan.sharing.models import DatasetFields

Client = Callable[..., TestClient]
HEZE = "371700"
EU = "http://publications.europa.eu/resource/authority/"


def publish_all(sc: SharingCities, city: str) -> None:
    sc.publish(city)
    for entry in sample.other_entries(city):
        sc.publish(city, DatasetFields.model_validate(entry))


def compact_iris(node: Any) -> set[str]:
    """Every property name and typed value used in the document, to check their prefixes."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if not key.startswith("@"):
                found.add(key)
            if key in ("@type",) and isinstance(value, str):
                found.add(value)
            found |= compact_iris(value)
    elif isinstance(node, list):
        for item in node:
            found |= compact_iris(item)
    return found


def test_the_export_is_a_dcat_ap_catalog(client_for: Client, sc: SharingCities) -> None:
    publish_all(sc, CHAIR)
    publish_all(sc, HEZE)
    withdrawn = sc.publish(
        CHAIR,
        DatasetFields.model_validate(
            {**sample.other_entries(CHAIR)[1], "code": "371300-05-0002", "service": "old-areas"}
        ),
    )
    actions.withdraw_dataset(sc.parts[CHAIR], user_of(CHAIR), withdrawn)
    r = client_for(HEZE, "viewer").get("/api/v1/sharing/catalog.jsonld")
    assert r.status_code == 200
    assert r.headers["content-type"] == dcat.MEDIA_TYPE
    doc = r.json()
    assert doc["@type"] == "dcat:Catalog"
    assert doc["@id"].endswith("/api/v1/sharing/catalog.jsonld")
    for required in ("dct:title", "dct:description", "dct:publisher", "dcat:dataset"):
        assert required in doc
    context = doc["@context"]
    assert context["dcat"] == "http://www.w3.org/ns/dcat#"
    assert context["dct"] == "http://purl.org/dc/terms/"
    prefixes = {iri.split(":", 1)[0] for iri in compact_iris(doc)}
    assert prefixes <= set(context), prefixes - set(context)

    datasets = {d["dct:identifier"]: d for d in doc["dcat:dataset"]}
    assert len(datasets) == 8 and "371300-05-0002" not in datasets  # withdrawn: not exported
    resident = datasets["371300-01-0001"]
    assert resident["@type"] == "dcat:Dataset"
    assert resident["@id"] == "http://127.0.0.1:8701/api/v1/sharing/catalog/371300/1"
    assert resident["dct:title"] == {"@value": "户籍/居住证 核验", "@language": "zh-CN"}
    assert resident["dct:publisher"]["foaf:name"]["@value"] == "临沂 临沂市公安局"
    assert resident["dct:accessRights"] == {"@id": EU + "access-right/RESTRICTED"}
    assert resident["dct:accrualPeriodicity"] == {"@id": EU + "frequency/DAILY"}
    [api] = resident["dcat:distribution"]
    endpoint = "http://127.0.0.1:8701/exchange/v1/resident-check"
    assert api["@type"] == "dcat:Distribution" and api["dcat:accessURL"] == {"@id": endpoint}
    service = api["dcat:accessService"]
    assert service["@type"] == "dcat:DataService"
    assert service["dcat:endpointURL"] == {"@id": endpoint}
    assert service["dcat:servesDataset"] == {"@id": resident["@id"]}
    columns = resident["csvw:tableSchema"]["csvw:column"]
    assert [(c["csvw:name"], c["dct:accessRights"]["@id"].rsplit("/", 1)[1]) for c in columns] == [
        ("身份证号", "RESTRICTED"),
        ("姓名", "NON_PUBLIC"),
        ("户籍地区划代码", "RESTRICTED"),
    ]
    assert resident["csvw:tableSchema"]["lunan:queryKeys"] == ["身份证号"]
    assert (
        "lunan:sample" not in resident
        and "国发〔2016〕51号" in resident["lunan:legalBasis"]["@value"]
    )

    policy = datasets["371700-03-0001"]
    assert policy["dct:accessRights"] == {"@id": EU + "access-right/PUBLIC"}
    assert [d["dct:title"]["@value"] for d in policy["dcat:distribution"]] == [
        "接口查询",
        "文件交换",
    ]
    assert policy["lunan:sample"] is True and "lunan:legalBasis" not in policy


def test_every_category_maps_to_an_access_right(sc: SharingCities) -> None:
    entry = sample.resident_check(CHAIR)
    closed = {**entry, "code": "371300-01-0002", "service": "closed", "category": "不予共享"}
    sc.publish(CHAIR, DatasetFields.model_validate(closed))
    sc.publish(CHAIR, DatasetFields.model_validate(sample.other_entries(CHAIR)[0]))
    sc.publish(CHAIR)
    views = queries.datasets(sc.h.engine)
    doc = dcat.catalog(sc.h.engine, views, "urn:test")
    rights = {
        d["dct:identifier"]: d["dct:accessRights"]["@id"].rsplit("/", 1)[1]
        for d in doc["dcat:dataset"]
    }
    assert rights == {
        "371300-01-0001": "RESTRICTED",
        "371300-01-0002": "NON_PUBLIC",
        "371300-03-0001": "PUBLIC",
    }


def test_the_export_takes_the_catalog_filters(client_for: Client, sc: SharingCities) -> None:
    publish_all(sc, CHAIR)
    publish_all(sc, HEZE)
    client = client_for(CHAIR, "viewer")
    doc = client.get(
        "/api/v1/sharing/catalog.jsonld", params={"city": HEZE, "category": "有条件共享"}
    ).json()
    assert sorted(d["dct:identifier"] for d in doc["dcat:dataset"]) == [
        "371700-01-0001",
        "371700-02-0001",
    ]
