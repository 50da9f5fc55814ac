"""Chinese identifiers: USCC (GB 32100), resident identity numbers (GB 11643), masking."""

import datetime
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.cn import uscc as stdnum_uscc

from credit.identifiers import (
    USCC_ALPHABET,
    USCC_ENTITY_TYPES,
    InvalidIdentifier,
    make_resident_id,
    make_uscc,
    mask_name,
    mask_phone,
    mask_resident_id,
    validate_resident_id,
    validate_uscc,
)

# --- independent re-implementations of the published formulas ----------------------


def uscc_check(first17: str) -> str:
    """GB 32100: weights 3^(i-1) mod 31, C18 = 31 - (sum mod 31), 31 -> '0'."""
    total = sum(USCC_ALPHABET.index(c) * pow(3, i, 31) for i, c in enumerate(first17))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def org_check(body: str) -> str:
    """GB 11714: weights 3,7,9,10,5,8,4,2, A=10..Z=35, c = 11 - (sum mod 11)."""
    values = [int(c) if c.isdigit() else ord(c) - ord("A") + 10 for c in body]
    total = sum(v * w for v, w in zip(values, (3, 7, 9, 10, 5, 8, 4, 2), strict=True))
    c = 11 - total % 11
    return "X" if c == 10 else "0" if c == 11 else str(c)


def ric_check(first17: str) -> str:
    """ISO 7064 MOD 11-2 as printed in GB 11643."""
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(c) * w for c, w in zip(first17, weights, strict=True))
    return "10X98765432"[total % 11]


def build_uscc(department: str, kind: str, region: str, body: str) -> str:
    first17 = department + kind + region + body + org_check(body)
    return first17 + uscc_check(first17)


def build_ric(first17: str) -> str:
    return first17 + ric_check(first17)


# --- USCC --------------------------------------------------------------------------

PUBLISHED_USCCS = [
    "91110000600037341L",  # python-stdnum's example
    "914403001922038216",  # 华为技术有限公司
    "91330100716105852F",  # 阿里巴巴（中国）有限公司
    "91110108551385082Q",  # 小米科技有限责任公司
    "91110000802100433B",  # 北京百度网讯科技有限公司
    "91100000100003962T",  # 中国工商银行股份有限公司
    "91440300708461136T",  # 深圳市腾讯计算机系统有限公司
    "9144030071526726XG",  # organisation code check digit 'X'
    "12100000400000624D",  # department 1 (机构编制), type 2 (事业单位)
]


@pytest.mark.parametrize("code", PUBLISHED_USCCS)
def test_published_codes_are_valid(code):
    assert validate_uscc(code) == code


@pytest.mark.parametrize(
    "raw",
    [
        " 91110000600037341l ",
        "9111-0000-6000-3734-1L",
        "91 110000 600037341 L",
        "９１１１００００６０００３７３４１Ｌ",  # full-width, as a Chinese IME types it
    ],
)
def test_uscc_is_normalised(raw):
    assert validate_uscc(raw) == "91110000600037341L"


@pytest.mark.parametrize("department,kind", [("N", "2"), ("Y", "1"), ("A", "1"), ("5", "3")])
def test_letter_departments_are_accepted(department, kind):
    code = build_uscc(department, kind, "110105", "MA01C3K7")
    assert validate_uscc(code) == code


def test_stdnum_alone_would_refuse_department_n():
    # Why validate_uscc does not delegate to stdnum.cn.uscc.validate.
    code = build_uscc("N", "2", "110105", "MA01C3K7")
    assert not stdnum_uscc.is_valid(code)
    assert validate_uscc(code) == code


NOT_IOSVZ = " (0-9 and A-Z without I O S V Z)"


@pytest.mark.parametrize(
    "value,reason",
    [
        ("91110000600037341", "must be 18 characters, got 17"),
        ("91110000600037341LL", "must be 18 characters, got 19"),
        ("", "must be 18 characters, got 0"),
        (
            "I1110000600037341L",
            "registration department 'I' is not in the USCC alphabet" + NOT_IOSVZ,
        ),
        ("9O110000600037341L", "entity type 'O' is not in the USCC alphabet" + NOT_IOSVZ),
        ("91110000600S37341L", "character 12 'S' is not in the USCC alphabet" + NOT_IOSVZ),
        ("91110000600037341中", "character 18 '中' is not in the USCC alphabet" + NOT_IOSVZ),
        ("9111A000600037341L", "region code (characters 3-8) must be 6 digits, got '11A000'"),
        ("91110000600037342L", "organisation code check digit is wrong: should be '1', not '2'"),
        ("91110000600037341M", "check character should be 'L', not 'M'"),
    ],
)
def test_uscc_reasons_are_specific(value, reason):
    with pytest.raises(InvalidIdentifier) as info:
        validate_uscc(value)
    assert info.value.reason == reason
    assert str(info.value) == reason


