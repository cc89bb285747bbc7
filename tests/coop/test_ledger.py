"""The task ledger's actions and projections on four cities: who may write what, what the
projection refuses, and what the queries compute from the stored facts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from factories import CHAIR, COOP_TODAY, actor, hand_over, task_fields, user_of
from factories import CoopLedger as Ledger

from lunan.coop import actions, queries
from lunan.coop.events import ReportBody
from lunan.coop.models import (
    AreaList,
    CompletionFields,
    ExtensionFields,
    NoticeFields,
    ReportFields,
    Rules,
)
from lunan.events.errors import Conflict, Forbidden, Invalid, NotFound
from lunan.events.registry import Rejected

Clock = Callable[[str], None]
LEAD, PARTNER, OUTSIDER = "370400", "370800", "371700"  # 枣庄 leads, 济宁 helps, 菏泽 not
TODAY = COOP_TODAY
D = date.fromisoformat


def view(ledger: Ledger, task_id: str, today: str = "2026-03-01") -> queries.TaskView:
    v = queries.get_task(ledger.engine, task_id, D(today))
    assert v is not None
    return v


# --- tasks ----------------------------------------------------------------------------------


def test_the_chair_registers_a_task_that_waits_for_its_start(ledger: Ledger) -> None:
    task_id = ledger.create()
    assert task_id == f"task/{CHAIR}/1"
    v = view(ledger, task_id, "2026-01-01")
    assert v.fields == task_fields()
    assert (v.status, v.progress, v.colour, v.expected_progress) == ("待启动", 0.0, "绿", 0.0)
    assert v.effective_deadline == D("2026-12-31")
    assert queries.task_by_number(ledger.engine, "1") == queries.get_task(ledger.engine, task_id)


def test_only_the_chair_city_registers_tasks(ledger: Ledger) -> None:
    before = ledger.sizes()
    with pytest.raises(Forbidden, match="轮值城市"):
        actions.create_task(ledger.parts[LEAD], user_of(LEAD), task_fields())
    with pytest.raises(Forbidden, match=r"tasks\.manage"):  # an officer of the chair city
        actions.create_task(ledger.parts[CHAIR], user_of(CHAIR, "officer"), task_fields())
    with pytest.raises(Forbidden, match="own city"):  # a user of another city on this node
        actions.create_task(ledger.parts[CHAIR], user_of(LEAD), task_fields())
    assert ledger.sizes() == before


def test_a_task_event_from_a_city_that_is_not_the_chair_is_rejected(ledger: Ledger) -> None:
    with pytest.raises(Rejected) as e:
        ledger.h.writers[LEAD].append(
            "coop.task.created", f"task/{LEAD}/1", task_fields(), actor(LEAD)
        )
    assert e.value.reason == "not-chair"
    assert ledger.outcome(LEAD, ledger.h.logs[LEAD].size() - 1) == ("rejected", "not-chair")
    assert queries.list_tasks(ledger.engine) == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"lead_city": "110000"}, "lead_city"),
        ({"partner_cities": ("370800", "999999")}, "partner_cities.1"),
        ({"area": "航天"}, "area"),
        ({"parent": f"task/{CHAIR}/9"}, "parent"),
    ],
)
def test_invalid_task_fields_are_refused_naming_the_field(
    ledger: Ledger, changes: dict[str, object], field: str
) -> None:
    before = ledger.sizes()
    with pytest.raises(Invalid) as e:
        ledger.create(**changes)
    assert e.value.field == field
    assert ledger.sizes() == before


def test_task_numbers_are_unique(ledger: Ledger) -> None:
    ledger.create(number="7")
    with pytest.raises(Conflict) as e:
        ledger.create(number="7", title="另一项（示例数据）")
    assert e.value.field == "number"
    # The projection refuses a duplicate written around the action, too.
    with pytest.raises(Rejected) as r:
        ledger.h.writers[CHAIR].append(
            "coop.task.created", f"task/{CHAIR}/5", task_fields(number="7"), actor(CHAIR)
        )
    assert r.value.reason == "duplicate-number"


def test_a_parent_must_exist_in_the_events_the_task_depends_on(ledger: Ledger) -> None:
    with pytest.raises(Rejected) as e:
        ledger.h.writers[CHAIR].append(
            "coop.task.created",
            f"task/{CHAIR}/1",
            task_fields(parent=f"task/{CHAIR}/2"),
            actor(CHAIR),
        )
    assert e.value.reason == "unknown-object"


def test_updating_a_task(ledger: Ledger) -> None:
    chair, user = ledger.parts[CHAIR], user_of(CHAIR)
    task_id = ledger.create()
    child = ledger.create(number="1.1", parent=task_id)
    before = ledger.sizes()
    assert actions.update_task(chair, user, task_id, task_fields()) is False
    assert ledger.sizes() == before  # nothing changed, nothing written
    with pytest.raises(Invalid) as e:
        actions.update_task(
            chair, user, task_id, task_fields(lead_city="370800", partner_cities=())
        )
    assert e.value.field == "lead_city"
    with pytest.raises(Invalid) as e:  # a loop: the task under its own child
        actions.update_task(chair, user, task_id, task_fields(parent=child))
    assert e.value.field == "parent"
    with pytest.raises(Conflict):
        actions.update_task(chair, user, task_id, task_fields(number="1.1"))
    with pytest.raises(NotFound):
        actions.update_task(chair, user, f"task/{CHAIR}/99", task_fields())
    assert ledger.sizes() == before
    assert actions.update_task(chair, user, task_id, task_fields(title="新名称（示例数据）"))
    v = view(ledger, task_id)
    assert v.fields.title == "新名称（示例数据）"
    assert v.updated != v.created
    # The projection keeps the lead city too.
    with pytest.raises(Rejected) as r:
        ledger.h.writers[CHAIR].append(
            "coop.task.updated",
            task_id,
            task_fields(lead_city="370800", partner_cities=()),
            actor(CHAIR),
        )
    assert r.value.reason == "lead-fixed"


def test_areas_are_configured_by_the_chair(ledger: Ledger) -> None:
    chair, user = ledger.parts[CHAIR], user_of(CHAIR)
    task_id = ledger.create(area="交通互联")
    actions.set_areas(chair, user, AreaList(areas=("航空物流", "乡村振兴")))
    assert queries.current_areas(ledger.engine) == ("航空物流", "乡村振兴")
    ledger.create(number="2", area="航空物流")
    with pytest.raises(Invalid):
        ledger.create(number="3", area="交通互联")
    # A task keeps an area that was dropped from the list.
    assert actions.update_task(chair, user, task_id, task_fields(title="改（示例数据）"))
    with pytest.raises(Forbidden):
        actions.set_areas(ledger.parts[LEAD], user_of(LEAD), AreaList(areas=("x",)))


# --- progress reports -----------------------------------------------------------------------


def test_the_lead_sets_the_progress_and_partners_report_beside_it(ledger: Ledger) -> None:
    task_id = ledger.create()
    ledger.report(PARTNER, task_id, 80)
    v = view(ledger, task_id)
    assert (v.progress, v.status) == (0.0, "推进中")  # a partner's report sets nothing
    assert [r.city for r in v.partner_reports] == [PARTNER]
    ledger.report(LEAD, task_id, 30)
    ledger.report(LEAD, task_id, 40, period="2026-04")
    v = view(ledger, task_id)
    assert v.progress == 40.0
    assert [r.progress for r in v.lead_reports] == [40, 30]  # newest first
    assert [r.progress for r in v.partner_reports] == [80]


def test_a_city_that_neither_leads_nor_helps_cannot_report(ledger: Ledger) -> None:
    task_id = ledger.create()
    before = ledger.sizes()
    with pytest.raises(Forbidden, match="牵头城市和配合城市"):
        ledger.report(OUTSIDER, task_id, 50)
    with pytest.raises(Forbidden):  # a viewer of the lead city
        actions.report_progress(
            ledger.parts[LEAD],
            user_of(LEAD, "viewer"),
            task_id,
            ReportFields(period="p", progress=1),
        )
    with pytest.raises(NotFound):
        ledger.report(LEAD, f"task/{CHAIR}/99", 50)
    assert ledger.sizes() == before


def test_progress_outside_0_to_100_is_invalid() -> None:
    for progress in (-1, 101):
        with pytest.raises(ValueError, match="progress"):
            ReportFields(period="2026-03", progress=progress)


def test_a_report_written_without_deps_on_the_task_is_rejected(ledger: Ledger) -> None:
    task_id = ledger.create()
    body = ReportBody(task=task_id, period="2026-03", progress=50)
    with pytest.raises(Rejected) as e:
        ledger.h.writers[LEAD].append("coop.report.filed", f"report/{LEAD}/1", body, actor(LEAD))
    assert e.value.reason == "unknown-object"
    assert view(ledger, task_id).lead_reports == ()


# --- notices --------------------------------------------------------------------------------


def test_the_chair_reminds_the_lead_who_acknowledges(ledger: Ledger) -> None:
    task_id = ledger.create()
    notice = NoticeFields(
        kind="催办", message="请于月底前报送进展（示例数据）", due=D("2026-03-31")
    )
    before = ledger.sizes()
    with pytest.raises(Forbidden):
        actions.send_notice(ledger.parts[LEAD], user_of(LEAD), task_id, notice)
    assert ledger.sizes() == before
    notice_id = actions.send_notice(ledger.parts[CHAIR], user_of(CHAIR), task_id, notice)
    with pytest.raises(Forbidden, match="addressed"):
        actions.acknowledge_notice(ledger.parts[PARTNER], user_of(PARTNER), notice_id)
    ack = actions.acknowledge_notice(ledger.parts[LEAD], user_of(LEAD, "officer"), notice_id)
    assert ack == f"ack/{LEAD}/1"
    with pytest.raises(Conflict):
        actions.acknowledge_notice(ledger.parts[LEAD], user_of(LEAD), notice_id)
    (n,) = view(ledger, task_id).notices
    assert (n.kind, n.to_city, n.due) == ("催办", LEAD, D("2026-03-31"))
    assert n.acknowledged is not None and n.acknowledged.id == ack


def test_notices_of_a_city_that_is_not_the_chair_are_rejected(ledger: Ledger) -> None:
    task_id = ledger.create()
    writer = ledger.h.writers[LEAD]
    body = {"task": task_id, "kind": "督办", "message": "x", "due": None}
    with pytest.raises(Rejected) as e:
        writer.append(
            "coop.notice.sent", f"notice/{LEAD}/1", body, actor(LEAD), writer.deps_for(task_id)
        )
    assert e.value.reason == "not-chair"
    notice_id = actions.send_notice(
        ledger.parts[CHAIR], user_of(CHAIR), task_id, NoticeFields(kind="督办", message="y")
    )
    other = ledger.h.writers[PARTNER]
    with pytest.raises(Rejected) as e:
        other.append(
            "coop.notice.acknowledged",
            f"ack/{PARTNER}/1",
            {"notice": notice_id},
            actor(PARTNER),
            other.deps_for(notice_id),
        )
    assert e.value.reason == "not-addressee"


# --- requests and decisions -----------------------------------------------------------------


def test_an_approved_extension_moves_the_effective_deadline(ledger: Ledger, clock: Clock) -> None:
    clock("2026-03-01")
    task_id = ledger.create()
    lead, chair = ledger.parts[LEAD], ledger.parts[CHAIR]
    later = ExtensionFields(new_deadline=D("2027-06-30"), reason="征地延后（示例数据）")
    with pytest.raises(Forbidden):  # only the lead asks
        actions.request_extension(ledger.parts[PARTNER], user_of(PARTNER), task_id, later)
    with pytest.raises(Invalid) as e:
        actions.request_extension(
            lead, user_of(LEAD), task_id, ExtensionFields(new_deadline=D("2026-12-31"), reason="r")
        )
    assert e.value.field == "new_deadline"
    request = actions.request_extension(lead, user_of(LEAD), task_id, later)
    with pytest.raises(Conflict):  # one pending request at a time
        actions.request_extension(lead, user_of(LEAD), task_id, later)
    assert view(ledger, task_id).effective_deadline == D("2026-12-31")
    with pytest.raises(Forbidden):  # only the chair decides
        actions.decide(lead, user_of(LEAD), request, True, "")
    clock("2026-03-05")
    decision = actions.decide(chair, user_of(CHAIR), request, True, "同意（示例数据）")
    assert decision == f"decision/{CHAIR}/1"
    with pytest.raises(Conflict):
        actions.decide(chair, user_of(CHAIR), request, False, "")
    v = view(ledger, task_id, "2026-03-10")
    assert (v.effective_deadline, v.status) == (D("2027-06-30"), "已延期")
    (ext,) = v.extensions
    assert ext.state == "已批准" and ext.decision is not None and ext.decision.id == decision
    # Judged as of a day before the approval, the old deadline was in force.
    assert view(ledger, task_id, "2026-03-04").effective_deadline == D("2026-12-31")


def test_a_refused_extension_leaves_the_deadline(ledger: Ledger) -> None:
    task_id = ledger.create()
    request = actions.request_extension(
        ledger.parts[LEAD],
        user_of(LEAD),
        task_id,
        ExtensionFields(new_deadline=D("2027-01-31"), reason="r"),
    )
    actions.decide(ledger.parts[CHAIR], user_of(CHAIR), request, False, "理由不足（示例数据）")
    v = view(ledger, task_id)
    assert (v.effective_deadline, v.status, v.extensions[0].state) == (
        D("2026-12-31"),
        "待启动",
        "未批准",
    )


def test_an_approved_completion_closes_the_task(ledger: Ledger) -> None:
    task_id = ledger.create(start="2025-01-01", deadline="2025-12-31")  # overdue by now
    ledger.report(LEAD, task_id, 90)
    assert view(ledger, task_id).colour == "红"
    done = CompletionFields(summary="已全部完成（示例数据）")
    with pytest.raises(Forbidden):
        actions.request_completion(ledger.parts[PARTNER], user_of(PARTNER), task_id, done)
    request = actions.request_completion(ledger.parts[LEAD], user_of(LEAD), task_id, done)
    with pytest.raises(NotFound):
        actions.decide(ledger.parts[CHAIR], user_of(CHAIR), f"completion/{LEAD}/9", True, "")
    actions.decide(ledger.parts[CHAIR], user_of(CHAIR), request, True, "")
    v = queries.get_task(ledger.engine, task_id)
    assert v is not None
    assert (v.status, v.colour, v.why) == ("已办结", "绿", "已办结")
    with pytest.raises(Conflict):  # nothing more to report on a closed task
        ledger.report(LEAD, task_id, 95)


def test_a_lead_report_of_100_completes_the_task(ledger: Ledger) -> None:
    task_id = ledger.create()
    ledger.report(LEAD, task_id, 100)
    v = view(ledger, task_id)
    assert (v.status, v.colour, v.progress) == ("已完成", "绿", 100.0)


# --- colours --------------------------------------------------------------------------------


def test_the_colour_follows_the_rules_in_force(ledger: Ledger, clock: Clock) -> None:
    clock("2026-01-01")
    # 100 days from start to deadline: on day d the expected progress is d points.
    task_id = ledger.create(start="2026-01-01", deadline="2026-04-11")
    ledger.report(LEAD, task_id, 20)
    assert view(ledger, task_id, "2026-01-30").colour == "绿"  # 29 expected, 9 behind
    assert view(ledger, task_id, "2026-01-31").colour == "黄"  # 10 behind: X
    assert view(ledger, task_id, "2026-02-19").colour == "黄"  # 29 behind
    assert view(ledger, task_id, "2026-02-20").colour == "红"  # 30 behind: Y
    assert view(ledger, task_id, "2026-04-12").colour == "红"  # overdue
    before = ledger.sizes()
    with pytest.raises(Forbidden):
        actions.set_rules(ledger.parts[LEAD], user_of(LEAD), Rules(effective_from=D("2026-01-01")))
    assert ledger.sizes() == before
    rules = Rules(effective_from=D("2026-02-01"), yellow_behind=20, yellow_days=5, red_behind=40)
    actions.set_rules(ledger.parts[CHAIR], user_of(CHAIR), rules)
    assert view(ledger, task_id, "2026-01-31").colour == "黄"  # the defaults still, that day
    assert view(ledger, task_id, "2026-02-20").colour == "黄"  # 30 behind < 40
    assert queries.rules_in_force(ledger.engine, D("2026-02-01")).red_behind == 40


def test_the_colour_history_changes_when_a_report_arrives(ledger: Ledger, clock: Clock) -> None:
    clock("2026-01-01")
    task_id = ledger.create(start="2026-01-01", deadline="2026-04-11")
    clock("2026-02-10")  # 40 expected, 0 done: red since 2026-01-31
    ledger.report(LEAD, task_id, 35)
    history = queries.colour_history(ledger.engine, task_id, D("2026-02-12"))
    assert history is not None
    assert [(c.date.isoformat(), c.colour) for c in history] == [
        ("2026-01-01", "绿"),
        ("2026-01-11", "黄"),
        ("2026-01-31", "红"),
        ("2026-02-10", "绿"),
    ]
    assert history[-1].why == "按序时进度推进"
    assert queries.colour_history(ledger.engine, f"task/{CHAIR}/9") is None


# --- roll-ups -------------------------------------------------------------------------------


def test_a_parent_rolls_up_its_children(ledger: Ledger) -> None:
    parent = ledger.create(number="1")
    a = ledger.create(number="1.1", parent=parent, weight=30)
    b = ledger.create(number="1.2", parent=parent, weight=70)
    ledger.report(LEAD, a, 100)
    ledger.report(LEAD, b, 50)
    v = view(ledger, parent)
    assert v.children == (a, b)
    assert v.progress == 65.0  # (100·30 + 50·70) / 100
    chair = ledger.parts[CHAIR]
    actions.update_task(chair, user_of(CHAIR), b, task_fields(number="1.2", parent=parent))
    assert view(ledger, parent).progress == 75.0  # a weight missing: the plain mean
    rollup = queries.rollup_alliance(ledger.engine, TODAY)
    assert (rollup.tasks, rollup.mean_progress) == (1, 75.0)  # the sub-tasks count in it


def test_roll_ups_by_area_city_and_alliance(ledger: Ledger) -> None:
    t1 = ledger.create(number="1", area="交通互联")
    t2 = ledger.create(number="2", area="文化旅游", lead_city=PARTNER, partner_cities=(LEAD,))
    ledger.create(number="3", area="文化旅游", lead_city=OUTSIDER, partner_cities=())
    ledger.report(LEAD, t1, 30)
    ledger.report(PARTNER, t2, 60)
    today = TODAY
    areas = {r.key: r for r in queries.rollup_by_area(ledger.engine, today)}
    assert areas["交通互联"].tasks == 1 and areas["交通互联"].mean_progress == 30.0
    assert areas["文化旅游"].tasks == 2 and areas["文化旅游"].mean_progress == 30.0
    assert areas["法治协作"].tasks == 0 and areas["法治协作"].mean_progress is None
    cities = {c.city: c for c in queries.rollup_by_city(ledger.engine, today)}
    assert set(cities) == {CHAIR, LEAD, PARTNER, OUTSIDER}
    assert cities[LEAD].name == "枣庄"
    assert (cities[LEAD].as_lead.tasks, cities[LEAD].as_partner.tasks) == (1, 1)
    assert cities[PARTNER].as_lead.by_status["推进中"] == 1
    alliance = queries.rollup_alliance(ledger.engine, today)
    assert alliance.tasks == 3
    assert alliance.by_status == {"待启动": 1, "推进中": 2, "已完成": 0, "已办结": 0, "已延期": 0}
    assert sum(alliance.by_colour.values()) == 3
    assert alliance.mean_progress == 30.0


def test_filters_and_sorting(ledger: Ledger) -> None:
    ledger.create(number="10", deadline="2026-06-30")
    t2 = ledger.create(number="2", area="文化旅游", lead_city=PARTNER, partner_cities=(LEAD,))
    ledger.report(PARTNER, t2, 60)
    engine, today = ledger.engine, TODAY
    assert [v.fields.number for v in queries.list_tasks(engine, today=today)] == ["2", "10"]
    assert [v.fields.number for v in queries.list_tasks(engine, sort="-progress", today=today)] == [
        "2",
        "10",
    ]
    assert [v.id for v in queries.list_tasks(engine, partner_city=LEAD, today=today)] == [t2]
    assert [v.id for v in queries.list_tasks(engine, lead_city=PARTNER, today=today)] == [t2]
    assert [v.id for v in queries.list_tasks(engine, area="文化旅游", today=today)] == [t2]
    assert [v.id for v in queries.list_tasks(engine, status="推进中", today=today)] == [t2]
    due = queries.list_tasks(engine, due_before=D("2026-06-30"), today=today)
    assert [v.fields.number for v in due] == ["10"]
    with pytest.raises(ValueError, match="sort"):
        queries.list_tasks(engine, sort="title")


# --- the alliance-wide rules ----------------------------------------------------------------


def test_after_a_handover_the_new_chair_owns_the_tasks(ledger: Ledger) -> None:
    task_id = ledger.create()
    hand_over(ledger.h, CHAIR, LEAD, D("2027-01-01"), D("2027-12-31"))
    with pytest.raises(Forbidden):
        ledger.create(number="2")
    lead = ledger.parts[LEAD]
    assert actions.update_task(lead, user_of(LEAD), task_id, task_fields(title="新（示例数据）"))
    child = actions.create_task(lead, user_of(LEAD), task_fields(number="1.1", parent=task_id))
    assert child == f"task/{LEAD}/1"
    assert view(ledger, task_id).children == (child,)


def test_a_rebuild_gives_the_same_state(ledger: Ledger, clock: Clock) -> None:
    clock("2026-02-01")
    task_id = ledger.create()
    ledger.report(LEAD, task_id, 10)
    ledger.report(PARTNER, task_id, 20)
    actions.set_rules(ledger.parts[CHAIR], user_of(CHAIR), Rules(effective_from=D("2026-01-01")))
    request = actions.request_completion(
        ledger.parts[LEAD], user_of(LEAD), task_id, CompletionFields(summary="s")
    )
    actions.decide(ledger.parts[CHAIR], user_of(CHAIR), request, True, "")
    before = ledger.h.projector.dump()
    ledger.h.projector.rebuild()
    assert ledger.h.projector.dump() == before
