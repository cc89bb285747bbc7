"""The sample ledger (lunan.sample.tasks): 23 labelled tasks over the areas FACTS.md names, and
a realistic mix of colours whatever day the demo runs; then the same written through the API."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import date
from fractions import Fraction

import pytest
from factories import CHAIR, CITIES, COOP_TODAY, user_of
from factories import CoopLedger as Ledger
from fastapi.testclient import TestClient

from lunan.coop import queries, spreadsheet
from lunan.coop import supervision as sv
from lunan.coop.models import AREAS, TaskFields
from lunan.sample import tasks as sample
from lunan.sample.api import DemoApi
from lunan.sample.tasks import SAMPLE, SampleTask, sample_tasks

# The areas FACTS.md speaks of: 交通互联 (rail, expressways, airports, waterways), the 十强产业,
# the 科创联盟 and 科技协同创新中心, tourism, rural revitalization, the 区块链联盟 and the
# 政务数据共享协议, rule-of-law cooperation, policy sharing.
FACTS_AREAS = {
    "交通互联",
    "产业协同",
    "科技创新",
    "文化旅游",
    "乡村振兴",
    "数据共享",
    "法治协作",
    "公共服务",
}
MIX = {"绿": 15, "黄": 5, "红": 3}
STATUSES = {"已办结": 1, "已完成": 1, "已延期": 1, "待启动": 1, "推进中": 19}
# Days the demo might run on: today in the tests' clock, a leap day, a year's last day.
DAYS = [COOP_TODAY, date(2028, 2, 29), date(2031, 12, 31)]


def colours(tasks: list[SampleTask], today: date) -> dict[str, str]:
    """Each task's colour on `today` by the default rules, with every report, approval and
    notice dated today (the day the sample is written), as the queries would compute it."""
    steps: dict[str, sv.Steps] = {}
    for t in tasks:  # leaves: the lead's report
        lead = [r.report.progress for r in t.reports if r.city == t.fields.lead_city]
        steps[t.fields.number] = tuple((today, Fraction(p)) for p in lead)
    for t in tasks:  # the parent: its children's weighted mean
        kids = [
            (steps[k.fields.number], k.fields.weight) for k in tasks if k.parent == t.fields.number
        ]
        if kids:
            steps[t.fields.number] = sv.rollup_steps(kids)
    out = {}
    for t in tasks:
        extension = t.extension if t.extension_approved else None
        facts = sv.Facts(
            start=t.fields.start,
            deadline=t.fields.deadline,
            progress=steps[t.fields.number],
            extensions=() if extension is None else ((today, extension.new_deadline),),
            completed_on=today if t.completion is not None else None,
        )
        out[t.fields.number] = sv.assess(facts, sv.DEFAULT, today).colour
    return out


@pytest.mark.parametrize("today", DAYS)
def test_23_valid_labelled_tasks(today: date) -> None:
    tasks = sample_tasks(today)
    assert len(tasks) == 23
    assert len({t.fields.number for t in tasks}) == 23
    for t in tasks:
        assert TaskFields.model_validate(t.fields.model_dump()) == t.fields
        assert t.fields.requirement.startswith(SAMPLE), t.fields.number
        texts = [r.report.done for r in t.reports] + [n.message for n in t.notices]
        texts += [t.extension.reason] if t.extension else []
        texts += [t.completion.summary] if t.completion else []
        assert all(text.startswith(SAMPLE) for text in texts), t.fields.number
        assert all(t.fields.start <= m.date <= t.fields.deadline for m in t.fields.milestones)
    numbers = [t.fields.number for t in tasks]
    assert all(numbers.index(t.parent) < numbers.index(t.fields.number) for t in tasks if t.parent)


def test_the_tasks_cover_the_areas_and_all_four_cities() -> None:
    tasks = sample_tasks(COOP_TODAY)
    assert {t.fields.area for t in tasks} == FACTS_AREAS
    assert set(AREAS) >= FACTS_AREAS
    assert {t.fields.lead_city for t in tasks} == set(CITIES)
    assert {c for t in tasks for c in t.fields.partner_cities} == set(CITIES)
    leads = {r.city for t in tasks for r in t.reports if r.city == t.fields.lead_city}
    partners = {r.city for t in tasks for r in t.reports if r.city != t.fields.lead_city}
    assert leads == partners == set(CITIES)
    for t in tasks:
        reporters = [r.city for r in t.reports]
        assert set(reporters) <= {t.fields.lead_city, *t.fields.partner_cities}
    # the source's figures, quoted exactly where a task cites them
    text = " ".join(t.fields.title + t.fields.requirement for t in tasks)
    for figure in ("1780家高新技术企业", "53家国家级孵化器", "6家国家农业科技园区", "67处景点"):
        assert figure in text
    assert (
        "6条红色旅游精品线路" in text and "100个农产品基地" in text and "104个产销合作协议" in text
    )


def test_one_parent_with_weighted_children() -> None:
    tasks = sample_tasks(COOP_TODAY)
    parents = {t.parent for t in tasks if t.parent is not None}
    assert parents == {"LN-01"}
    children = [t for t in tasks if t.parent == "LN-01"]
    assert len(children) == 4
    assert sum(t.fields.weight or 0 for t in children) == 100
    [parent] = [t for t in tasks if t.fields.number == "LN-01"]
    assert parent.reports == ()  # its progress is its children's


@pytest.mark.parametrize("today", DAYS)
def test_a_realistic_mix_of_colours_whatever_the_day(today: date) -> None:
    tasks = sample_tasks(today)
    assert Counter(colours(tasks, today).values()) == MIX
    extensions = [t for t in tasks if t.extension is not None]
    assert sorted(t.extension_approved for t in extensions) == [False, True]
    assert [t.fields.number for t in tasks if t.completion] == ["LN-07"]
    assert sorted(n.kind for t in tasks for n in t.notices) == ["催办", "督办"]


# --- written through the cities' APIs ------------------------------------------------------


def test_the_seed_writes_the_ledger_through_each_citys_api(
    ledger: Ledger, client_for: Callable[[str, str], TestClient]
) -> None:
    clients = {city: client_for(city, "coordinator") for city in CITIES}
    # one projector folds all four logs here: every write is visible at once
    sample.seed(DemoApi(dict(clients), settle=lambda: None), today=COOP_TODAY)
    views = queries.list_tasks(ledger.engine, today=COOP_TODAY)
    assert len(views) == 23
    assert Counter(v.colour for v in views) == MIX
    assert Counter(v.status for v in views) == STATUSES
    assert {v.fields.number: v.colour for v in views} == colours(
        sample_tasks(COOP_TODAY), COOP_TODAY
    )
    parent = next(v for v in views if v.fields.number == "LN-01")
    assert len(parent.children) == 4 and parent.progress == 43.0  # 50·30 + 30·30 + 55·20 + 40·20
    reports = [r for v in views for r in (*v.lead_reports, *v.partner_reports)]
    assert {r.city for r in reports} == set(CITIES)
    requests = [r.state for v in views for r in (*v.extensions, *v.completions)]
    assert sorted(requests) == ["已批准", "已批准", "待审批"]
    assert sorted(n.kind for v in views for n in v.notices) == ["催办", "督办"]
    assert all(v.created.startswith(CHAIR) for v in views)


def test_the_sample_ledger_exports_and_imports_back_unchanged(
    ledger: Ledger, client_for: Callable[[str, str], TestClient]
) -> None:
    clients = {city: client_for(city, "coordinator") for city in CITIES}
    sample.seed(DemoApi(dict(clients), settle=lambda: None), today=COOP_TODAY)
    chair = ledger.parts[CHAIR]
    data = spreadsheet.export_tasks(chair, today=COOP_TODAY)
    before = ledger.sizes()
    result = spreadsheet.import_tasks(chair, user_of(CHAIR), data)
    assert (result.created, result.updated, len(result.unchanged)) == ((), (), 23)
    assert ledger.sizes() == before
    assert spreadsheet.read_workbook(spreadsheet.export_tasks(chair, today=COOP_TODAY)) == (
        spreadsheet.read_workbook(data)
    )