def test_invalid_identifier_is_a_value_error():
    with pytest.raises(ValueError):
        validate_uscc("nope")
    with pytest.raises(InvalidIdentifier, match="must be text"):
        validate_uscc(91110000600037341)  # type: ignore[arg-type]


_DEPARTMENT_TYPES = sorted((d, t) for d, types in USCC_ENTITY_TYPES.items() for t in types)
uscc_args = st.tuples(
    st.integers(0, 2**32),
    st.text("0123456789", min_size=6, max_size=6),
    st.sampled_from(_DEPARTMENT_TYPES),
).map(lambda a: (a[0], a[1], a[2][0], a[2][1]))


@settings(max_examples=150, deadline=None)
@given(uscc_args)
def test_generated_codes_match_the_published_formulas(args):
    rng_seed, region, department, kind = args
    code = make_uscc(random.Random(rng_seed), region, department, kind)
    assert code[:8] == department + kind + region
    assert code[16] == org_check(code[8:16])
    assert code[17] == uscc_check(code[:17])
    assert validate_uscc(code) == code


@settings(max_examples=300, deadline=None)
@given(uscc_args, st.integers(0, 17), st.integers(0, 40))
def test_every_single_character_change_of_a_uscc_fails(args, position, pick):
    rng_seed, region, department, kind = args
    code = make_uscc(random.Random(rng_seed), region, department, kind)
    others = [c for c in USCC_ALPHABET + "IOSVZ" if c != code[position]]
    replacement = others[pick % len(others)]
    changed = code[:position] + replacement + code[position + 1 :]
    with pytest.raises(InvalidIdentifier):
        validate_uscc(changed)


def test_every_single_character_change_of_a_published_code_fails():
    # Exhaustive over one code: 18 positions x 30 other alphabet characters.
    code = "91110000600037341L"
    for position in range(18):
        for replacement in USCC_ALPHABET:
            if replacement != code[position]:
                with pytest.raises(InvalidIdentifier):
                    validate_uscc(code[:position] + replacement + code[position + 1 :])


def test_make_uscc_is_deterministic_and_checks_its_arguments():
    first = [make_uscc(random.Random(7)) for _ in range(3)]
    assert len(set(first)) == 1
    rng = random.Random(7)
    assert len({make_uscc(rng) for _ in range(200)}) == 200
    assert first[0].startswith("91110105")
    with pytest.raises(ValueError):
        make_uscc(random.Random(1), region="11010")
    with pytest.raises(ValueError):
        make_uscc(random.Random(1), department="I")


# --- resident identity numbers ----------------------------------------------------

TODAY = datetime.date(2025, 6, 1)


@pytest.mark.parametrize(
    "number",
    [
        "11010519491231002X",  # the example printed in GB 11643
        "360426199101010071",  # python-stdnum's example
        build_ric("81000019900101001"),  # Hong Kong residence permit prefix
    ],
)
def test_known_resident_ids_are_valid(number):
    assert validate_resident_id(number, today=TODAY) == number


def test_lower_case_x_is_normalised():
    assert validate_resident_id(" 110105 19491231 002x ", today=TODAY) == "11010519491231002X"
    assert validate_resident_id("11010519491231002x") == "11010519491231002X"


@pytest.mark.parametrize(
    "value,reason",
    [
        ("11010519491231002", "must be 18 characters, got 17"),
        ("110105194912310021X", "must be 18 characters, got 19"),
        ("1101051949123100XX", "character 17 'X' should be a digit"),
        ("11010519491231002Y", "check character must be a digit or 'X', got 'Y'"),
        (build_ric("99010519491231002"), "region 990105 is not in a known province (GB/T 2260)"),
        (build_ric("11010519990230002"), "birth date 19990230 is not a date"),
        (build_ric("11010519991301002"), "birth date 19991301 is not a date"),
        (build_ric("11010500000101002"), "birth date 00000101 is not a date"),
        ("440524188001010014", "birth date 18800101 is before 1900"),  # GB 11643's other example
        (build_ric("11010520250602002"), "birth date 20250602 is in the future"),
        ("110105194912310021", "check character should be 'X', not '1'"),
    ],
)
def test_resident_id_reasons_are_specific(value, reason):
    with pytest.raises(InvalidIdentifier) as info:
        validate_resident_id(value, today=TODAY)
    assert info.value.reason == reason


