"""Identity numbers: resident ID (GB 11643-1999) and unified social credit code (GB 32100-2015).

Both are checked by their check character only (DESIGN §5). The address code of a resident ID
is never looked up: codes change (兖州市 370882 became 兖州区 370812 in 2013) and people keep
their old numbers for life, so an unknown or retired code is not an error.

Error messages never repeat the whole number: they end up in 422 responses and import reports,
and a resident ID is personal data (DESIGN §6, invariant 2). They name the position and, for a
wrong check character, the one that was expected.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

__all__ = [
    "EARLIEST_BIRTH",
    "USCC_ALPHABET",
    "IdNumberError",
    "Problem",
    "ResidentId",
    "Sex",
    "check_uscc",
    "make_resident_id",
    "org_code_check_char",
    "parse_resident_id",
    "resident_id_check_char",
    "uscc_check_char",
]

Sex = Literal["男", "女"]
Problem = Literal["length", "characters", "birth_date", "check"]

# GB 11643-1999 / ISO 7064 MOD 11-2: weight of position i (1-based from the left) is
# 2^(18-i) mod 11; the remainder of the weighted sum picks the check character.
_RID_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
_RID_CHECK = "10X98765432"

# GB 32100-2015: 31 characters (no I, O, Z, S, V, which read like 1, 0, 2, 5, U), weights
# 3^(i-1) mod 31, check value 31 - (sum mod 31) with 31 read as 0.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE = {c: v for v, c in enumerate(USCC_ALPHABET)}
_USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))

# GB 11714 organisation code (positions 9–17 of a USCC): 8 characters and a check character.
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"

# A date before this is a typing error, not an old person; the standard's own example is 1880.
EARLIEST_BIRTH = date(1800, 1, 1)

_DIGITS = frozenset("0123456789")


class IdNumberError(ValueError):
    """An identity number that fails validation; the message is zh-CN first, English after.

    `problem` says which rule failed, `position` the 1-based character concerned (if one is),
    `expected` the check character the other characters call for (if the check failed).
    """

    def __init__(
        self,
        message: str,
        *,
        problem: Problem,
        position: int | None = None,
        expected: str | None = None,
    ) -> None:
        super().__init__(message)
        self.problem: Problem = problem
        self.position = position
        self.expected = expected


# --- resident ID (GB 11643-1999) -----------------------------------------------------------


@dataclass(frozen=True)
class ResidentId:
    """A valid 18-character resident ID number, taken apart."""

    region: str  # 6-digit address code (GB/T 2260) at the time of issue; may be retired
    birth: date
    sequence: int  # 0–999; odd for men, even for women
    sex: Sex
    check: str  # "0"–"9" or "X" (always upper case)

    @property
    def number(self) -> str:
        """The normalised number: upper-case X, no spaces."""
        return f"{self.region}{self.birth:%Y%m%d}{self.sequence:03d}{self.check}"

    def __str__(self) -> str:
        return self.number


def resident_id_check_char(first17: str) -> str:
    """The check character ("0"–"9" or "X") for the first 17 digits of a resident ID."""
    if len(first17) != 17 or not set(first17) <= _DIGITS:
        raise IdNumberError(
            "计算校验码需要17位数字 the check character is computed from exactly 17 digits",
            problem="characters" if len(first17) == 17 else "length",
        )
    total = sum(int(c) * w for c, w in zip(first17, _RID_WEIGHTS, strict=True))
    return _RID_CHECK[total % 11]


def parse_resident_id(text: str, *, today: date | None = None) -> ResidentId:
    """Validate and take apart a resident ID number; raise `IdNumberError` saying what is wrong.

    Surrounding whitespace is ignored and a lower-case x is read as X. Checked, in order: length,
    characters, birth date (a real date, not before 1800, not after `today`, which defaults to
    the system date), check character. The address code is never looked up (see the module doc).
    """
    s = text.strip().upper()
    if len(s) != 18:
        hint = (
            "；15位为第一代身份证号码，请使用18位号码 (a 15-character number is a first-generation "
            "one; use the 18-character number)"
            if len(s) == 15
            else ""
        )
        raise IdNumberError(
            f"身份证号应为18位，实为{len(s)}位 a resident ID number has 18 characters, "
            f"this one has {len(s)}{hint}",
            problem="length",
        )
    for i, c in enumerate(s[:17], start=1):
        if c not in _DIGITS:
            raise IdNumberError(
                f"身份证号第{i}位应为数字，实为“{c}” character {i} of a resident ID number "
                f"must be a digit, found '{c}'",
                problem="characters",
                position=i,
            )
    if s[17] not in _DIGITS and s[17] != "X":
        raise IdNumberError(
            f"身份证号第18位（校验码）应为数字或X，实为“{s[17]}” character 18 (the check "
            f"character) of a resident ID number must be a digit or X, found '{s[17]}'",
            problem="characters",
            position=18,
        )
    birth = _birth_date(s[6:14], today if today is not None else date.today())
    expected = resident_id_check_char(s[:17])
    if s[17] != expected:
        raise IdNumberError(
            f"身份证号校验码错误：按前17位应为“{expected}”，实为“{s[17]}” wrong check "
            f"character: the first 17 characters call for '{expected}', found '{s[17]}'",
            problem="check",
            position=18,
            expected=expected,
        )
    sequence = int(s[14:17])
    return ResidentId(
        region=s[:6],
        birth=birth,
        sequence=sequence,
        sex="男" if sequence % 2 else "女",
        check=s[17],
    )


def _birth_date(yyyymmdd: str, today: date) -> date:
    """The birth date of characters 7–14; the message names only the failing part."""
    year, month, day = int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:])
    if not 1 <= month <= 12:
        raise IdNumberError(
            f"身份证号出生日期（第7–14位）无效：月份“{month:02d}”不存在 the birth date "
            f"(characters 7–14) is not a date: there is no month {month:02d}",
            problem="birth_date",
            position=11,
        )
    try:
        birth = date(year, month, day)
    except ValueError:
        raise IdNumberError(
            f"身份证号出生日期（第7–14位）无效：{year}年{month}月没有{day}日 the birth date "
            f"(characters 7–14) is not a date: {year}-{month:02d} has no day {day:02d}",
            problem="birth_date",
            position=13,
        ) from None
    if birth < EARLIEST_BIRTH:
        raise IdNumberError(
            f"身份证号出生日期（第7–14位）无效：年份{year}早于1800年 the birth date "
            f"(characters 7–14) is not plausible: year {year} is before 1800",
            problem="birth_date",
            position=7,
        )
    if birth > today:
        raise IdNumberError(
            "身份证号出生日期（第7–14位）无效：晚于今天 the birth date (characters 7–14) "
            "is in the future",
            problem="birth_date",
            position=7,
        )
    return birth


def make_resident_id(region: str, birth: date, sequence: int) -> str:
    """An 18-character resident ID number with its check character (for tests and samples)."""
    if len(region) != 6 or not set(region) <= _DIGITS:
        raise ValueError(
            f"地址码应为6位数字，实为“{region}” the address code must be 6 digits, got '{region}'"
        )
    if not 0 <= sequence <= 999:
        raise ValueError(
            f"顺序码应在0–999之间，实为{sequence} the sequence number must be 0–999, got {sequence}"
        )
    if not EARLIEST_BIRTH.year <= birth.year <= 9999:
        raise ValueError(
            f"出生年份应在1800–9999之间，实为{birth.year} the birth year must be 1800–9999, "
            f"got {birth.year}"
        )
    first17 = f"{region}{birth.year:04d}{birth.month:02d}{birth.day:02d}{sequence:03d}"
    return first17 + resident_id_check_char(first17)


# --- unified social credit code (GB 32100-2015) --------------------------------------------


def uscc_check_char(first17: str) -> str:
    """The check character of a unified social credit code from its first 17 characters."""
    if len(first17) != 17 or any(c not in _USCC_VALUE for c in first17):
        raise IdNumberError(
            "计算校验码需要17个代码字符（不含I、O、Z、S、V） the check character is computed "
            "from exactly 17 code characters (no I, O, Z, S, V)",
            problem="characters" if len(first17) == 17 else "length",
        )
    total = sum(_USCC_VALUE[c] * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def org_code_check_char(first8: str) -> str:
    """The GB 11714 check character of an organisation code (positions 9–16 of a USCC)."""
    if len(first8) != 8 or any(c not in _ORG_ALPHABET for c in first8):
        raise IdNumberError(
            "计算组织机构代码校验码需要8个数字或大写字母 the organisation code check character "
            "is computed from exactly 8 digits or capital letters",
            problem="characters" if len(first8) == 8 else "length",
        )
    total = sum(_ORG_ALPHABET.index(c) * w for c, w in zip(first8, _ORG_WEIGHTS, strict=True))
    value = 11 - total % 11
    return {10: "X", 11: "0"}.get(value, str(value))


def check_uscc(text: str, *, org_code: bool = False) -> str:
    """Validate a unified social credit code; return it normalised (upper case, no spaces).

    Checked, in order: length, characters (the 31-character set), the registration authority's
    division code (positions 3–8, six digits; never looked up, as for resident IDs), and the
    check character. With `org_code=True` the GB 11714 check inside positions 9–17 is verified
    too; it is off by default because GB 32100 itself only requires the outer check.
    """
    s = text.strip().upper()
    if len(s) != 18:
        raise IdNumberError(
            f"统一社会信用代码应为18位，实为{len(s)}位 a unified social credit code has "
            f"18 characters, this one has {len(s)}",
            problem="length",
        )
    for i, c in enumerate(s, start=1):
        if c not in _USCC_VALUE:
            raise IdNumberError(
                f"统一社会信用代码第{i}位“{c}”不是代码字符"
                f"（只用数字和除I、O、Z、S、V外的大写字母） "
                f"character {i} of a unified social credit code, '{c}', is not a code character "
                f"(digits and capital letters except I, O, Z, S, V)",
                problem="characters",
                position=i,
            )
    for i, c in enumerate(s[2:8], start=3):
        if c not in _DIGITS:
            raise IdNumberError(
                f"统一社会信用代码第{i}位应为数字（第3–8位是行政区划码），实为“{c}” character "
                f"{i} of a unified social credit code must be a digit (characters 3–8 are the "
                f"division code), found '{c}'",
                problem="characters",
                position=i,
            )
    expected = uscc_check_char(s[:17])
    if s[17] != expected:
        raise IdNumberError(
            f"统一社会信用代码校验码错误：按前17位应为“{expected}”，实为“{s[17]}” wrong check "
            f"character: the first 17 characters call for '{expected}', found '{s[17]}'",
            problem="check",
            position=18,
            expected=expected,
        )
    if org_code:
        inner = org_code_check_char(s[8:16])
        if s[16] != inner:
            raise IdNumberError(
                f"统一社会信用代码第17位（组织机构代码校验码）错误：应为“{inner}”，实为“{s[16]}” "
                f"character 17 (the organisation code's check character) is wrong: "
                f"expected '{inner}', found '{s[16]}'",
                problem="check",
                position=17,
                expected=inner,
            )
    return s
