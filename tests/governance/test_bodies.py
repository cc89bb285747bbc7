"""Bodies (领导小组, 工作专班): alliance-wide, set up and changed by the chair city only."""

from __future__ import annotations

import pytest
from factories import CHAIR, Gov, user_of
from pydantic import ValidationError

from lunan.events.errors import Conflict, Forbidden, Invalid
from lunan.governance import actions, queries
from lunan.governance.models import BodyFields, BodyMember

ZAOZHUANG = "370400"


def task_force(**changes: object) -> BodyFields:
    values: dict[str, object] = {
        "kind": "工作专班",
        "name": "交通互联工作专班（示例数据）",
        "lead_city": ZAOZHUANG,
        "lead_department": "枣庄市交通运输局",
        "members": [
            {"city": ZAOZHUANG, "department": "枣庄市交通运输局", "position": "牵头单位"},
            {"city": CHAIR, "department": "临沂市交通运输局", "person": "联络员（示例数据）"},
        ],
    }
    return BodyFields.model_validate({**values, **changes})


def test_the_chair_sets_up_changes_and_dissolves_a_body(gov: Gov) -> None:
    p, u = gov.parts[CHAIR], user_of(CHAIR)
    group = actions.create_body(p, u, BodyFields(kind="领导小组", name="一体化发展领导小组"))
    force = actions.create_body(p, u, task_force())
    assert (group, force) == ("body/371300/1", "body/371300/2")
    views = queries.bodies(gov.h.engine)
    assert [b.kind for b in views] == ["领导小组", "工作专班"]
    assert views[1].lead_city_name == "枣庄"
    assert views[1].members[1] == BodyMember(
        city=CHAIR, department="临沂市交通运输局", person="联络员（示例数据）"
    )

    actions.update_body(p, u, force, task_force(name="交通互联专班"))
    actions.dissolve_body(p, u, force, "任务完成")
    view = queries.body(gov.h.engine, force)
    assert view is not None and (view.name, view.status, view.note) == (
        "交通互联专班",
        "dissolved",
        "任务完成",
    )
    assert [b.id for b in queries.bodies(gov.h.engine, include_dissolved=False)] == [group]
    with pytest.raises(Conflict):
        actions.update_body(p, u, force, task_force())
    assert gov.raw(CHAIR, "gov.body.updated", force, task_force().model_dump(mode="json")) == (
        "rejected",
        "dissolved",
    )


def test_a_body_of_a_non_chair_is_refused_and_its_raw_event_rejected(gov: Gov) -> None:
    sizes = gov.sizes()
    with pytest.raises(Forbidden, match="轮值城市"):
        actions.create_body(gov.parts[ZAOZHUANG], user_of(ZAOZHUANG), task_force())
    assert gov.sizes() == sizes
    body = task_force().model_dump(mode="json")
    assert gov.raw(ZAOZHUANG, "gov.body.created", "body/370400/1", body) == (
        "rejected",
        "not-chair",
    )
    assert queries.bodies(gov.h.engine) == []


def test_a_task_force_is_led_by_a_city_department() -> None:
    with pytest.raises(ValidationError, match="lead_department"):
        task_force(lead_department="")
    with pytest.raises(ValidationError, match="lead_city"):
        task_force(lead_city=None)
    BodyFields(kind="领导小组", name="领导小组")  # the leadership group need not be


def test_cities_must_be_members_and_the_kind_stays(gov: Gov) -> None:
    p, u = gov.parts[CHAIR], user_of(CHAIR)
    with pytest.raises(Invalid) as e:
        actions.create_body(p, u, task_force(lead_city="370100"))
    assert e.value.field == "lead_city"
    bad_member = [{"city": "370100", "department": "济南市发展改革委"}]
    with pytest.raises(Invalid) as e:
        actions.create_body(p, u, task_force(members=bad_member))
    assert e.value.field == "members[0].city"
    force = actions.create_body(p, u, task_force())
    with pytest.raises(Invalid) as e:
        actions.update_body(p, u, force, BodyFields(kind="领导小组", name="x"))
    assert e.value.field == "kind"
    raw = task_force(lead_city="370100").model_dump(mode="json")
    assert gov.raw(CHAIR, "gov.body.created", "body/371300/9", raw) == ("rejected", "unknown-city")