def test_reasons_never_quote_the_whole_number():
    number = "110105194912310021"
    with pytest.raises(InvalidIdentifier) as info:
        validate_resident_id(number)
    assert number not in str(info.value)


def test_birth_on_1900_01_01_and_today_are_accepted():
    assert validate_resident_id(build_ric("11010519000101002"), today=TODAY)
    assert validate_resident_id(build_ric("11010520250601002"), today=TODAY)


ric_args = st.tuples(
    st.integers(0, 2**32),
    st.sampled_from(["110105", "310115", "440305", "650102", "820000"]),
    st.dates(datetime.date(1900, 1, 1), TODAY),
    st.booleans(),
)


@settings(max_examples=150, deadline=None)
@given(ric_args)
def test_generated_resident_ids_encode_their_arguments(args):
    rng_seed, region, birth, female = args
    number = make_resident_id(random.Random(rng_seed), region, birth, female)
    assert number[:6] == region
    assert number[6:14] == birth.strftime("%Y%m%d")
    assert int(number[16]) % 2 == (0 if female else 1)
    assert number[14:17] != "000"
    assert number[17] == ric_check(number[:17])
    assert validate_resident_id(number) == number


@settings(max_examples=300, deadline=None)
@given(ric_args, st.integers(0, 17), st.integers(0, 10))
def test_every_single_character_change_of_a_resident_id_fails(args, position, pick):
    rng_seed, region, birth, female = args
    number = make_resident_id(random.Random(rng_seed), region, birth, female)
    others = [
        c for c in ("0123456789X" if position == 17 else "0123456789") if c != number[position]
    ]
    replacement = others[pick % len(others)]
    changed = number[:position] + replacement + number[position + 1 :]
    with pytest.raises(InvalidIdentifier):
        validate_resident_id(changed)


def test_make_resident_id_defaults_are_deterministic_adults():
    numbers = [make_resident_id(random.Random(3), "110105") for _ in range(2)]
    assert numbers[0] == numbers[1]
    rng = random.Random(3)
    births = {make_resident_id(rng, "110105")[6:14] for _ in range(500)}
    assert min(births) >= "19500101" and max(births) <= "20001231"
    with pytest.raises(InvalidIdentifier, match="in the future"):
        make_resident_id(random.Random(1), "110105", datetime.date(3000, 1, 1))
    with pytest.raises(ValueError):
        make_resident_id(random.Random(1), "1101")


# --- masking ------------------------------------------------------------------------


def test_mask_resident_id_keeps_first_four_and_last_four():
    assert mask_resident_id("11010519491231002X") == "1101**********002X"
    assert mask_resident_id(" 11010519491231002x") == "1101**********002X"
    assert mask_resident_id("110105491231002") == "*" * 15  # first-generation number
    assert mask_resident_id("") == ""


@pytest.mark.parametrize(
    "name,masked",
    [
        ("张三", "张*"),
        ("欧阳娜娜", "欧***"),
        ("李小龙", "李**"),
        (" 王五 ", "王*"),
        ("阿依古丽·买买提", "阿***·***"),
        ("张", "*"),
        ("", ""),
    ],
)
def test_mask_name(name, masked):
    assert mask_name(name) == masked


@pytest.mark.parametrize(
    "phone,masked",
    [
        ("13812345678", "138****5678"),
        ("138-1234-5678", "138****5678"),
        ("+86 138 1234 5678", "138****5678"),
        ("008613812345678", "138****5678"),
        ("010-12345678", "010****5678"),
        ("(0755) 8765 4321", "075*****4321"),
        ("12345", "*****"),
    ],
)
def test_mask_phone(phone, masked):
    assert mask_phone(phone) == masked


@settings(max_examples=200, deadline=None)
@given(uscc_args)
def test_our_check_character_is_stdnums(args):
    rng_seed, region, department, kind = args
    code = make_uscc(random.Random(rng_seed), region, department, kind)
    assert uscc_check(code[:17]) == stdnum_uscc.calc_check_digit(code[:17])
    assert code[17] == uscc_check(code[:17])


def test_a_15_digit_number_becomes_the_18_digit_one():
    assert validate_resident_id("110105491231002") == "11010519491231002" + ric_check(
        "11010519491231002"
    )
    with pytest.raises(InvalidIdentifier):
        validate_resident_id("11010549123100A")
