"""Forms: what was typed, and what is wrong with it, field by field, in the page's language.

A form is checked twice on the server: by the domain's model (pydantic: required, lengths,
dates, ranges) and by the action (permission, city, the current state). Both kinds of error are
shown next to the field they name; an error that names no field of the form is shown at the
top of the form (key "").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from starlette.datastructures import FormData, UploadFile

from lunan.events.errors import ActionError, Forbidden
from lunan.events.registry import Rejected
from lunan.web.pages.deps import forbidden
from lunan.web.pages.i18n import Translator

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

WHOLE = ""  # the key of an error about the form as a whole


def text(form: FormData | None, name: str) -> str:
    """A text field, stripped of surrounding blanks ("" when absent or a file)."""
    value = form.get(name) if form is not None else None
    return value.strip() if isinstance(value, str) else ""


def raw(form: FormData | None, name: str) -> str:
    """A field exactly as typed (a password keeps its blanks)."""
    value = form.get(name) if form is not None else None
    return value if isinstance(value, str) else ""


def texts(form: FormData | None, name: str) -> list[str]:
    if form is None:
        return []
    return [v.strip() for v in form.getlist(name) if isinstance(v, str) and v.strip()]


def upload(form: FormData | None, name: str) -> UploadFile | None:
    value = form.get(name) if form is not None else None
    return value if isinstance(value, UploadFile) else None


def optional(value: str) -> str | None:
    return value or None


def message(error: ErrorDetails, _: Translator) -> str:
    """A pydantic error as an office user reads it."""
    ctx = error.get("ctx") or {}
    kind = error["type"]
    if kind == "missing" or (kind == "string_too_short" and ctx.get("min_length") == 1):
        return _("必填")
    if kind in ("string_too_short", "too_short"):
        return _("至少{n}个字", n=ctx.get("min_length"))
    if kind == "string_too_long":
        return _("最多{n}个字", n=ctx.get("max_length"))
    if kind == "too_long":
        return _("最多{n}项", n=ctx.get("max_length"))
    if kind.startswith("date") or kind.startswith("datetime"):
        return _("日期格式应为 YYYY-MM-DD")
    if kind.startswith("int") or kind.startswith("bool"):
        return _("应为整数")
    if kind == "greater_than_equal":
        return _("不能小于{n}", n=ctx.get("ge"))
    if kind == "less_than_equal":
        return _("不能大于{n}", n=ctx.get("le"))
    if kind in ("string_pattern_mismatch", "literal_error", "enum"):
        return _("格式或取值无效")
    if kind == "value_error":
        return str(error["msg"]).removeprefix("Value error, ")
    return _("无效：{why}", why=error["msg"])


def field_of(location: Iterable[Any] | str | None, known: Iterable[str]) -> str:
    """The form field an error names: `partner_cities.0` → partner_cities; else the form."""
    if location is None:
        return WHOLE
    parts = location.replace("[", ".").split(".") if isinstance(location, str) else location
    first = next((str(p) for p in parts), "")
    return first if first in set(known) else WHOLE


@dataclass
class FormState:
    """A form's values (to show them again) and its errors by field."""

    name: str
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    status: int = 200

    @property
    def ok(self) -> bool:
        return not self.errors

    def error(self, name: str) -> str | None:
        return self.errors.get(name)

    def value(self, name: str, default: Any = "") -> Any:
        return self.values.get(name, default)

    def add(self, name: str, text: str, status: int = 422) -> None:
        # The first error of a field is the one to fix first.
        self.errors.setdefault(name, text)
        self.status = status if self.status < 400 else self.status

    def validate(self, model: type[M], data: dict[str, Any], _: Translator) -> M | None:
        try:
            return model.model_validate(data)
        except ValidationError as e:
            for error in e.errors():
                self.add(field_of(error["loc"], self.values), message(error, _))
            return None

    def attempt(self, action: Callable[[], T], _: Translator) -> T | None:
        """Run an action; a refusal becomes an error of the field it names, except a 403
        (wrong role or city), which is a page of its own."""
        try:
            return action()
        except Forbidden as e:
            raise forbidden(e.message) from e
        except ActionError as e:
            self.add(field_of(e.field, self.values), e.message, e.status)
        except Rejected as e:
            # Checked before appending, so another write came first: trying again is safe.
            self.add(WHOLE, _("事件被拒绝，请重试：{why}", why=e.detail), 409)
        return None
