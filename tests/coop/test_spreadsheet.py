"""The ledger (台账) as a spreadsheet: export, all-or-nothing import, and the round trip, by
the functions, the CLI (`lunan tasks …`) and the API (GET /api/v1/tasks.xlsx, POST
/api/v1/tasks/import)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
import typer
from factories import CHAIR, COOP_TODAY, make_node, make_user, user_of
from factories import CoopLedger as Ledger
from fastapi.testclient import TestClient
from openpyxl import Workbook, load_workbook
from openpyxl.worksheet.worksheet import Worksheet
from typer.testing import CliRunner, Result

from lunan.coop import actions, queries, spreadsheet
from lunan.coop.cli import tasks_app
from lunan.coop.models import Attachment, Milestone
from lunan.coop.spreadsheet import COLUMNS, EDITABLE, SpreadsheetInvalid
from lunan.events.errors import Conflict, Forbidden
from lunan.log import open_log

ZAOZHUANG, JINING, HEZE = "370400", "370800", "371700"
HEADERS = [c.header for c in EDITABLE]
D = date.fromisoformat
Client = Callable[[str, str], TestClient]  # tests/coop/conftest.py's client_for


# --- helpers --------------------------------------------------------------------------------


def xlsx(rows: list[list[object]], header: list[str] | None = None) -> bytes:
    """A spreadsheet as an office user might make it: a header row, then the rows."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(HEADERS if header is None else header)
    for row in rows:
        ws.append(row)
    out = BytesIO()
    wb.save(out)
    return out.getvalue()


def row(number: str, **cells: object) -> list[object]:
    """A valid row (示例数据) led by 枣庄, in HEADERS order; `cells` by header replace cells."""
    values: dict[str, object] = {
        "编号": number,
        "任务名称": f"示例任务{number}（示例数据）",
        "工作目标及任务要求": "（示例数据）",
        "领域": "交通互联",
        "任务来源": "会议决议",
        "来源文件": None,
        "牵头城市": "枣庄",
        "牵头部门": "市交通运输局",
        "配合城市": "济宁、菏泽",
        "责任人": "张某",
        "开始日期": date(2026, 1, 1),
        "完成时限": "2026-12-31",
        "节点": "2026-03-31 完成方案\n2026-09-30 完成建设",
        "权重": None,
        "上级任务": None,
        **cells,
    }
    assert set(values) == set(HEADERS), set(values) ^ set(HEADERS)
    return [values[h] for h in HEADERS]


def sheet(data: bytes, name: str = spreadsheet.SHEET) -> Worksheet:
    ws = load_workbook(BytesIO(data))[name]
    assert isinstance(ws, Worksheet)
    return ws


def values(data: bytes) -> dict[str, list[tuple[object, ...]]]:
    """Every cell value of every sheet."""
    wb = load_workbook(BytesIO(data))
    return {ws.title: list(ws.iter_rows(values_only=True)) for ws in wb.worksheets}


def import_(ledger: Ledger, data: bytes, role: str = "coordinator") -> spreadsheet.Imported:
    return spreadsheet.import_tasks(ledger.parts[CHAIR], user_of(CHAIR, role), data)


def export(ledger: Ledger, area: str | None = None, lead_city: str | None = None) -> bytes:
    chair = ledger.parts[CHAIR]
    return spreadsheet.export_tasks(chair, area=area, lead_city=lead_city, today=COOP_TODAY)


def errors_of(excinfo: pytest.ExceptionInfo[SpreadsheetInvalid]) -> set[tuple[int, str]]:
    return {(e.row, e.column) for e in excinfo.value.errors}


def full_ledger(ledger: Ledger) -> dict[str, str]:
    """Tasks that use every column, with text a spreadsheet might mangle; their ids by 编号."""
    attachment = Attachment(name="方案.pdf", sha256="ab" * 32, size=1234)
    parent = ledger.create(
        number="LN-1",
        title="=SUM(A1:A2) 看似公式的标题",
        requirement="（示例数据）第一行\r\n第二行\n  缩进的第三行",
        source="agreement",
        source_ref="《鲁南经济圈红色文化旅游合作框架协议》",
        partner_cities=(JINING, HEZE),
        responsible="张某",
        milestones=(Milestone(date=D("2026-03-31"), title="完成方案"),),
        attachments=(attachment,),
    )
    ids = {"LN-1": parent}
    for n, weight in (("LN-1-1", 60), ("LN-1-2", 40)):
        ids[n] = ledger.create(
            number=n, parent=parent, weight=weight, lead_city=JINING, partner_cities=()
        )
    ids["LN-2"] = ledger.create(number="LN-2", area="数据共享", source="instruction")
    ledger.report(JINING, ids["LN-1-1"], 50)
    ledger.report(ZAOZHUANG, ids["LN-2"], 100)
    return ids


