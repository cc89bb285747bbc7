"""Sample governance data: the linkage mechanism of FACTS.md, written through each city's API.

From the source, kept exactly: 临沂 the first chair (the alliance file); a leadership group and
a task force exist; the 2nd joint meeting, "鲁南经济圈一体化发展推进会暨第2次联席会议", on 13 May in
临沂, launched 鲁南经济圈乡村振兴一体化发展系列活动 and signed four documents (titles exactly as in
the source, without 《》); the three landed projects by name (格力电器(临沂) in 临沂; the source
does not say where the other two are, so their location is left empty).

Invented, and labelled 示例数据 in each object's `note` (or in the text itself): the year 2021
(inferred: the report's figures are for 2020), the 1st meeting's date and content, agendas,
attendees, minutes and resolution wording, the bodies' members and the thematic task forces,
the agreements' texts (short summaries), and which city drafts and records what.
"""

from __future__ import annotations

from typing import Any

from lunan.sample.api import DemoApi

LINYI, ZAOZHUANG, JINING, HEZE = "371300", "370400", "370800", "371700"
CITIES = {LINYI: "临沂", ZAOZHUANG: "枣庄", JINING: "济宁", HEZE: "菏泽"}
SAMPLE = "示例数据"
API = "/api/v1/governance"

# (title exactly as in FACTS.md without 《》, kind by the title's ending, summary 示例数据)
AGREEMENTS = [
    (
        "鲁南经济圈红色文化旅游合作框架协议",
        "框架协议",
        "四市共同推介红色旅游精品线路，推进客源互换、市场互动，共建共享红色文化旅游资源。",
    ),
    (
        "共建鲁南经济圈科技协同创新中心战略合作框架协议书",
        "协议书",
        "四市共建鲁南经济圈科技协同创新中心，推动科技成果共享与创新平台共建。",
    ),
    (
        "鲁南经济圈党媒战略合作意向书",
        "意向书",
        "四市党媒建立战略合作关系，联合开展鲁南经济圈一体化发展宣传报道。",
    ),
    (
        "鲁南经济圈一体化发展法治合作交流协议",
        "合作协议",
        "四市建立法治合作交流机制，共同推进法治建设共同体。",
    ),
]
ACTIVITIES = "鲁南经济圈乡村振兴一体化发展系列活动"

TASK_FORCES = [  # (name, lead city, lead department): all 示例数据 but the first's existence
    ("鲁南经济圈一体化发展工作专班", LINYI, "临沂市发展和改革委员会"),
    ("交通互联工作专班", ZAOZHUANG, "枣庄市交通运输局"),
    ("科技创新工作专班", JINING, "济宁市科学技术局"),
    ("乡村振兴工作专班", HEZE, "菏泽市农业农村局"),
]


def _path(object_id: str) -> str:
    """agreement/371300/1 → /api/v1/governance/agreements/371300/1"""
    kind, rest = object_id.split("/", 1)
    return f"{API}/{kind}s/{rest}"


def _one_per_city(department: str, person: str) -> list[dict[str, str]]:
    return [
        {"city": c, "department": f"{name}{department}", "position": "成员", "person": person}
        for c, name in CITIES.items()
    ]


def seed_bodies(api: DemoApi) -> None:
    api.post(
        LINYI,
        f"{API}/bodies",
        {
            "kind": "领导小组",
            "name": "鲁南经济圈一体化发展领导小组",
            "duties": "统筹推进鲁南经济圈一体化发展，定期会商、协调推进重大事项。",
            "members": _one_per_city("市人民政府", f"市政府主要负责同志（{SAMPLE}）"),
            "note": f"机构名称据原文；职责表述、成员为{SAMPLE}",
        },
    )
    for name, city, department in TASK_FORCES:
        members = [{"city": city, "department": department, "position": "牵头单位"}]
        members += [
            {"city": c, "department": f"{n}市发展和改革委员会", "position": "成员单位"}
            for c, n in CITIES.items()
            if c != city
        ]
        existence = "机构存在据原文；" if name == TASK_FORCES[0][0] else ""
        api.post(
            LINYI,
            f"{API}/bodies",
            {
                "kind": "工作专班",
                "name": name,
                "lead_city": city,
                "lead_department": department,
                "members": members,
                "note": f"{existence}名称、牵头部门、成员为{SAMPLE}",
            },
        )


def _attendees(people: str) -> list[dict[str, Any]]:
    return [{"city": c, "people": [people]} for c in CITIES]


def _hold(api: DemoApi, meeting: str, minutes: str, resolutions: list[dict[str, str]]) -> None:
    api.post(LINYI, f"{_path(meeting)}/held", {})
    api.post(LINYI, f"{_path(meeting)}/minutes", {"minutes": minutes, "resolutions": resolutions})
    api.post(LINYI, f"{_path(meeting)}/approve", {})


