"""Languages of the pages: zh-CN by default, English by a switch remembered in a cookie.

Templates and page code write their text in Chinese and pass it through the translator,
`_("台账")`; in English it is looked up in `EN` (text that is not there, e.g. data typed by a
person, stays as it is). Placeholders use str.format: `_("最多{n}个字", n=200)`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse

from lunan.web.pages.i18n_en import EN

LANGUAGES = {"zh-CN": "中文", "en": "English"}
DEFAULT = "zh-CN"
COOKIE = "lunan_lang"
YEAR = 365 * 24 * 3600

router = APIRouter(include_in_schema=False)


def language(request: Request) -> str:
    chosen = request.cookies.get(COOKIE, DEFAULT)
    return chosen if chosen in LANGUAGES else DEFAULT


class Translator:
    """`_(text, **values)`: the text in the page's language, with the values filled in."""

    def __init__(self, lang: str) -> None:
        self.lang = lang

    def __call__(self, text: str, **values: object) -> str:
        shown = EN.get(text, text) if self.lang == "en" else text
        return shown.format(**values) if values else shown


def local_path(target: str | None) -> str:
    """`target` if it is a path on this node, else the overview: never redirect elsewhere."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.get("/lang/{code}")
def switch(
    code: str, next: Annotated[str | None, Query(max_length=2000)] = None
) -> RedirectResponse:
    """Switch the language and go back to the page the switch was on."""
    response = RedirectResponse(local_path(next), status_code=303)
    if code in LANGUAGES:
        # Not HttpOnly-sensitive (a preference), but nothing in the page's scripts needs it.
        response.set_cookie(COOKIE, code, max_age=YEAR, httponly=True, samesite="lax", path="/")
    return response