# --- export ---------------------------------------------------------------------------------


def test_the_export_is_what_an_office_expects(ledger: Ledger) -> None:
    full_ledger(ledger)
    data = export(ledger)
    ws = sheet(data)
    assert [c.value for c in ws[1]] == [c.header for c in COLUMNS]
    assert ws.freeze_panes == "B2"
    assert ws.column_dimensions["B"].width == 30
    rows = {
        r[0]: dict(zip([c.header for c in COLUMNS], r, strict=True))
        for r in ws.iter_rows(min_row=2, values_only=True)
    }
    assert list(rows) == ["LN-1", "LN-1-1", "LN-1-2", "LN-2"]  # 编号 order
    first = rows["LN-1"]
    assert first["任务名称"] == "=SUM(A1:A2) 看似公式的标题"  # text, not a formula
    assert ws["B2"].data_type == "s"
    assert first["任务来源"] == "协议" and first["牵头城市"] == "枣庄"
    assert first["配合城市"] == "济宁、菏泽"
    assert first["开始日期"] == datetime(2026, 1, 1) and ws["K2"].number_format == "yyyy-mm-dd"
    assert first["节点"] == "2026-03-31 完成方案"
    assert rows["LN-1-1"]["上级任务"] == "LN-1" and rows["LN-1-1"]["权重"] == 60
    # computed: the parent rolls up 50×60% + 0×40%; 100 reported on LN-2 completes it
    assert (first["进度"], first["状态"]) == (30, "推进中")
    assert (rows["LN-2"]["进度"], rows["LN-2"]["状态"], rows["LN-2"]["预警"]) == (
        100,
        "已完成",
        "绿",
    )
    [area_list] = [dv for dv in ws.data_validations.dataValidation if "D2" in str(dv.sqref)]
    assert area_list.type == "list" and spreadsheet.HELP_SHEET in str(area_list.formula1)
    help_values = values(data)[spreadsheet.HELP_SHEET]
    assert "交通互联" in [r[3] for r in help_values]


def test_an_export_can_be_filtered(ledger: Ledger) -> None:
    full_ledger(ledger)
    numbers = [
        r[0] for r in sheet(export(ledger, area="数据共享")).iter_rows(min_row=2, values_only=True)
    ]
    assert numbers == ["LN-2"]
    led_by_jining = sheet(export(ledger, lead_city=JINING)).iter_rows(min_row=2, values_only=True)
    assert [(r[0], r[14]) for r in led_by_jining] == [("LN-1-1", "LN-1"), ("LN-1-2", "LN-1")]


# --- the round trip -------------------------------------------------------------------------


def test_an_export_imports_back_unchanged(ledger: Ledger) -> None:
    ids = full_ledger(ledger)
    first = export(ledger)
    before = ledger.sizes()
    result = import_(ledger, first)
    assert result.created == () and result.updated == ()
    assert sorted(result.unchanged) == sorted(ids)
    assert ledger.sizes() == before  # not a single event
    assert values(export(ledger)) == values(first)


def test_an_edited_export_updates_only_the_rows_that_changed(ledger: Ledger) -> None:
    ids = full_ledger(ledger)
    ws = sheet(export(ledger))
    ws["C5"] = "（示例数据）新的要求"  # LN-2's requirement
    ws["A6"] = "LN-3"  # a new row, under LN-1
    for col, value in zip(
        "BDGHKL",
        ["新任务", "法治协作", "临沂", "市司法局", "2026-04-01", "2026-06-30"],
        strict=True,
    ):
        ws[f"{col}6"] = value
    ws["O6"] = "LN-1"
    out = BytesIO()
    assert ws.parent is not None
    ws.parent.save(out)
    before = ledger.sizes()
    result = import_(ledger, out.getvalue())
    assert result.updated == (("LN-2", ids["LN-2"]),)
    [(number, new_id)] = result.created
    assert number == "LN-3"
    assert sorted(result.unchanged) == ["LN-1", "LN-1-1", "LN-1-2"]
    assert ledger.sizes()[CHAIR] == before[CHAIR] + 2
    created = queries.get_task(ledger.engine, new_id)
    assert created is not None
    assert created.fields.parent == ids["LN-1"] and created.fields.lead_city == CHAIR
    assert created.fields.start == D("2026-04-01")
    # what a spreadsheet does not carry is kept
    parent = queries.get_task(ledger.engine, ids["LN-1"])
    assert parent is not None and len(parent.fields.attachments) == 1


