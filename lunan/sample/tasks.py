"""Sample tasks of the ledger (台账): the 23 cooperation tasks FACTS.md says the ledger holds.

The source gives their number only. So every task here — title, department, person, dates,
progress, reports, requests, notices — is invented and labelled: each task's requirement, each
report, request and notice begins with （示例数据）. They are spread over the areas the source
names (transport 同城化, industry and the 十强产业, the 科创联盟 and 科技协同创新中心, tourism
with its 67 attractions and red routes, rural revitalization with the 长三角 and 粤港澳 supply
bases, the 区块链联盟 and the 政务数据共享协议, rule-of-law cooperation, policy sharing), and
where a requirement quotes a figure or a name of the source (1,780 high-tech enterprises, 17
scenic areas with 67 attractions, 6 red routes, 100 bases with Shanghai, 104 agreements, the
agreements' titles), it quotes it exactly.

Dates are relative to the day the sample is written (Asia/Shanghai), so that the ledger shows
the same realistic picture whatever day the demo runs: 15 tasks 绿 (one 已办结, one 已完成, one
已延期 after an approved extension, one not started yet), 5 黄, 3 红; one extension request
pending; a 催办 and a 督办. `sample_tasks(today)` is the data, a pure function of the day;
`seed` only posts it through the cities' APIs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

from lunan.coop.models import (
    CompletionFields,
    ExtensionFields,
    Milestone,
    NoticeFields,
    ReportFields,
    TaskFields,
)
from lunan.coop.queries import today_in_shanghai
from lunan.sample.api import DemoApi

LINYI, ZAOZHUANG, JINING, HEZE = "371300", "370400", "370800", "371700"
CHAIR = LINYI  # 临沂, the first chair city, registers every task
CITIES = {LINYI: "临沂", ZAOZHUANG: "枣庄", JINING: "济宁", HEZE: "菏泽"}
ALL = tuple(CITIES)
SAMPLE = "（示例数据）"
MEETING = "鲁南经济圈一体化发展推进会暨第2次联席会议"
WORK_POINTS = f"鲁南经济圈一体化发展年度工作要点{SAMPLE}"
INSTRUCTION = f"领导批示{SAMPLE}"
Source = Literal["meeting", "agreement", "work-points", "instruction"]


@dataclass(frozen=True)
class _Extension:
    days: int  # the new deadline, from today
    reason: str
    approved: bool  # by the chair; else pending


@dataclass(frozen=True)
class _Task:
    """One sample task, its dates as days from today."""

    number: str
    title: str
    area: str
    lead: str
    department: str
    requirement: str  # after the （示例数据） label
    start: int
    deadline: int
    progress: int | None  # the lead's report; None: nothing reported yet
    partners: dict[str, int] = field(default_factory=dict)  # partner → its own report
    source: Source = "meeting"
    source_ref: str | None = MEETING
    responsible: str = ""
    milestones: tuple[str, ...] = ()  # spread evenly between start and deadline
    weight: int | None = None
    parent: str | None = None
    problems: str = ""  # in the lead's report: why it lags
    quiet: tuple[str, ...] = ()  # partners that have not reported
    extension: _Extension | None = None  # requested by the lead
    completion: str | None = None  # the lead's summary; approved by the chair
    notice: tuple[Literal["催办", "督办"], str, int] | None = None  # (kind, message, due day)


def _others(*cities: str) -> tuple[str, ...]:
    return tuple(c for c in ALL if c not in cities)


TASKS: tuple[_Task, ...] = (
    _Task(
        "LN-01",
        "推进鲁南经济圈交通设施同城化",
        "交通互联",
        LINYI,
        "临沂市发展和改革委员会",
        "统筹轨道交通、高速公路网、机场、内河航道四个子任务，打破行政区划壁垒，"
        "推进四市交通设施同城化，加快重大项目建设。",
        start=-400,
        deadline=700,
        progress=None,  # rolls up from its four sub-tasks
        quiet=_others(LINYI),
        responsible="王某",
        milestones=("完成四市交通同城化实施方案", "重大项目全部开工"),
    ),
    _Task(
        "LN-01-1",
        "开展鲁南轨道交通互联互通前期研究",
        "交通互联",
        LINYI,
        "临沂市交通运输局",
        "研究四市轨道交通互联互通线网方案，完成重点线路前期论证。",
        start=-400,
        deadline=330,
        progress=50,
        partners={ZAOZHUANG: 45},
        quiet=(JINING,),
        weight=30,
        parent="LN-01",
        responsible="刘某",
        milestones=("完成线网规划研究", "完成重点线路预可研"),
    ),
    _Task(
        "LN-01-2",
        "加密鲁南高速公路网",
        "交通互联",
        HEZE,
        "菏泽市交通运输局",
        "推进四市间高速公路项目建设，打通省际、市际断头路。",
        start=-380,
        deadline=500,
        progress=30,
        partners={JINING: 35},
        quiet=(LINYI,),
        weight=30,
        parent="LN-01",
        responsible="赵某",
        problems="征地拆迁进度慢于计划，部分路段开工推迟。",
        milestones=("完成路网规划", "首批项目开工", "首批项目建成通车"),
    ),
    _Task(
        "LN-01-3",
        "推动四市机场协同发展",
        "交通互联",
        JINING,
        "济宁市交通运输局",
        "推动四市机场航线互补、客源共享，完善机场集疏运体系。",
        start=-200,
        deadline=160,
        progress=55,
        quiet=(LINYI, HEZE),
        weight=20,
        parent="LN-01",
        responsible="孙某",
        milestones=("签订机场协同发展备忘录",),
    ),
    _Task(
        "LN-01-4",
        "推进内河航道互联互通",
        "交通互联",
        ZAOZHUANG,
        "枣庄市交通运输局",
        "推进内河航道升级改造和港口协同，发展江海联运。",
        start=-300,
        deadline=400,
        progress=40,
        partners={JINING: 40},
        weight=20,
        parent="LN-01",
        responsible="周某",
        milestones=("完成航道升级方案", "完成港口协同运营协议"),
    ),
    _Task(
        "LN-02",
        "聚焦全省“十强产业”建链补链强链",
        "产业协同",
        JINING,
        "济宁市工业和信息化局",
        "围绕全省“十强产业”，梳理四市产业链图谱，联合开展建链补链强链招商。",
        start=-250,
        deadline=480,
        progress=35,
        partners={HEZE: 35},
        quiet=(LINYI, ZAOZHUANG),
        source="work-points",
        source_ref=WORK_POINTS,
        responsible="吴某",
        milestones=("完成四市产业链图谱", "联合招商活动不少于4场"),
    ),
    _Task(
        "LN-03",
        "协同推进重大产业项目建设",
        "产业协同",
        HEZE,
        "菏泽市发展和改革委员会",
        "建立重大项目协调推进机制，跟踪服务山东中药材产业园、鲁南大健康产业园、"
        "格力电器(临沂)智能制造基地等已落地项目，谋划储备一批重大项目。",
        start=-330,
        deadline=35,
        progress=60,
        partners={ZAOZHUANG: 65},
        quiet=(LINYI,),
        responsible="郑某",
        problems="部分储备项目要素保障不足，前期手续办理滞后。",
        milestones=("建立项目协调机制", "形成重大项目储备库"),
        notice=("催办", "请加快推进储备项目前期手续，按期报送进展。", 7),
    ),
    _Task(
        "LN-04",
        "举办鲁南经济圈产业链供需对接活动",
        "产业协同",
        ZAOZHUANG,
        "枣庄市商务局",
        "组织四市重点企业开展产业链供需对接，促进本地配套。",
        start=-90,
        deadline=10,
        progress=85,
        quiet=(JINING, HEZE),
        source="instruction",
        source_ref=INSTRUCTION,
        responsible="冯某",
        milestones=("确定对接企业名单",),
        extension=_Extension(70, "受场馆档期影响，对接活动需顺延举办。", approved=False),
    ),
    _Task(
        "LN-05",
        "共建鲁南经济圈科技协同创新中心",
        "科技创新",
        LINYI,
        "临沂市科学技术局",
        "落实战略合作框架协议书，共建科技协同创新中心，联合开展关键技术攻关。",
        start=-300,
        deadline=430,
        progress=45,
        partners={JINING: 40, HEZE: 50},
        quiet=(ZAOZHUANG,),
        source="agreement",
        source_ref="《共建鲁南经济圈科技协同创新中心战略合作框架协议书》",
        responsible="陈某",
        milestones=("完成中心建设方案", "中心挂牌运行"),
    ),
    _Task(
        "LN-06",
        "运行鲁南经济圈科创联盟，推动科技成果共享",
        "科技创新",
        JINING,
        "济宁市科学技术局",
        "依托科创联盟，共享四市1780家高新技术企业、53家国家级孵化器和众创空间、"
        "6家国家农业科技园区的资源，建立科技成果共享目录。",
        start=-280,
        deadline=170,
        progress=45,
        quiet=_others(JINING),
        responsible="褚某",
        problems="四市科技成果数据口径不一，共享目录汇总滞后。",
        milestones=("建立科技成果共享目录", "举办科技成果对接会"),
    ),
    _Task(
        "LN-07",
        "落实17个重点景区67处景点四市旅游同城化",
        "文化旅游",
        ZAOZHUANG,
        "枣庄市文化和旅游局",
        "17个重点景区的67处景点对四市居民实行同城化待遇，统一宣传与核验。",
        start=-420,
        deadline=-30,
        progress=100,
        partners={LINYI: 100},
        quiet=(JINING, HEZE),
        responsible="卫某",
        milestones=("公布同城化景点名单", "四市居民身份核验上线"),
        completion="17个重点景区67处景点已对四市居民实行同城化待遇，申请办结。",
    ),
    _Task(
        "LN-08",
        "推出红色旅游精品线路",
        "文化旅游",
        LINYI,
        "临沂市文化和旅游局",
        "落实红色文化旅游合作框架协议，串联沂蒙革命老区、冀鲁豫边区革命纪念馆等"
        "红色资源，推出6条红色旅游精品线路并联合推介。",
        start=-360,
        deadline=20,
        progress=100,
        partners={HEZE: 100},
        quiet=(ZAOZHUANG, JINING),
        source="agreement",
        source_ref="《鲁南经济圈红色文化旅游合作框架协议》",
        responsible="蒋某",
        milestones=("确定线路方案", "联合发布精品线路"),
    ),
    _Task(
        "LN-09",
        "深化鲁南旅游联盟客源互换、市场互动",
        "文化旅游",
        JINING,
        "济宁市文化和旅游局",
        "整合三孔两孟、台儿庄古城、黄河故道等资源，开展客源互换和联合营销。",
        start=-200,
        deadline=300,
        progress=42,
        quiet=_others(JINING),
        responsible="沈某",
        milestones=("推出联票产品", "开展联合营销活动"),
    ),
    _Task(
        "LN-10",
        "建设长三角中心城市农产品供应基地",
        "乡村振兴",
        LINYI,
        "临沂市农业农村局",
        "在临沂与上海共同认定100个农产品基地、签订104个产销合作协议的基础上，"
        "推动四市优质农产品进入长三角中心城市。",
        start=-330,
        deadline=400,
        progress=50,
        partners={ZAOZHUANG: 45},
        quiet=(JINING, HEZE),
        source="work-points",
        source_ref=WORK_POINTS,
        responsible="韩某",
        milestones=("新认定一批供应基地", "举办产销对接会"),
    ),
    _Task(
        "LN-11",
        "拓展粤港澳大湾区农产品供应基地",
        "乡村振兴",
        HEZE,
        "菏泽市农业农村局",
        "对接粤港澳大湾区采购商，建设一批面向大湾区的农产品供应基地。",
        start=-300,
        deadline=250,
        progress=20,
        quiet=(LINYI, JINING),
        source="work-points",
        source_ref=WORK_POINTS,
        responsible="杨某",
        problems="与大湾区采购商对接渠道有限，基地认定标准尚未统一。",
        milestones=("确定首批基地名单", "首批基地认定挂牌"),
    ),
    _Task(
        "LN-12",
        "开展鲁南经济圈乡村振兴一体化发展系列活动",
        "乡村振兴",
        JINING,
        "济宁市农业农村局",
        "落实联席会议启动的乡村振兴一体化发展系列活动，四市轮流承办。",
        start=-360,
        deadline=-6,
        progress=70,
        partners={HEZE: 75},
        quiet=(LINYI, ZAOZHUANG),
        responsible="朱某",
        milestones=("四市各承办一场活动",),
        extension=_Extension(120, "四市活动档期调整，最后一场活动需顺延举办。", approved=True),
    ),
    _Task(
        "LN-13",
        "成立并运行鲁南经济圈区块链联盟",
        "数据共享",
        LINYI,
        "临沂市大数据局",
        "成立区块链联盟，四市各运行一个节点，互相见证，共同打造数字鲁南。",
        start=-400,
        deadline=200,
        progress=70,
        partners={JINING: 70, ZAOZHUANG: 65},
        quiet=(HEZE,),
        responsible="秦某",
        milestones=("联盟成立", "四市节点上线运行"),
    ),
    _Task(
        "LN-14",
        "落实政务数据共享协议，推进数据跨区应用",
        "数据共享",
        ZAOZHUANG,
        "枣庄市大数据局",
        "按政务数据共享协议编制四市共享目录，推进数据跨区应用场景落地。",
        start=-300,
        deadline=-12,
        progress=85,
        partners={LINYI: 90},
        quiet=(JINING, HEZE),
        source="agreement",
        source_ref="政务数据共享协议",
        responsible="尤某",
        problems="跨区应用场景涉及多部门，接口联调未按期完成。",
        milestones=("编制四市共享目录", "首批跨区应用场景上线"),
        notice=("督办", "任务已超过完成时限，请说明原因并明确完成时间。", 5),
    ),
    _Task(
        "LN-15",
        "共同打造“数字鲁南”",
        "数据共享",
        HEZE,
        "菏泽市大数据局",
        "建设数字鲁南平台，汇聚台账、指标与共享数据，支撑联席会议决策。",
        start=-240,
        deadline=480,
        progress=20,
        quiet=_others(HEZE),
        source="instruction",
        source_ref=INSTRUCTION,
        responsible="许某",
        problems="平台建设方案评审推迟，开发进度滞后。",
        milestones=("完成平台建设方案", "平台上线试运行"),
    ),
    _Task(
        "LN-16",
        "建立法治合作联席会议制度",
        "法治协作",
        JINING,
        "济宁市司法局",
        "落实法治合作交流协议，建立法治合作联席会议制度，定期会商。",
        start=-380,
        deadline=250,
        progress=65,
        quiet=_others(JINING),
        source="agreement",
        source_ref="《鲁南经济圈一体化发展法治合作交流协议》",
        responsible="何某",
        milestones=("制定联席会议制度", "召开首次法治合作联席会议"),
    ),
    _Task(
        "LN-17",
        "共建鲁南经济圈法治建设共同体",
        "法治协作",
        HEZE,
        "菏泽市司法局",
        "推动四市执法标准互认、法律服务资源共享，共建法治建设共同体。",
        start=-200,
        deadline=530,
        progress=30,
        partners={LINYI: 30},
        quiet=(ZAOZHUANG, JINING),
        responsible="吕某",
        milestones=("形成执法标准互认清单",),
    ),
    _Task(
        "LN-18",
        "推进政策共享，“变我市独有为鲁南共用”",
        "公共服务",
        LINYI,
        "临沂市发展和改革委员会",
        "梳理四市惠企便民政策清单，推动一市独有政策在四市共享适用。",
        start=-150,
        deadline=12,
        progress=88,
        partners={ZAOZHUANG: 85},
        quiet=(JINING, HEZE),
        source="work-points",
        source_ref=WORK_POINTS,
        responsible="施某",
        milestones=("发布四市政策共享清单",),
    ),
    _Task(
        "LN-19",
        "深化鲁南经济圈党媒战略合作",
        "公共服务",
        ZAOZHUANG,
        "枣庄市委宣传部",
        "落实党媒战略合作意向书，联合策划一体化发展宣传报道。",
        start=20,
        deadline=400,
        progress=None,  # starts in 20 days: nothing to report yet
        quiet=_others(ZAOZHUANG),
        source="agreement",
        source_ref="《鲁南经济圈党媒战略合作意向书》",
        responsible="张某",
        milestones=("制定联合宣传方案", "推出系列报道"),
    ),
)

# --- the data, a pure function of the day ----------------------------------------------------


@dataclass(frozen=True)
class SampleReport:
    city: str
    report: ReportFields


@dataclass(frozen=True)
class SampleTask:
    fields: TaskFields  # `parent` unset: the parent is known by its number until created
    parent: str | None
    reports: tuple[SampleReport, ...]  # the lead's first, then the partners'
    extension: ExtensionFields | None = None
    extension_approved: bool = False
    completion: CompletionFields | None = None  # approved
    notices: tuple[NoticeFields, ...] = ()


def _spread(start: date, deadline: date, titles: tuple[str, ...]) -> tuple[Milestone, ...]:
    days = (deadline - start).days
    return tuple(
        Milestone(date=start + timedelta(days * i // (len(titles) + 1)), title=title)
        for i, title in enumerate(titles, start=1)
    )


def _reports(t: _Task, period: str) -> tuple[SampleReport, ...]:
    out = []
    if t.progress is not None:
        done = f"{SAMPLE}{t.title}：已完成阶段性工作，进度{t.progress}%。"
        if t.progress == 100:
            done = f"{SAMPLE}{t.title}：各项工作已全部完成。"
        lead = ReportFields(
            period=period,
            progress=t.progress,
            done=done,
            problems=f"{SAMPLE}{t.problems}" if t.problems else "",
            next_steps="" if t.progress == 100 else f"{SAMPLE}按节点计划推进，加强四市协调。",
        )
        out.append(SampleReport(t.lead, lead))
    for city, progress in t.partners.items():
        partner = ReportFields(
            period=period,
            progress=progress,
            done=f"{SAMPLE}{CITIES[city]}配合推进，本市承担的工作完成约{progress}%。",
        )
        out.append(SampleReport(city, partner))
    return tuple(out)


def _sample(t: _Task, today: date) -> SampleTask:
    start, deadline = today + timedelta(t.start), today + timedelta(t.deadline)
    fields = TaskFields(
        number=t.number,
        title=t.title,
        requirement=f"{SAMPLE}{t.requirement}",
        area=t.area,
        source=t.source,
        source_ref=t.source_ref,
        lead_city=t.lead,
        lead_department=t.department,
        partner_cities=tuple(c for c in ALL if c in t.partners or c in t.quiet),
        responsible=t.responsible,
        start=start,
        deadline=deadline,
        milestones=_spread(start, deadline, t.milestones),
        weight=t.weight,
    )
    extension = None
    if t.extension is not None:
        new_deadline = today + timedelta(t.extension.days)
        extension = ExtensionFields(new_deadline=new_deadline, reason=SAMPLE + t.extension.reason)
    completion = None if t.completion is None else CompletionFields(summary=SAMPLE + t.completion)
    notices: tuple[NoticeFields, ...] = ()
    if t.notice is not None:
        kind, message, due = t.notice
        notices = (NoticeFields(kind=kind, message=SAMPLE + message, due=today + timedelta(due)),)
    return SampleTask(
        fields=fields,
        parent=t.parent,
        reports=_reports(t, f"{today:%Y-%m}"),
        extension=extension,
        extension_approved=t.extension is not None and t.extension.approved,
        completion=completion,
        notices=notices,
    )


def sample_tasks(today: date) -> list[SampleTask]:
    """The 23 sample tasks as of `today`, parents before their children."""
    return [_sample(t, today) for t in TASKS]


# --- writing them through the cities' APIs ----------------------------------------------------


def _path(object_id: str) -> str:
    """task/371300/7 → /api/v1/tasks/371300/7"""
    _, city, n = object_id.split("/")
    return f"/api/v1/tasks/{city}/{n}"


def seed(api: DemoApi, today: date | None = None) -> None:
    """The chair registers the tasks; the lead and partner cities report through their own
    nodes; the leads ask for an extension or completion, which the chair decides; the chair
    sends a 催办 and a 督办."""
    tasks = sample_tasks(today or today_in_shanghai())
    ids: dict[str, str] = {}
    for t in tasks:
        parent = None if t.parent is None else ids[t.parent]
        body = t.fields.model_copy(update={"parent": parent}).model_dump(mode="json")
        ids[t.fields.number] = api.post(CHAIR, "/api/v1/tasks", body)["id"]
    api.settle()  # every city must know the tasks before it reports on them
    approve: list[str] = []
    for t in tasks:
        path = _path(ids[t.fields.number])
        for r in t.reports:
            api.post(r.city, f"{path}/reports", r.report.model_dump(mode="json"))
        lead = t.fields.lead_city
        if t.extension is not None:
            made = api.post(lead, f"{path}/extensions", t.extension.model_dump(mode="json"))
            if t.extension_approved:
                approve.append(made["id"])
        if t.completion is not None:
            made = api.post(lead, f"{path}/completions", t.completion.model_dump(mode="json"))
            approve.append(made["id"])
    api.settle()  # the chair decides on requests filed in the leads' logs
    for request in approve:
        reason = f"{SAMPLE}同意。"
        api.post(
            CHAIR, "/api/v1/decisions", {"request": request, "approve": True, "reason": reason}
        )
    for t in tasks:
        for notice in t.notices:
            api.post(
                CHAIR, f"{_path(ids[t.fields.number])}/notices", notice.model_dump(mode="json")
            )
