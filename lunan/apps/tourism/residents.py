"""A synthetic resident registry per member city (示例数据) and its CSV file format.

The exchange's "户籍/居住证 核验" entry answers 是/否 from a city's registry; a demo needs one
without any real person in it. `generate` makes residents with random names (common surnames
and given-name characters) and random ID numbers that pass the GB 11643 check, registered in
that city's counties. A random number may by chance equal a real one; nothing else ties the
two, and the names are drawn independently.

The file is UTF-8 CSV with the header exactly `身份证号,姓名,户籍地区划代码`. `read_csv` checks
every row and either returns them all or raises `ResidentFileError` listing every problem:
an import is all or nothing (DESIGN §6, invariant 5). Problems name the row and column but never
echo an ID number or a name, since import reports end up in logs (invariant 2).
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from lunan.apps.divisions import CITIES, RETIRED, city_of, counties
from lunan.apps.ids import IdNumberError, make_resident_id, parse_resident_id

__all__ = [
    "HEADER",
    "MAX_NAME_LENGTH",
    "Resident",
    "ResidentFileError",
    "RowError",
    "generate",
    "parse_csv",
    "read_csv",
    "write_csv",
]

HEADER = ("身份证号", "姓名", "户籍地区划代码")
MAX_NAME_LENGTH = 20


@dataclass(frozen=True)
class Resident:
    """One row of a city's resident registry."""

    id_number: str  # 18 characters, normalised (upper-case X)
    name: str
    region: str  # 户籍地区划代码: 6-digit county code in the registry's city


# --- generation -------------------------------------------------------------------------------

# Common surnames and given-name characters; any combination is as likely as any other, so a
# generated name points at nobody.
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝"
    "龚邵万钱严武戴孔颜"
)
_COMPOUND_SURNAMES = ("欧阳", "司马", "诸葛", "上官", "东方")
_GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红鹏飞建国志宏文斌辉俊峰晨阳雪梅兰"
    "婷颖佳欣宇浩然子涵博思雨泽轩睿琳瑶诗晓海波东亮立新春燕凤云翠玲慧德福顺安宁康永庆祥瑞"
)
_BIRTH_FROM = date(1935, 1, 1)
_BIRTH_TO = date(2015, 12, 31)
_COMPOUND_SHARE = 0.02
_TWO_CHAR_GIVEN_SHARE = 0.65
_OLD_CODE_SHARE = 0.5  # of those born before their county's code changed


def generate(city: str, count: int, seed: int | str) -> list[Resident]:
    """`count` synthetic residents of member city `city` (示例数据), the same for the same seed.

    Region codes are the city's GB/T 2260 counties; someone born before their county's code
    changed (兖州市 370882 → 兖州区 370812 in 2013, …) sometimes has the old code in their ID
    number, as real people do, while their 户籍 code is the current one. ID numbers are unique.
    """
    if city not in CITIES:
        raise ValueError(
            f"“{city}”不是成员市代码 '{city}' is not a member city code ({', '.join(CITIES)})"
        )
    if count < 0:
        raise ValueError(f"人数不能为负：{count} count must not be negative: {count}")
    # A string seed is hashed with SHA-512 by `random`, so the sequence does not depend on
    # PYTHONHASHSEED or the platform; the city is part of it so cities differ for one seed.
    rng = random.Random(f"lunan.apps.tourism.residents:{city}:{seed}")
    places = [d.code for d in counties(city)]
    old_codes = {r.successor: r for r in RETIRED.values() if city_of(r.code) == city}
    span = (_BIRTH_TO - _BIRTH_FROM).days
    seen: set[str] = set()
    residents: list[Resident] = []
    while len(residents) < count:
        region = rng.choice(places)
        birth = _BIRTH_FROM + timedelta(days=rng.randrange(span + 1))
        id_region = region
        old = old_codes.get(region)
        if old is not None and birth.year < old.year and rng.random() < _OLD_CODE_SHARE:
            id_region = old.code
        number = make_resident_id(id_region, birth, rng.randrange(1000))
        if number in seen:
            continue
        seen.add(number)
        residents.append(Resident(number, _name(rng), region))
    return residents


def _name(rng: random.Random) -> str:
    surname = (
        rng.choice(_COMPOUND_SURNAMES) if rng.random() < _COMPOUND_SHARE else rng.choice(_SURNAMES)
    )
    length = 2 if rng.random() < _TWO_CHAR_GIVEN_SHARE else 1
    return surname + "".join(rng.choice(_GIVEN) for _ in range(length))


# --- the file ---------------------------------------------------------------------------------


def write_csv(path: Path | str, residents: Iterable[Resident]) -> None:
    """Write residents as UTF-8 CSV (no BOM, CRLF line ends as RFC 4180) with `HEADER`."""
    with Path(path).open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        for r in residents:
            writer.writerow((r.id_number, r.name, r.region))


@dataclass(frozen=True)
class RowError:
    """One problem in a resident file: row (the header is row 1), column header, what."""

    row: int
    column: str  # one of HEADER; "" for the row or file as a whole
    problem: str  # zh-CN first, English after

    def __str__(self) -> str:
        where = f"第{self.row}行 row {self.row}"
        if self.column:
            where += f" 【{self.column}】"
        return f"{where}: {self.problem}"


class ResidentFileError(ValueError):
    """The file cannot be imported; `errors` lists every problem. Nothing was read."""

    def __init__(self, errors: Sequence[RowError]) -> None:
        self.errors = tuple(sorted(errors, key=_error_order))
        n = len(self.errors)
        super().__init__(
            f"居民文件有{n}处错误，未导入任何内容 the resident file has {n} error(s); "
            "nothing was imported:\n" + "\n".join(str(e) for e in self.errors)
        )