def test_rows_create_parents_before_children_and_accept_codes_and_text_dates(
    ledger: Ledger,
) -> None:
    data = xlsx(
        [
            row("2", 上级任务="1", 权重=30.0, 牵头城市="370400", 配合城市="370800，菏泽"),
            row("1", 开始日期="2026-01-01", 任务来源="instruction", 编号=1),
            row("3", 上级任务="1", 权重="70", 节点=None, 配合城市=None),
        ]
    )
    result = import_(ledger, data)
    assert [n for n, _ in result.created] == ["1", "2", "3"]
    ids = dict(result.created)
    two = queries.get_task(ledger.engine, ids["2"])
    one = queries.get_task(ledger.engine, ids["1"])
    assert two is not None and one is not None
    assert two.fields.parent == ids["1"] and two.fields.weight == 30
    assert two.fields.partner_cities == (JINING, HEZE)
    assert one.fields.source == "instruction" and one.fields.start == D("2026-01-01")
    assert one.fields.milestones[1] == Milestone(date=D("2026-09-30"), title="完成建设")
    assert one.children == (ids["2"], ids["3"])


# --- errors ---------------------------------------------------------------------------------


def test_every_bad_cell_is_reported_at_once_and_nothing_is_stored(ledger: Ledger) -> None:
    ledger.create(number="LN-9")
    data = xlsx(
        [
            row("1"),  # fine
            row("2", 开始日期="2026-02-30"),  # no such day
            row("3", 完成时限="2025-12-31"),  # before the start
            row("4", 牵头城市="上海", 配合城市="济宁、北京"),
            row("5", 领域="航天"),
            row("6", 权重=12.5),
            row("7", 权重="三十"),
            row("1"),  # duplicate 编号
            row("8", 上级任务="LN-404"),
            row("9", 任务名称=None, 节点="三月底 完成方案"),
            row("10", 上级任务="10"),  # its own parent
            row(
                "LN-9", 领域="航天", 牵头城市="济宁", 配合城市="菏泽"
            ),  # nor may a task change its lead
        ]
    )
    before = ledger.sizes()
    with pytest.raises(SpreadsheetInvalid) as e:
        import_(ledger, data)
    assert errors_of(e) == {
        (3, "开始日期"),
        (4, "完成时限"),
        (5, "牵头城市"),
        (5, "配合城市"),
        (6, "领域"),
        (7, "权重"),
        (8, "权重"),
        (9, "编号"),
        (10, "上级任务"),
        (11, "任务名称"),
        (11, "节点"),
        (12, "上级任务"),
        (13, "领域"),
        (13, "牵头城市"),
    }
    by_cell = {(c.row, c.column): c for c in e.value.errors}
    assert "完成时限早于开始日期" in by_cell[4, "完成时限"].problem
    assert "上海" in by_cell[5, "牵头城市"].problem and "北京" in by_cell[5, "配合城市"].problem
    assert by_cell[7, "权重"].value == "12.5" and "整数" in by_cell[7, "权重"].problem
    assert "第2行" in by_cell[9, "编号"].problem
    assert by_cell[11, "任务名称"].problem == "必填 required"
    assert "原为枣庄" in by_cell[13, "牵头城市"].problem
    assert str(by_cell[3, "开始日期"]).startswith("第3行 row 3 【开始日期】 “2026-02-30”")
    assert e.value.status == 422 and e.value.field == "rows[3].开始日期"
    assert ledger.sizes() == before
    assert [t.fields.number for t in queries.list_tasks(ledger.engine)] == ["LN-9"]


def test_the_header_row_must_name_every_column_once(ledger: Ledger) -> None:
    header = [h for h in HEADERS if h != "责任人"] + ["备注", "编号", "进度"]
    with pytest.raises(SpreadsheetInvalid) as e:
        import_(ledger, xlsx([], header))
    assert errors_of(e) == {(1, "责任人"), (1, "备注"), (1, "编号")}
    problems = {c.column: c.problem for c in e.value.errors}
    assert problems == {
        "责任人": "缺少此列 the column is missing",
        "备注": "未知列 unknown column",
        "编号": "列重复 the column appears twice",
    }


def test_a_file_that_is_no_spreadsheet_is_refused(ledger: Ledger) -> None:
    with pytest.raises(SpreadsheetInvalid, match="xlsx"):
        import_(ledger, b"number,title\n1,x\n")


