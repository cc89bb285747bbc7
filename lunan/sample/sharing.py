"""Sample data sharing: each city's catalog, requests and agreements, through each city's API.

From the source (FACTS.md, issue 5), kept exactly: the cities; the 有条件共享 entry
"户籍/居住证 核验" of every city (service `resident-check`, answers only 是/否, key 身份证号,
fields 身份证号 / 姓名 (不予共享) / 户籍地区划代码), and every city's agreement to check every
other city's residents for 旅游同城化 (the tourism alliance treats residents of all four
cities as locals).

Invented, and labelled: the other entries (`sample: true`, and "示例数据" in their
description), the resident-check entries' departments (their description says so), the
requests other than the resident checks (their `note` says 示例数据), and the decisions' reasons.
The resident registries behind the entries are synthetic (lunan.sample.tourism imports them).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from lunan.clock import SHANGHAI
from lunan.sample.api import DemoApi

LINYI, ZAOZHUANG, JINING, HEZE = "371300", "370400", "370800", "371700"
CITIES = {LINYI: "临沂", ZAOZHUANG: "枣庄", JINING: "济宁", HEZE: "菏泽"}
SAMPLE = "示例数据"
API = "/api/v1/sharing"
RESIDENT_SERVICE = "resident-check"
RESIDENT_CHECK = "户籍/居住证 核验"
TOURISM_PURPOSE = "旅游同城化门票优惠核验"
TOURISM_SCENARIO = "景区闸机核验本地居民身份"
BASIS = "《政务信息资源共享管理暂行办法》（国发〔2016〕51号）"
PERSONAL_BASIS = f"{BASIS}；《中华人民共和国个人信息保护法》第十三条、第三十四条"


def _field(name: str, type_: str, category: str, description: str = "") -> dict[str, str]:
    return {"name": name, "type": type_, "category": category, "description": description}


def resident_check(city: str) -> dict[str, Any]:
    """The 户籍/居住证 核验 entry of `city` (issue 5), as the catalog API takes it."""
    return {
        "code": f"{city}-01-0001",
        "name": RESIDENT_CHECK,
        "department": f"{CITIES[city]}市公安局",
        "description": (
            f"核验身份证号是否为{CITIES[city]}市户籍或居住证登记人员，仅答复是/否。"
            f"（提供部门为{SAMPLE}；登记数据为合成{SAMPLE}，非真实人员）"
        ),
        "fields": [
            _field("身份证号", "resident_id", "有条件共享", "公民身份号码（GB 11643）"),
            _field("姓名", "text", "不予共享", "姓名"),
            _field(
                "户籍地区划代码",
                "division_code",
                "有条件共享",
                "户籍或居住证登记地行政区划代码（GB/T 2260）",
            ),
        ],
        "category": "有条件共享",
        "legal_basis": PERSONAL_BASIS,
        "update_cycle": "每日",
        "modes": ["api"],
        "service": RESIDENT_SERVICE,
        "answer": "exists",
        "keys": ["身份证号"],
        "sample": False,
    }


def _sample_entry(
    city: str,
    code: str,
    name: str,
    department: str,
    fields: list[dict[str, str]],
    service: str,
    category: str = "无条件共享",
    cycle: str = "每月",
    keys: tuple[str, ...] = (),
) -> dict[str, Any]:
    return {
        "code": f"{city}-{code}",
        "name": name,
        "department": f"{CITIES[city]}市{department}",
        "description": f"（{SAMPLE}）{CITIES[city]}市{name}。",
        "fields": fields,
        "category": category,
        "legal_basis": "" if category == "无条件共享" else BASIS,
        "update_cycle": cycle,
        "modes": ["api", "file"] if category == "无条件共享" else ["api"],
        "service": service,
        "keys": list(keys),
        "sample": True,
    }


def other_entries(city: str) -> list[dict[str, Any]]:
    """Each city's invented entries (示例数据): two 无条件共享, one 有条件共享."""
    return [
        _sample_entry(
            city,
            "03-0001",
            "政策文件目录",
            "人民政府办公室",
            [
                _field("文号", "text", "无条件共享", "发文字号"),
                _field("标题", "text", "无条件共享"),
                _field("发布日期", "date", "无条件共享"),
            ],
            "policy-documents",
            keys=("文号",),
        ),
        _sample_entry(
            city,
            "05-0001",
            "A级旅游景区名录",
            "文化和旅游局",
            [
                _field("景区名称", "text", "无条件共享"),
                _field("等级", "text", "无条件共享", "A级"),
                _field("所在区划代码", "division_code", "无条件共享"),
            ],
            "scenic-areas",
            cycle="每季度",
            keys=("所在区划代码",),
        ),
        _sample_entry(
            city,
            "02-0001",
            "企业登记信息",
            "行政审批服务局",
            [
                _field("统一社会信用代码", "text", "无条件共享"),
                _field("企业名称", "text", "无条件共享"),
                _field("登记状态", "text", "有条件共享"),
                _field("法定代表人身份证号", "resident_id", "不予共享"),
            ],
            "enterprises",
            category="有条件共享",
            cycle="每日",
            keys=("统一社会信用代码",),
        ),
    ]


