"""The ledger's projection is a function of the logs, not of the order their entries arrive in:
a scenario across the four logs (with a chair handover and refused events) folds to the same
state in any interleaving that keeps each log's own order."""

from __future__ import annotations

import contextlib
from datetime import date
from pathlib import Path

from factories import (
    CHAIR,
    CoopLedger,
    assert_any_interleaving_folds_the_same,
    coop_ledger,
    hand_over,
    task_fields,
    user_of,
)

from lunan.coop import actions, queries
from lunan.coop.events import ReportBody
from lunan.coop.models import AreaList, CompletionFields, ExtensionFields, NoticeFields, Rules
from lunan.events.registry import Rejected

LEAD, PARTNER, OUTSIDER = "370400", "370800", "371700"


def write_scenario(led: CoopLedger) -> None:
    chair, lead = led.parts[CHAIR], led.parts[LEAD]
    top = led.create(number="1")
    a = led.create(number="1.1", parent=top, weight=40)
    b = led.create(number="1.2", parent=top, weight=60)
    led.report(LEAD, a, 50)
    led.report(PARTNER, top, 20)
    with contextlib.suppress(Rejected):  # no deps on the task: refused, but in the log
        body = ReportBody(task=a, period="2026-03", progress=5)
        led.h.writers[OUTSIDER].append("coop.report.filed", f"report/{OUTSIDER}/1", body, {})
    actions.set_rules(chair, user_of(CHAIR), Rules(effective_from=date(2026, 2, 1)))
    actions.set_areas(chair, user_of(CHAIR), AreaList(areas=("交通互联", "数据共享")))
    notice = actions.send_notice(chair, user_of(CHAIR), a, NoticeFields(kind="催办", message="m"))
    actions.acknowledge_notice(lead, user_of(LEAD), notice)
    ext = ExtensionFields(new_deadline=date(2027, 3, 31), reason="r")
    request = actions.request_extension(lead, user_of(LEAD), b, ext)
    actions.decide(chair, user_of(CHAIR), request, True, "")
    # The chair hands over to 枣庄, which then owns the alliance-wide objects.
    hand_over(led.h, CHAIR, LEAD, date(2027, 1, 1), date(2027, 12, 31))
    with contextlib.suppress(Rejected):  # no longer the chair
        led.h.writers[CHAIR].append(
            "coop.task.created", f"task/{CHAIR}/9", task_fields(number="9"), {}
        )
    actions.update_task(lead, user_of(LEAD), top, task_fields(number="1", title="改（示例数据）"))
    actions.create_task(lead, user_of(LEAD), task_fields(number="2", area="数据共享"))
    done = actions.request_completion(lead, user_of(LEAD), a, CompletionFields(summary="s"))
    actions.decide(lead, user_of(LEAD), done, True, "")


def test_any_interleaving_of_the_logs_folds_to_the_same_ledger(tmp_path: Path) -> None:
    with coop_ledger(tmp_path) as led:
        write_scenario(led)
        views = {v.fields.number: v for v in queries.list_tasks(led.engine)}
        assert (views["1.1"].status, views["1.2"].status) == ("已办结", "已延期")
        assert views["2"].id == f"task/{LEAD}/1"
        h = led.h
        assert_any_interleaving_folds_the_same(h, examples=20, steps=60)
