"""Resident ID (GB 11643-1999) and unified social credit code (GB 32100-2015) validation."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lunan.apps.ids import (
    USCC_ALPHABET,
    IdNumberError,
    ResidentId,
    check_uscc,
    make_resident_id,
    org_code_check_char,
    parse_resident_id,
    resident_id_check_char,
    uscc_check_char,
)

TODAY = date(2025, 1, 1)

# --- resident ID: the vectors of governance-ux.md §5 ---------------------------------------


def test_vector_with_x_check() -> None:
    rid = parse_resident_id("11010519491231002X", today=TODAY)
    assert rid == ResidentId(
        region="110105", birth=date(1949, 12, 31), sequence=2, sex="女", check="X"
    )
    assert rid.number == str(rid) == "11010519491231002X"


def test_vector_born_1880() -> None:
    rid = parse_resident_id("440524188001010014", today=TODAY)
    assert (rid.region, rid.birth, rid.sequence, rid.sex, rid.check) == (
        "440524",
        date(1880, 1, 1),
        1,
        "男",
        "4",
    )


def test_check_char_of_vectors() -> None:
    assert resident_id_check_char("11010519491231002") == "X"
    assert resident_id_check_char("44052418800101001") == "4"


def test_lowercase_x_and_whitespace_accepted() -> None:
    rid = parse_resident_id("  11010519491231002x\n", today=TODAY)
    assert rid.check == "X"
    assert rid.number == "11010519491231002X"


@pytest.mark.parametrize(
    "number",
    [
        make_resident_id("370882", date(1970, 5, 1), 11),  # 兖州市, now 兖州区 370812
        make_resident_id("371727", date(1980, 2, 29), 22),  # 定陶县, now 定陶区 371703
        make_resident_id("370802", date(1960, 1, 1), 33),  # 济宁市中区, merged 2013
        make_resident_id("990000", date(2000, 1, 1), 44),  # unknown: still not rejected
    ],
)
def test_retired_and_unknown_region_codes_are_accepted(number: str) -> None:
    assert parse_resident_id(number, today=TODAY).number == number


# --- resident ID: errors, each precise ---------------------------------------------------------


def _error(text: str) -> IdNumberError:
    with pytest.raises(IdNumberError) as info:
        parse_resident_id(text, today=TODAY)
    return info.value


def test_length() -> None:
    e = _error("1101051949123100")
    assert e.problem == "length"
    assert "18位" in str(e) and "16位" in str(e) and "18 characters" in str(e)


def test_fifteen_digit_first_generation_number_says_so() -> None:
    e = _error("110105491231002")
    assert e.problem == "length" and "第一代" in str(e) and "first-generation" in str(e)


def test_bad_character_names_position() -> None:
    e = _error("1101051949A231002X")
    assert (e.problem, e.position) == ("characters", 11)
    assert "第11位" in str(e) and "“A”" in str(e) and "character 11" in str(e)


def test_bad_check_character() -> None:
    e = _error("11010519491231002Y")
    assert (e.problem, e.position) == ("characters", 18)
    assert "数字或X" in str(e)


def test_full_width_digit_is_a_bad_character() -> None:
    e = _error("１1010519491231002X")
    assert (e.problem, e.position) == ("characters", 1)


@pytest.mark.parametrize(
    ("birth", "fragment"),
    [
        ("19491331", "月份“13”"),
        ("19490001", "月份“00”"),
        ("19490230", "没有30日"),
        ("19000229", "没有29日"),  # 1900 is not a leap year
        ("17991231", "早于1800年"),
        ("20300101", "晚于今天"),
    ],
)
def test_birth_date(birth: str, fragment: str) -> None:
    first17 = f"110105{birth}002"
    e = _error(first17 + resident_id_check_char(first17))
    assert e.problem == "birth_date"
    assert fragment in str(e)
    assert "birth date" in str(e)


def test_leap_day_is_a_valid_birth_date() -> None:
    number = make_resident_id("370881", date(2000, 2, 29), 7)
    assert parse_resident_id(number, today=TODAY).birth == date(2000, 2, 29)


def test_wrong_check_digit_says_which_was_expected() -> None:
    e = _error("110105194912310021")
    assert (e.problem, e.position, e.expected) == ("check", 18, "X")
    assert "应为“X”" in str(e) and "实为“1”" in str(e) and "call for 'X'" in str(e)


def test_messages_do_not_repeat_the_number() -> None:
    # Import reports and 422 bodies may be logged; the whole number must not be in them.
    for text in ("110105194912310021", "11010519491331002X", "1101051949A231002X"):
        assert text[:14] not in str(_error(text))


def test_today_defaults_to_the_system_date() -> None:
    assert parse_resident_id("11010519491231002X").birth == date(1949, 12, 31)


def test_check_char_input_validated() -> None:
    with pytest.raises(IdNumberError):
        resident_id_check_char("1234")
    with pytest.raises(IdNumberError):
        resident_id_check_char("1101051949123100A")


@pytest.mark.parametrize(
    ("region", "birth", "sequence"),
    [
        ("37088", date(2000, 1, 1), 1),
        ("37088a", date(2000, 1, 1), 1),
        ("370881", date(2000, 1, 1), 1000),
        ("370881", date(2000, 1, 1), -1),
        ("370881", date(1799, 12, 31), 1),
    ],
)
def test_make_rejects_bad_parts(region: str, birth: date, sequence: int) -> None:
    with pytest.raises(ValueError):
        make_resident_id(region, birth, sequence)


# --- resident ID: properties -------------------------------------------------------------------

regions = st.text(alphabet="0123456789", min_size=6, max_size=6)
births = st.dates(min_value=date(1800, 1, 1), max_value=TODAY)
sequences = st.integers(min_value=0, max_value=999)


@given(regions, births, sequences)
def test_make_then_parse_round_trip(region: str, birth: date, sequence: int) -> None:
    number = make_resident_id(region, birth, sequence)
    rid = parse_resident_id(number, today=TODAY)
    assert (rid.region, rid.birth, rid.sequence) == (region, birth, sequence)
    assert rid.sex == ("男" if sequence % 2 else "女")
    assert rid.number == number
    assert parse_resident_id(number.lower(), today=TODAY) == rid


@given(regions, births, sequences, st.integers(0, 16), st.integers(1, 9))
def test_any_single_digit_change_is_detected(
    region: str, birth: date, sequence: int, position: int, delta: int
) -> None:
    number = make_resident_id(region, birth, sequence)
    changed = str((int(number[position]) + delta) % 10)
    typo = number[:position] + changed + number[position + 1 :]
    with pytest.raises(IdNumberError):
        parse_resident_id(typo, today=TODAY)


@given(regions, births, sequences, st.sampled_from("0123456789X"))
def test_any_other_check_character_is_detected(
    region: str, birth: date, sequence: int, check: str
) -> None:
    number = make_resident_id(region, birth, sequence)
    if check != number[17]:
        with pytest.raises(IdNumberError) as info:
            parse_resident_id(number[:17] + check, today=TODAY)
        assert info.value.expected == number[17]


@given(regions, births, sequences, st.integers(0, 15))
def test_adjacent_transposition_is_detected(
    region: str, birth: date, sequence: int, position: int
) -> None:
    number = make_resident_id(region, birth, sequence)
    a, b = number[position], number[position + 1]
    if a != b:
        swapped = number[:position] + b + a + number[position + 2 :]
        with pytest.raises(IdNumberError):
            parse_resident_id(swapped, today=TODAY)


# --- unified social credit code ---------------------------------------------------------------


def test_uscc_worked_example_of_the_standard() -> None:
    # 91350100M000100Y4? : weighted sum 1640, remainder 28, check 31 - 28 = 3.
    assert uscc_check_char("91350100M000100Y4") == "3"
    assert check_uscc("91350100M000100Y43") == "91350100M000100Y43"


def test_uscc_second_vector_and_normalisation() -> None:
    assert uscc_check_char("91512081MA62K0260") == "E"
    assert check_uscc(" 91512081ma62k0260e ") == "91512081MA62K0260E"


def test_uscc_inner_organisation_code() -> None:
    assert org_code_check_char("M000100Y") == "4"
    assert org_code_check_char("MA62K026") == "0"
    assert check_uscc("91512081MA62K0260E", org_code=True) == "91512081MA62K0260E"
    # Outer check recomputed for a wrong inner check character: only org_code=True sees it.
    first17 = "91350100M000100Y5"
    code = first17 + uscc_check_char(first17)
    assert check_uscc(code) == code
    with pytest.raises(IdNumberError) as info:
        check_uscc(code, org_code=True)
    assert (info.value.problem, info.value.position, info.value.expected) == ("check", 17, "4")


def test_org_code_check_char_ten_and_eleven() -> None:
    # 10 is written X and 11 is written 0 (GB 11714).
    results = {org_code_check_char(f"{n:08d}") for n in range(200)}
    assert "X" in results and "0" in results


def _uscc_error(text: str, **kwargs: bool) -> IdNumberError:
    with pytest.raises(IdNumberError) as info:
        check_uscc(text, **kwargs)
    return info.value


def test_uscc_errors() -> None:
    e = _uscc_error("91350100M000100Y4")
    assert e.problem == "length" and "17位" in str(e)
    e = _uscc_error("91350100M0001O0Y43")
    assert (e.problem, e.position) == ("characters", 14)
    assert "I、O、Z、S、V" in str(e)
    first17 = "913501A0M000100Y4"
    e = _uscc_error(first17 + uscc_check_char(first17))
    assert (e.problem, e.position) == ("characters", 7)
    assert "行政区划码" in str(e)
    e = _uscc_error("91350100M000100Y44")
    assert (e.problem, e.position, e.expected) == ("check", 18, "3")
    assert "应为“3”" in str(e) and "call for '3'" in str(e)


def test_uscc_check_char_input_validated() -> None:
    with pytest.raises(IdNumberError):
        uscc_check_char("9135")
    with pytest.raises(IdNumberError):
        uscc_check_char("91350100M000100I4")
    with pytest.raises(IdNumberError):
        org_code_check_char("M00010")


uscc_bodies = st.tuples(
    st.text(alphabet=USCC_ALPHABET, min_size=2, max_size=2),
    st.text(alphabet="0123456789", min_size=6, max_size=6),
    st.text(alphabet=USCC_ALPHABET, min_size=9, max_size=9),
).map("".join)


@given(uscc_bodies, st.integers(0, 17), st.integers(1, 30))
def test_uscc_any_single_character_change_is_detected(body: str, position: int, delta: int) -> None:
    code = body + uscc_check_char(body)
    assert check_uscc(code) == code
    new = USCC_ALPHABET[(USCC_ALPHABET.index(code[position]) + delta) % 31]
    typo = code[:position] + new + code[position + 1 :]
    with pytest.raises(IdNumberError):
        check_uscc(typo)