def _path(object_id: str) -> str:
    """data-request/370400/1 → /api/v1/sharing/requests/370400/1"""
    kind, rest = object_id.split("/", 1)
    plural = {"dataset": "catalog", "data-request": "requests", "data-agreement": "agreements"}
    return f"{API}/{plural[kind]}/{rest}"


def _period(today: dt.date, years: int) -> dict[str, str]:
    """From today for `years` years (a 29 February start ends on 27 February)."""
    day = today if (today.month, today.day) != (2, 29) else today.replace(day=28)
    end = day.replace(year=day.year + years) - dt.timedelta(days=1)
    return {"start": today.isoformat(), "end": end.isoformat()}


def seed_catalog(api: DemoApi) -> dict[tuple[str, str], str]:
    """Every city's entries; returns (city, service) → entry id."""
    ids = {}
    for city in CITIES:
        for entry in [resident_check(city), *other_entries(city)]:
            ids[(city, entry["service"])] = api.post(city, f"{API}/catalog", entry)["id"]
    return ids


def seed_resident_checks(api: DemoApi, ids: dict[tuple[str, str], str], today: dt.date) -> None:
    """Every city asks every other city's resident check; each provider approves."""
    requests = []
    for requester in CITIES:
        for provider in CITIES:
            if provider == requester:
                continue
            body = {
                "dataset": ids[(provider, RESIDENT_SERVICE)],
                "fields": ["身份证号"],
                "purpose": TOURISM_PURPOSE,
                "scenario": TOURISM_SCENARIO,
                "period": _period(today, 3),
                "legal_basis": f"鲁南旅游联盟四市旅游同城化（游客同享本地居民待遇）；{BASIS}",
                "volume": 20000,
                "consent_required": False,
                "quota": 100000,
            }
            requests.append((provider, api.post(requester, f"{API}/requests", body)["id"]))
    api.settle()
    for provider, request_id in requests:
        reason = f"同意，仅用于景区闸机核验本地居民身份（审批意见为{SAMPLE}）"
        api.post(provider, f"{_path(request_id)}/approve", {"reason": reason})


def _request(
    api: DemoApi,
    requester: str,
    dataset: str,
    fields: list[str],
    purpose: str,
    today: dt.date,
    **extra: Any,
) -> str:
    body = {
        "dataset": dataset,
        "fields": fields,
        "purpose": purpose,
        "scenario": f"{CITIES[requester]}市内部业务办理",
        "period": _period(today, 1),
        "legal_basis": extra.pop("legal_basis", BASIS),
        "volume": 500,
        "quota": 1000,
        "note": f"（{SAMPLE}）",
        **extra,
    }
    request_id: str = api.post(requester, f"{API}/requests", body)["id"]
    return request_id


def seed_other_requests(api: DemoApi, ids: dict[tuple[str, str], str], today: dt.date) -> None:
    """A few requests in every state (示例数据): auto-approved 无条件共享 ones, pending, overdue
    (a paper application received 20 days ago, entered now), refused, and suspended."""
    # 无条件共享: the providers' nodes approve these at once by themselves
    _request(api, HEZE, ids[(LINYI, "policy-documents")], ["文号", "标题"], "政策比对", today)
    _request(api, JINING, ids[(ZAOZHUANG, "scenic-areas")], ["景区名称", "等级"], "客源互换", today)
    fields = ["统一社会信用代码", "企业名称", "登记状态"]
    _request(api, ZAOZHUANG, ids[(LINYI, "enterprises")], fields, "招商引资企业核实", today)
    received = (today - dt.timedelta(days=20)).isoformat()
    _request(
        api,
        LINYI,
        ids[(HEZE, "enterprises")],
        fields,
        "跨市通办企业信息核验",
        today,
        received_on=received,
    )
    refused = _request(api, JINING, ids[(LINYI, "enterprises")], fields, "企业信用评价", today)
    suspended = _request(
        api,
        HEZE,
        ids[(JINING, "enterprises")],
        ["统一社会信用代码", "登记状态"],
        "产业链招商企业核实",
        today,
    )
    api.settle()
    api.post(
        LINYI,
        f"{_path(refused)}/refuse",
        {"reason": f"用途与登记状态信息的共享条件不符，请补充依据后重新申请（{SAMPLE}）"},
    )
    agreement = api.post(
        JINING,
        f"{_path(suspended)}/approve",
        {"reason": f"同意，日调用上限核减为500次（{SAMPLE}）", "quota": 500},
    )["id"]
    api.post(
        JINING,
        f"{_path(agreement)}/suspend",
        {"reason": f"接口升级期间暂停（{SAMPLE}）"},
    )


def seed(api: DemoApi) -> None:
    today = dt.datetime.now(SHANGHAI).date()
    ids = seed_catalog(api)
    api.settle()
    seed_resident_checks(api, ids, today)
    seed_other_requests(api, ids, today)