def test_blank_rows_and_computed_columns_are_ignored(ledger: Ledger) -> None:
    header = [*HEADERS, "进度", "状态", "预警"]
    data = xlsx(
        [[*row("1"), 99, "已办结", "红"], [None] * len(header), [*row("2"), None, None, None]],
        header,
    )
    result = import_(ledger, data)
    assert [n for n, _ in result.created] == ["1", "2"]
    view = queries.task_by_number(ledger.engine, "1", COOP_TODAY)
    assert view is not None and (view.progress, view.status) == (0.0, "待启动")


@pytest.mark.parametrize(
    ("city", "role"),
    [
        (CHAIR, "officer"),  # may report, not manage tasks
        (CHAIR, "auditor"),
        (ZAOZHUANG, "coordinator"),  # manages tasks, but 枣庄 is not the chair
    ],
)
def test_only_a_task_manager_of_the_chair_city_imports(
    ledger: Ledger, city: str, role: str
) -> None:
    full_ledger(ledger)
    data = export(ledger)
    before = ledger.sizes()
    with pytest.raises(Forbidden):
        spreadsheet.import_tasks(ledger.parts[city], user_of(city, role), data)
    with pytest.raises(Forbidden):  # even a file with new tasks only
        spreadsheet.import_tasks(ledger.parts[city], user_of(city, role), xlsx([row("new")]))
    assert ledger.sizes() == before


def test_a_user_of_another_city_cannot_import_on_this_node(ledger: Ledger) -> None:
    with pytest.raises(Forbidden, match="may not manage"):
        spreadsheet.import_tasks(ledger.parts[CHAIR], user_of(ZAOZHUANG), xlsx([row("1")]))
    assert queries.list_tasks(ledger.engine) == []


