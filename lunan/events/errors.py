"""Why a write was refused, for every domain's actions; the web layer turns these into
problem documents (RFC 9457) and the CLI into one-line errors. Raised before anything is
appended, so a refused write changes nothing."""

from __future__ import annotations


class ActionError(Exception):
    status = 400
    slug = "bad-request"
    title = "请求无效 Bad request"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field  # the input field at fault, e.g. "deadline" or "rows[3].进度"


class Invalid(ActionError):
    status = 422
    slug = "invalid-input"
    title = "输入有误 Invalid input"


class Forbidden(ActionError):
    status = 403
    slug = "forbidden"
    title = "无权操作 Forbidden"


class NotFound(ActionError):
    status = 404
    slug = "not-found"
    title = "未找到 Not found"


class Conflict(ActionError):
    status = 409
    slug = "conflict"
    title = "状态冲突 Conflict"
