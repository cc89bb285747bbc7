"""The catalog (共享目录): each city publishes, revises and withdraws its own entries; the
alliance-wide catalog is every member's, searchable by city, department, category and text."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

from factories import (
    CHAIR,
    SharingCities,
    open_dataset_fields,
    resident_check_fields,
    user_of,
)

from lunan.events.errors import Conflict, Forbidden, Invalid, NotFound
from lunan.sample import sharing as sample
from lunan.sharing import actions, queries
from lunan.sharing.models import DatasetFields

ZAOZHUANG, JINING, HEZE = "370400", "370800", "371700"
Refuses = Callable[..., AbstractContextManager[None]]


def test_publish_and_read_back(sc: SharingCities) -> None:
    dataset_id = sc.publish(CHAIR)
    assert dataset_id == "dataset/371300/1"
    view = queries.dataset(sc.h.engine, dataset_id)
    assert view is not None
    assert (view.code, view.name, view.provider, view.provider_name) == (
        "371300-01-0001",
        "户籍/居住证 核验",
        CHAIR,
        "临沂",
    )
    assert (view.category, view.access_rights, view.answer, view.keys) == (
        "有条件共享",
        "RESTRICTED",
        "exists",
        ["身份证号"],
    )
    assert [f.category for f in view.fields] == ["有条件共享", "不予共享", "有条件共享"]
    assert view.status == "published" and view.created_time.startswith("2026-03-02")
    assert queries.dataset_by_code(sc.h.engine, "371300-01-0001") == view
    assert queries.dataset_by_service(sc.h.engine, CHAIR, "resident-check") == view
    assert queries.dataset_by_service(sc.h.engine, ZAOZHUANG, "resident-check") is None


def test_who_may_publish(sc: SharingCities, refuses: Refuses) -> None:
    parts = sc.parts[CHAIR]
    fields = resident_check_fields(CHAIR)
    for role in ("viewer", "auditor"):
        with refuses(Forbidden, match="data.manage"):
            actions.publish_dataset(parts, user_of(CHAIR, role), fields)
    with refuses(Forbidden, match="own city"):  # a 枣庄 user on 临沂's node
        actions.publish_dataset(parts, user_of(ZAOZHUANG), fields)
    with refuses(Invalid, field="code", match="must start with 371300"):
        actions.publish_dataset(parts, user_of(CHAIR), resident_check_fields(ZAOZHUANG))
    assert actions.publish_dataset(parts, user_of(CHAIR, "officer"), fields)
    with refuses(Conflict, field="code"):
        actions.publish_dataset(parts, user_of(CHAIR), fields)
    with refuses(Conflict, field="service"):
        actions.publish_dataset(
            parts, user_of(CHAIR), resident_check_fields(CHAIR, code="371300-01-0002")
        )


def test_update_keeps_code_service_and_answer(sc: SharingCities, refuses: Refuses) -> None:
    dataset_id = sc.publish(CHAIR)
    parts, user = sc.parts[CHAIR], user_of(CHAIR)
    renamed = resident_check_fields(CHAIR, name="户籍/居住证 核验（新）", update_cycle="实时")
    actions.update_dataset(parts, user, dataset_id, renamed)
    view = queries.dataset(sc.h.engine, dataset_id)
    assert view is not None and (view.name, view.update_cycle) == ("户籍/居住证 核验（新）", "实时")
    for field, value in (("code", "371300-01-0009"), ("service", "residents"), ("answer", "rows")):
        with refuses(Invalid, field=field, match="stays"):
            actions.update_dataset(
                parts, user, dataset_id, resident_check_fields(CHAIR, **{field: value})
            )
    with refuses(Forbidden, match="belongs to another city"):
        actions.update_dataset(sc.parts[ZAOZHUANG], user_of(ZAOZHUANG), dataset_id, renamed)
    with refuses(NotFound):
        actions.update_dataset(parts, user, "dataset/371300/99", renamed)


def test_an_agreed_field_cannot_be_removed_or_closed(sc: SharingCities, refuses: Refuses) -> None:
    agreement = sc.agreement(ZAOZHUANG, CHAIR)
    dataset_id = "dataset/371300/1"
    entry = sample.resident_check(CHAIR)
    closed = [
        {**f, "category": "不予共享"} if f["name"] == "身份证号" else f for f in entry["fields"]
    ]
    parts, user = sc.parts[CHAIR], user_of(CHAIR)
    with refuses(Conflict, field="fields", match=agreement):
        actions.update_dataset(
            parts, user, dataset_id, DatasetFields.model_validate({**entry, "fields": closed})
        )
    # A field no agreement grants may change.
    opened = [
        {**f, "category": "有条件共享"} if f["name"] == "姓名" else f for f in entry["fields"]
    ]
    actions.update_dataset(
        parts, user, dataset_id, DatasetFields.model_validate({**entry, "fields": opened})
    )
    actions.revoke_agreement(parts, user, agreement, "终止（示例数据）")
    actions.update_dataset(
        parts, user, dataset_id, DatasetFields.model_validate({**entry, "fields": closed})
    )


def test_withdraw(sc: SharingCities, refuses: Refuses) -> None:
    agreement = sc.agreement(ZAOZHUANG, CHAIR)
    dataset_id = "dataset/371300/1"
    parts, user = sc.parts[CHAIR], user_of(CHAIR)
    with refuses(Conflict, field="dataset", match=agreement):
        actions.withdraw_dataset(parts, user, dataset_id)
    with refuses(Forbidden):
        actions.withdraw_dataset(sc.parts[ZAOZHUANG], user_of(ZAOZHUANG), dataset_id)
    actions.revoke_agreement(parts, user, agreement, "终止（示例数据）")
    actions.withdraw_dataset(parts, user, dataset_id, "停止提供（示例数据）")
    view = queries.dataset(sc.h.engine, dataset_id)
    assert view is not None and (view.status, view.withdrawn_reason) == (
        "withdrawn",
        "停止提供（示例数据）",
    )
    assert queries.datasets(sc.h.engine) == []
    assert [d.id for d in queries.datasets(sc.h.engine, include_withdrawn=True)] == [dataset_id]
    with refuses(Conflict, match="already withdrawn"):
        actions.withdraw_dataset(parts, user, dataset_id)
    with refuses(Conflict, match="withdrawn"):
        actions.update_dataset(parts, user, dataset_id, resident_check_fields(CHAIR))


def test_search_and_filter_the_alliance_catalog(sc: SharingCities) -> None:
    for city in (CHAIR, ZAOZHUANG, JINING, HEZE):
        sc.publish(city)
        for entry in sample.other_entries(city):
            sc.publish(city, DatasetFields.model_validate(entry))
    engine = sc.h.engine
    everything = queries.datasets(engine)
    assert len(everything) == 16
    assert [d.code for d in everything] == sorted(d.code for d in everything)
    assert {d.provider for d in queries.datasets(engine, city=JINING)} == {JINING}
    police = queries.datasets(engine, department="公安局")
    assert len(police) == 4 and {d.service for d in police} == {"resident-check"}
    assert len(queries.datasets(engine, category="有条件共享")) == 8
    assert len(queries.datasets(engine, category="无条件共享")) == 8
    assert queries.datasets(engine, category="不予共享") == []
    by_field = queries.datasets(engine, q="统一社会信用代码")  # a field's name
    assert {d.service for d in by_field} == {"enterprises"}
    assert [d.code for d in queries.datasets(engine, city=HEZE, q="371700-05")] == [
        "371700-05-0001"
    ]
    assert "菏泽市公安局" in queries.departments(engine, HEZE)
    assert open_dataset_fields(CHAIR).sample
