"""The demo's governance sample data: written through each city's API, FACTS.md kept exactly,
everything invented labelled 示例数据."""

from __future__ import annotations

from collections.abc import Callable

from factories import CHAIR, CITIES, Gov
from fastapi.testclient import TestClient
from sqlalchemy import select

from lunan.events.tables import p_events
from lunan.governance import queries
from lunan.sample import governance as sample
from lunan.sample.api import DemoApi

FOUR_AGREEMENTS = [  # FACTS.md, "The event", in its order
    ("鲁南经济圈红色文化旅游合作框架协议", "框架协议"),
    ("共建鲁南经济圈科技协同创新中心战略合作框架协议书", "协议书"),
    ("鲁南经济圈党媒战略合作意向书", "意向书"),
    ("鲁南经济圈一体化发展法治合作交流协议", "合作协议"),
]


def test_the_sample_keeps_the_facts_and_labels_the_rest(
    gov: Gov, client_for: Callable[..., TestClient]
) -> None:
    api = DemoApi({c: client_for(c) for c in CITIES}, gov.h.projector.catch_up)
    sample.seed(api)
    engine = gov.h.engine
    with engine.connect() as conn:
        q = select(p_events.c.type, p_events.c.reason).where(p_events.c.status == "rejected")
        assert conn.execute(q).all() == []

    meetings = queries.meetings(engine)
    assert [(m.number, m.status) for m in meetings] == [(1, "approved"), (2, "approved")]
    second = meetings[1]
    assert second.title == "鲁南经济圈一体化发展推进会暨第2次联席会议"
    assert (second.date.month, second.date.day, second.host_city) == (5, 13, CHAIR)
    assert second.agenda[0].title == "启动鲁南经济圈乡村振兴一体化发展系列活动"
    assert "推断" in second.note and "示例数据" in second.note
    assert "示例数据" in meetings[0].note

    agreements = queries.agreements(engine)
    assert [(a.title, a.kind) for a in agreements] == FOUR_AGREEMENTS
    for a in agreements:
        assert a.effective, a.title
        assert [p.city for p in a.parties] == list(CITIES)
        assert a.source_ref is not None and a.source_ref.startswith(f"{second.id}#r")
        assert "示例数据" in a.text
    created = queries.created_from(engine, second.id)
    assert sorted(c.object for c in created if c.linked) == sorted(a.id for a in agreements)

    bodies = queries.bodies(engine)
    assert [b.kind for b in bodies][:2] == ["领导小组", "工作专班"]
    assert all("示例数据" in b.note for b in bodies)
    assert all(b.lead_department for b in bodies if b.kind == "工作专班")

    projects = {p.name: p for p in queries.projects(engine)}
    assert set(projects) == {"山东中药材产业园", "鲁南大健康产业园", "格力电器(临沂)智能制造基地"}
    assert projects["山东中药材产业园"].location == ""  # the source does not say where
    assert projects["格力电器(临沂)智能制造基地"].location == "临沂"
    assert all("示例数据" in p.note for p in projects.values())