def seed_first_meeting(api: DemoApi) -> str:
    meeting: str = api.post(
        LINYI,
        f"{API}/meetings",
        {
            "number": 1,
            "title": "鲁南经济圈第1次联席会议",
            "date": "2020-11-20",
            "host_city": LINYI,
            "place": "临沂",
            "agenda": [
                {"id": "a1", "title": "审议鲁南经济圈联席会议制度"},
                {"id": "a2", "title": "确定首任轮值城市"},
                {"id": "a3", "title": "建立具体合作任务台账"},
            ],
            "attendees": _attendees(f"市政府分管负责同志（{SAMPLE}）"),
            "note": (
                f"原文所载第2次联席会议表明此前举行过第1次；日期、议程、出席人员、纪要均为{SAMPLE}"
            ),
        },
    )["id"]
    minutes = f"（{SAMPLE}）会议审议通过联席会议制度，确定首任轮值城市，建立具体合作任务台账。"
    resolutions = [
        {"id": "r1", "text": "建立联席会议制度，实行轮值城市制度，临沂市为首任轮值城市。"},
        {"id": "r2", "text": f"建立具体合作任务台账，推进全方位合作走深走实（{SAMPLE}）。"},
    ]
    _hold(api, meeting, minutes, resolutions)
    return meeting


def seed_second_meeting(api: DemoApi) -> tuple[str, list[str]]:
    """The 2nd joint meeting of FACTS.md; returns it and the four agreements drafted."""
    children = [
        {"id": f"a2.{i}", "title": f"签订《{title}》"}
        for i, (title, _, _) in enumerate(AGREEMENTS, start=1)
    ]
    meeting: str = api.post(
        LINYI,
        f"{API}/meetings",
        {
            "number": 2,
            "title": "鲁南经济圈一体化发展推进会暨第2次联席会议",
            "date": "2021-05-13",
            "host_city": LINYI,
            "place": "临沂",
            "agenda": [
                {"id": "a1", "title": f"启动{ACTIVITIES}"},
                {"id": "a2", "title": "签订合作文件", "children": children},
            ],
            "attendees": _attendees(f"市政府分管负责同志（{SAMPLE}）"),
            "note": (
                "会议名称、5月13日、临沂、启动系列活动与签订的四份文件据原文；"
                f"年份2021为推断（原文未载明），议程编排、出席人员、纪要文字为{SAMPLE}"
            ),
        },
    )["id"]
    resolutions = [
        {"id": f"r{i}", "text": f"签订《{title}》。"}
        for i, (title, _, _) in enumerate(AGREEMENTS, start=1)
    ]
    resolutions.append({"id": "r5", "text": f"启动{ACTIVITIES}。"})
    _hold(
        api,
        meeting,
        f"（{SAMPLE}）会议启动{ACTIVITIES}，四市签订合作框架协议等四份文件。",
        resolutions,
    )
    agreements = []
    for i, (title, kind, summary) in enumerate(AGREEMENTS, start=1):
        created = api.post(
            LINYI,
            f"{_path(meeting)}/resolutions/r{i}/agreements",
            {
                "title": title,
                "kind": kind,
                "text": f"（{SAMPLE}：协议文本摘要，非原文）{summary}",
                "parties": list(CITIES),
                "signing_place": "临沂",
                "signing_date": "2021-05-13",
                "note": f"名称、签订地点与日期据原文（年份为推断）；文本与起草城市为{SAMPLE}",
            },
        )
        agreements.append(created["id"])
    return meeting, agreements


def seed_signatures(api: DemoApi, agreements: list[str]) -> None:
    api.settle()  # every city must have the drafts before it signs
    for agreement in agreements:
        for city in CITIES:
            note = f"签署记录的时间为录入时间，非原文签署时间（{SAMPLE}）"
            api.post(city, f"{_path(agreement)}/sign", {"note": note})


UNKNOWN_CITY = "原文未载明所在城市，所在地留空；"
PROJECTS = [  # (name, location: "" where FACTS.md does not say, what the source says of it)
    ("山东中药材产业园", "", UNKNOWN_CITY),
    ("鲁南大健康产业园", "", UNKNOWN_CITY),
    ("格力电器(临沂)智能制造基地", "临沂", "所在地据项目名称；"),
]


def seed_projects(api: DemoApi) -> None:
    for name, location, note in PROJECTS:
        api.post(
            LINYI,
            f"{API}/projects",
            {
                "name": name,
                "location": location,
                "area": "产业协同",
                "description": "鲁南经济圈科创联盟推动落地的项目（据原文）。",
                "note": f"项目名称据原文；{note}由临沂录入、领域分类为{SAMPLE}",
            },
        )


def seed(api: DemoApi) -> None:
    seed_bodies(api)
    seed_first_meeting(api)
    _, agreements = seed_second_meeting(api)
    seed_signatures(api, agreements)
    seed_projects(api)