def test_a_refusal_after_rows_were_stored_says_which(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The checks mirror the actions' so this cannot happen, short of a race or a rule they
    miss; should it, the user learns exactly what was stored."""
    create = actions.create_task
    calls: list[str] = []

    def refuse_the_second(*args: Any) -> str:
        calls.append("create")
        if len(calls) == 2:
            raise Conflict("模拟的冲突 a simulated conflict")
        return create(*args)

    monkeypatch.setattr(actions, "create_task", refuse_the_second)
    with pytest.raises(Conflict, match=r"第3行被拒绝.*已保存：A — row 3 was refused"):
        import_(ledger, xlsx([row("A"), row("B")]))
    assert [t.fields.number for t in queries.list_tasks(ledger.engine)] == ["A"]


# --- the CLI --------------------------------------------------------------------------------

cli = typer.Typer()
cli.add_typer(tasks_app, name="tasks")


def run(*args: str | Path) -> Result:
    return CliRunner(env={"COLUMNS": "200"}).invoke(cli, ["tasks", *map(str, args)])


@pytest.fixture
def linyi(tmp_path: Path, database_url: str, cheap_hasher: None) -> Path:
    """A node of its own (临沂, chair) with a coordinator and an officer."""
    directory = make_node(tmp_path / "linyi", database_url)
    make_user(directory, "wang.fang", "coordinator")
    make_user(directory, "li.lei", "officer")
    return directory


def linyi_row(number: str, **cells: object) -> list[object]:
    """A single-city node knows no other city: its tasks are its own."""
    return row(number, **{"牵头城市": "临沂", "配合城市": None, **cells})


def test_cli_imports_exports_and_reimports_unchanged(linyi: Path) -> None:
    source = linyi / "in.xlsx"
    source.write_bytes(xlsx([linyi_row("1"), linyi_row("2", 上级任务="1", 权重=50)]))
    done = run("import", "--dir", linyi, "--user", "wang.fang", source)
    assert done.exit_code == 0, done.output
    assert "新建 created 2" in done.stdout and "task/371300/2" in done.stdout
    exported = linyi / "out.xlsx"
    assert run("export", "--dir", linyi, exported).exit_code == 0
    assert [r[0] for r in sheet(exported.read_bytes()).iter_rows(min_row=2, values_only=True)] == [
        "1",
        "2",
    ]
    again = run("import", "--dir", linyi, "--user", "wang.fang", exported)
    assert again.exit_code == 0, again.output
    assert "新建 created 0, 修改 updated 0, 未变 unchanged 2" in again.stdout
    log = open_log(linyi)
    try:
        assert log.size() == 3  # genesis and the two tasks: the second import wrote nothing
    finally:
        log.close()
        log.engine.dispose()


def test_cli_lists_every_bad_cell_and_stores_nothing(linyi: Path) -> None:
    source = linyi / "bad.xlsx"
    source.write_bytes(
        xlsx([linyi_row("1", 完成时限="2025-01-01"), linyi_row("2", 牵头城市="枣庄")])
    )
    result = run("import", "--dir", linyi, "--user", "wang.fang", source)
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0].startswith("错误 error: 2 处错误，未导入任何内容")
    assert (
        lines[1].startswith("  第2行 row 2 【完成时限】") and "第3行 row 3 【牵头城市】" in lines[2]
    )
    assert run("export", "--dir", linyi, linyi / "out.xlsx").exit_code == 0
    assert sheet((linyi / "out.xlsx").read_bytes()).max_row == 1


def test_cli_refuses_unknown_users_and_users_without_the_right(linyi: Path) -> None:
    source = linyi / "in.xlsx"
    source.write_bytes(xlsx([linyi_row("1")]))
    unknown = run("import", "--dir", linyi, "--user", "nobody", source)
    assert unknown.exit_code == 1 and "no user 'nobody'" in unknown.stderr
    officer = run("import", "--dir", linyi, "--user", "li.lei", source)
    assert officer.exit_code == 1 and "无权导入台账" in officer.stderr
    missing = run("import", "--dir", linyi, "--user", "wang.fang", linyi / "nope.xlsx")
    assert missing.exit_code == 2 and "cannot read" in missing.stderr
    no_node = run("export", "--dir", linyi / "nothing", linyi / "out.xlsx")
    assert no_node.exit_code == 1
    bad_city = run("export", "--dir", linyi, linyi / "out.xlsx", "--lead-city", "上海")
    assert bad_city.exit_code == 2 and "unknown city" in bad_city.stderr


# --- the API --------------------------------------------------------------------------------


@pytest.fixture
def api(client_for: Client) -> Client:
    return client_for


def upload(data: bytes) -> dict[str, tuple[str, bytes, str]]:
    return {"file": ("台账.xlsx", data, spreadsheet.MEDIA_TYPE)}


def test_api_export_and_import(ledger: Ledger, api: Client) -> None:
    full_ledger(ledger)
    viewer = api(CHAIR, "viewer")
    r = viewer.get("/api/v1/tasks.xlsx")
    assert r.status_code == 200
    assert r.headers["content-type"] == spreadsheet.MEDIA_TYPE
    assert "filename*=UTF-8''%E5%8F%B0%E8%B4%A6-" in r.headers["content-disposition"]
    exported = r.content
    coordinator = api(CHAIR, "coordinator")
    before = ledger.sizes()
    same = coordinator.post("/api/v1/tasks/import", files=upload(exported))
    assert same.status_code == 200, same.text
    assert same.json()["created"] == [] and len(same.json()["unchanged"]) == 4
    assert ledger.sizes() == before
    new = coordinator.post("/api/v1/tasks/import", files=upload(xlsx([row("LN-7")])))
    assert new.status_code == 200
    assert new.json()["created"] == [{"number": "LN-7", "id": f"task/{CHAIR}/5"}]


def test_api_import_lists_every_bad_cell(ledger: Ledger, api: Client) -> None:
    client = api(CHAIR, "coordinator")
    data = xlsx([row("1", 完成时限="2025-01-01"), row("2", 领域="航天", 权重=0)])
    r = client.post("/api/v1/tasks/import", files=upload(data))
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    doc = r.json()
    assert doc["type"] == "urn:lunan:problem:invalid-input"
    assert doc["field"] == "rows[2].完成时限"
    assert [(e["row"], e["column"]) for e in doc["errors"]] == [
        (2, "完成时限"),
        (3, "领域"),
        (3, "权重"),
    ]
    assert doc["errors"][2]["problem"] == "须为1–100的整数 must be a whole number 1–100"
    assert queries.list_tasks(ledger.engine) == []


def test_api_import_needs_a_task_manager(ledger: Ledger, api: Client) -> None:
    data = xlsx([row("1")])
    assert api(CHAIR, "officer").post("/api/v1/tasks/import", files=upload(data)).status_code == 403
    not_chair = api(ZAOZHUANG, "coordinator").post("/api/v1/tasks/import", files=upload(data))
    assert not_chair.status_code == 403 and "轮值城市" in not_chair.json()["detail"]
    assert queries.list_tasks(ledger.engine) == []


def test_api_refuses_a_file_that_is_no_spreadsheet(ledger: Ledger, api: Client) -> None:
    r = api(CHAIR, "coordinator").post("/api/v1/tasks/import", files=upload(b"\x00" * 100))
    assert r.status_code == 422 and r.json()["errors"][0]["row"] == 0
