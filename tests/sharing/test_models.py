"""The bodies of sharing events: each rule names the field at fault (a 422 says which)."""

from __future__ import annotations

from typing import Any

import pytest
from factories import CHAIR, sharing_request
from pydantic import ValidationError

from lunan.sample import sharing as sample
from lunan.sharing.models import ApprovalTerms, DatasetFields, Period


def entry(**changes: Any) -> dict[str, Any]:
    return {**sample.resident_check(CHAIR), **changes}


def where(e: ValidationError) -> str:
    return ".".join(str(p) for p in e.errors()[0]["loc"])


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"legal_basis": ""}, "legal_basis"),  # 有条件共享 needs its basis
        ({"code": "371300-1-0001"}, "code"),
        ({"service": "Resident Check"}, "service"),
        ({"keys": ["手机号"]}, "keys"),  # not a field
        ({"keys": []}, "keys"),  # an exists service needs a key
        ({"modes": ["api", "api"]}, "modes"),
        ({"fields": []}, "fields"),
        ({"update_cycle": "每小时"}, "update_cycle"),
        ({"category": "部分共享"}, "category"),
    ],
)
def test_a_bad_entry_names_its_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as e:
        DatasetFields.model_validate(entry(**changes))
    assert where(e.value) == field


def test_field_names_are_unique() -> None:
    fields = sample.resident_check(CHAIR)["fields"]
    with pytest.raises(ValidationError, match="twice") as e:
        DatasetFields.model_validate(entry(fields=[*fields, fields[0]]))
    assert where(e.value) == "fields"


def test_a_restricted_field_needs_a_basis_even_in_an_unconditional_entry() -> None:
    open_entry = sample.other_entries(CHAIR)[0]
    assert DatasetFields.model_validate(open_entry).legal_basis == ""
    fields = [*open_entry["fields"], {"name": "内部编号", "type": "text", "category": "不予共享"}]
    with pytest.raises(ValidationError) as e:
        DatasetFields.model_validate({**open_entry, "fields": fields})
    assert where(e.value) == "legal_basis"


def test_a_request_is_well_formed() -> None:
    dataset = "dataset/371300/1"
    with pytest.raises(ValidationError) as e:
        sharing_request(dataset, period={"start": "2026-03-02", "end": "2026-03-01"})
    assert where(e.value) == "period.end"
    with pytest.raises(ValidationError) as e:
        sharing_request(dataset, row_filter={"户籍地区划代码": []})
    assert where(e.value) == "row_filter"
    cases: list[tuple[dict[str, Any], str]] = [
        ({"quota": 0}, "quota"),
        ({"fields": ["身份证号", "身份证号"]}, "fields"),
        ({"purpose": ""}, "purpose"),
    ]
    for changes, field in cases:
        with pytest.raises(ValidationError) as e:
            sharing_request(dataset, **changes)
        assert where(e.value) == field
    with pytest.raises(ValidationError) as e:
        sharing_request("task/371300/1")
    assert where(e.value) == "dataset"


def test_approval_terms_need_a_reason_and_default_to_the_request() -> None:
    with pytest.raises(ValidationError) as e:
        ApprovalTerms.model_validate({"reason": ""})
    assert where(e.value) == "reason"
    terms = ApprovalTerms(reason="同意")
    assert (terms.fields, terms.row_filter, terms.period, terms.quota) == (None, None, None, None)
    assert Period.model_validate({"start": "2026-03-02", "end": "2026-03-02"}).end.day == 2