def _error_order(e: RowError) -> tuple[int, int]:
    return e.row, HEADER.index(e.column) + 1 if e.column in HEADER else 0


def read_csv(path: Path | str, city: str, *, today: date | None = None) -> list[Resident]:
    """Read and check a city's resident file; all rows or `ResidentFileError` (see `parse_csv`)."""
    return parse_csv(Path(path).read_bytes(), city, today=today)


def parse_csv(data: bytes, city: str, *, today: date | None = None) -> list[Resident]:
    """Check every row of a resident file for member city `city` and return the residents.

    Checked: UTF-8 (a leading BOM, as Excel writes, is allowed), the header exactly `HEADER`,
    three columns a row, the ID number (length, characters, birth date, check character; its
    address code is not compared with the city, since people move), the name (not empty, at most
    20 characters, no control characters), the 户籍 code (a 6-digit county code in `city`), and
    no ID number twice. Cells are read without surrounding whitespace; wholly empty lines are
    skipped. Raises `ResidentFileError` with every problem found; returns nothing partial.
    """
    if city not in CITIES:
        raise ValueError(
            f"“{city}”不是成员市代码 '{city}' is not a member city code ({', '.join(CITIES)})"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise ResidentFileError(
            [
                RowError(
                    line,
                    "",
                    f"文件不是UTF-8编码（第{line}行起）；用Excel请另存为“CSV UTF-8” the file is "
                    f"not UTF-8 (from line {line}); in Excel save as 'CSV UTF-8'",
                )
            ]
        ) from None
    errors: list[RowError] = []
    residents: list[Resident] = []
    first_row: dict[str, int] = {}
    reader = csv.reader(io.StringIO(text, newline=""))
    row = 0
    try:
        for row, cells in enumerate(reader, start=1):
            if row == 1:
                if tuple(cells) != HEADER:
                    errors.append(_header_error(cells))
                continue
            if not cells:
                continue
            resident = _check_row(row, cells, city, first_row, errors, today)
            if resident is not None:
                residents.append(resident)
    except csv.Error as e:
        errors.append(
            RowError(row + 1, "", f"CSV格式错误：{e} the file is not well-formed CSV: {e}")
        )
    if row == 0:
        errors.append(_header_error([]))
    if errors:
        raise ResidentFileError(errors)
    return residents


def _header_error(cells: Sequence[str]) -> RowError:
    expected = ",".join(HEADER)
    if not cells:
        return RowError(1, "", f"缺少表头，应为“{expected}” no header; it must be '{expected}'")
    return RowError(
        1,
        "",
        f"表头应为“{expected}”，实为“{','.join(cells)}” the header must be exactly "
        f"'{expected}', found '{','.join(cells)}'",
    )


def _check_row(
    row: int,
    cells: Sequence[str],
    city: str,
    first_row: dict[str, int],
    errors: list[RowError],
    today: date | None,
) -> Resident | None:
    """The row's resident, or None after appending each of its problems to `errors`."""
    if len(cells) != len(HEADER):
        errors.append(
            RowError(
                row,
                "",
                f"应有{len(HEADER)}列，实有{len(cells)}列 the row must have {len(HEADER)} "
                f"columns, it has {len(cells)}",
            )
        )
        return None
    id_text, name, region = (c.strip() for c in cells)
    before = len(errors)
    number = _check_id(row, id_text, first_row, errors, today)
    _check_name(row, name, errors)
    _check_region(row, region, city, errors)
    if len(errors) > before or number is None:
        return None
    return Resident(number, name, region)


def _check_id(
    row: int, text: str, first_row: dict[str, int], errors: list[RowError], today: date | None
) -> str | None:
    column = HEADER[0]
    if not text:
        errors.append(RowError(row, column, "身份证号为空 the ID number is empty"))
        return None
    try:
        number = parse_resident_id(text, today=today).number
    except IdNumberError as e:
        errors.append(RowError(row, column, str(e)))
        return None
    if number in first_row:
        earlier = first_row[number]
        errors.append(
            RowError(
                row,
                column,
                f"身份证号与第{earlier}行重复 the ID number is already in row {earlier}",
            )
        )
        return None
    first_row[number] = row
    return number


def _check_name(row: int, name: str, errors: list[RowError]) -> None:
    column = HEADER[1]
    if not name:
        errors.append(RowError(row, column, "姓名为空 the name is empty"))
    elif len(name) > MAX_NAME_LENGTH:
        errors.append(
            RowError(
                row,
                column,
                f"姓名超过{MAX_NAME_LENGTH}个字（实有{len(name)}个） the name is longer than "
                f"{MAX_NAME_LENGTH} characters ({len(name)})",
            )
        )
    elif any(not c.isprintable() for c in name):
        errors.append(
            RowError(
                row,
                column,
                "姓名含控制字符（如换行） the name contains a control character (e.g. a line "
                "break)",
            )
        )


def _check_region(row: int, region: str, city: str, errors: list[RowError]) -> None:
    column = HEADER[2]
    city_label = f"{CITIES[city]}（{city}）"
    if len(region) != 6 or not region.isascii() or not region.isdigit():
        errors.append(
            RowError(
                row,
                column,
                f"户籍地区划代码应为6位数字，实为“{region}” the division code must be 6 digits, "
                f"found '{region}'",
            )
        )
    elif city_of(region) != city:
        errors.append(
            RowError(
                row,
                column,
                f"户籍地区划代码“{region}”不在{city_label} the division code '{region}' is not "
                f"in the city {city}",
            )
        )
    elif region.endswith("00"):
        errors.append(
            RowError(
                row,
                column,
                f"“{region}”是市级代码，应填县级区划代码 '{region}' is the city's own code; "
                "use the county-level code",
            )
        )
