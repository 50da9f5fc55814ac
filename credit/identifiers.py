"""Chinese identifiers: validation, masking for publication, and generators.

Two identifiers key the subjects of the credit register:

* 统一社会信用代码 (USCC, GB 32100-2015) for organisations, checked by
  :func:`validate_uscc`;
* 居民身份证号 (resident identity number, GB 11643-1999) for people, checked by
  :func:`validate_resident_id`.

Both validators normalise their input (NFKC, so full-width characters typed with a
Chinese input method become ASCII; surrounding blanks, inner spaces and hyphens
removed; upper case) and return the normalised value, or raise
:class:`InvalidIdentifier` whose ``reason`` says in a few English words what is wrong.
Reasons never quote a whole resident identity number, so they are safe to log.

The mask functions produce what may be shown to the public (政务公开); the ``make_*``
generators produce valid numbers, deterministically from a :class:`random.Random`, for
demo and benchmark data.
"""

from __future__ import annotations

import datetime
import random
import unicodedata

from stdnum.cn import ric as _stdnum_ric

from trading import clock

__all__ = [
    "USCC_ALPHABET",
    "USCC_ENTITY_TYPES",
    "area_in_force_at_birth",
    "InvalidIdentifier",
    "make_resident_id",
    "make_uscc",
    "mask_name",
    "mask_phone",
    "mask_resident_id",
    "organisation_code_check_digit",
    "resident_id_check_character",
    "uscc_check_character",
    "validate_resident_id",
    "validate_uscc",
]

#: The 31 characters a USCC may contain, in value order (0..30): digits, then the upper
#: case letters without I, O, S, V, Z.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUES = {c: i for i, c in enumerate(USCC_ALPHABET)}
_USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))

#: GB 11714 weights for the eight body characters of an organisation code.
_ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)

#: First two digits of GB/T 2260 codes: the provinces, plus 71 (台湾), 81 (香港) and
#: 82 (澳门); 83 is the prefix of residence permits (居住证) for Taiwan residents,
#: which carry numbers in the same format.
_PROVINCE_PREFIXES = frozenset(
    {"11", "12", "13", "14", "15", "21", "22", "23"}
    | {"31", "32", "33", "34", "35", "36", "37"}
    | {"41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54"}
    | {"61", "62", "63", "64", "65", "71", "81", "82", "83"}
)

_EARLIEST_BIRTH_YEAR = 1900

#: GB 32100-2015 table 1: registration departments (登记管理部门, character 1) and the
#: entity types (机构类别, character 2) each may issue. 1 机构编制 (机关, 事业单位, 群众团体,
#: 其他); 2 外交; 3 司法行政 (律师执业机构, 公证处, 基层法律服务所, 司法鉴定机构, 仲裁委员会);
#: 4 文化; 5 民政 (社会团体, 民办非企业单位, 基金会); 6 旅游; 7 宗教; 8 工会;
#: 9 工商/市场监管 (企业, 个体工商户, 农民专业合作社); A 中央军委改革和编制办公室;
#: N 农业 (组级, 村级, 乡镇级集体经济组织); Y 其他 (one type, 1).
USCC_ENTITY_TYPES: dict[str, frozenset[str]] = {
    "1": frozenset("1239"),
    "2": frozenset("19"),
    "3": frozenset("123459"),
    "4": frozenset("19"),
    "5": frozenset("1239"),
    "6": frozenset("129"),
    "7": frozenset("129"),
    "8": frozenset("19"),
    "9": frozenset("123"),
    "A": frozenset("19"),
    "N": frozenset("1239"),
    "Y": frozenset("1"),
}


class InvalidIdentifier(ValueError):
    """An identifier that fails validation; ``reason`` says why, in short English."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _normalise(value: object) -> str:
    if not isinstance(value, str):
        raise InvalidIdentifier(f"must be text, got {type(value).__name__}")
    value = unicodedata.normalize("NFKC", value)
    return "".join(c for c in value if not c.isspace() and c != "-").upper()


# --- 统一社会信用代码 (USCC) -------------------------------------------------------


def organisation_code_check_digit(body: str) -> str:
    """GB 11714 check character for the 8 body characters of an organisation code.

    Digits count their value, letters A=10 .. Z=35; weights 3, 7, 9, 10, 5, 8, 4, 2;
    ``c = 11 - (sum mod 11)``, written 'X' for 10 and '0' for 11.
    """
    if len(body) != 8 or not all("0" <= c <= "9" or "A" <= c <= "Z" for c in body):
        raise ValueError("an organisation code body is 8 digits or upper case letters")
    total = sum(int(c, 36) * w for c, w in zip(body, _ORG_CODE_WEIGHTS, strict=True))
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def uscc_check_character(first17: str) -> str:
    """GB 32100 check character for the first 17 characters of a USCC.

    Weights 3^(i-1) mod 31 over the alphabet values; the check character's value makes
    the weighted sum a multiple of 31. The formula of ``stdnum.cn.uscc.calc_check_digit``
    (a test compares the two), computed here without its input cleaning, which cost most of
    the time of screening a batch of codes.
    """
    if len(first17) != 17 or any(c not in _USCC_VALUES for c in first17):
        raise ValueError("a USCC body is 17 characters of the USCC alphabet")
    total = sum(_USCC_VALUES[c] * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[-total % 31]


def validate_uscc(value: str) -> str:
    """Check a 统一社会信用代码 completely and return it normalised.

    ``stdnum.cn.uscc.validate`` checks the length, the alphabet of characters 9-18 and
    the check character, but requires characters 1-8 to be digits, which refuses real
    codes: registration departments N (农业) and Y (其他) exist, and entity types can
    be letters. So we reuse only its check character computation and check ourselves:

    1. 18 characters, all from the USCC alphabet ``0-9A-HJ-NPQRTUWXY`` (character 1,
       the registration department, and 2, the entity type, included);
    2. characters 3-8 (the registering region, GB/T 2260) are six digits;
    3. characters 9-17 are a GB 11714 organisation code whose own check digit
       (character 17) is right;
    4. character 18 is the GB 32100 check character.

    5. characters 1-2 are a registration department and one of its entity types in
       GB 32100 table 1 (:data:`USCC_ENTITY_TYPES`).
    """
    code = _normalise(value)
    if len(code) != 18:
        raise InvalidIdentifier(f"must be 18 characters, got {len(code)}")
    for position, char in enumerate(code, start=1):
        if char not in _USCC_VALUES:
            part = {1: "registration department", 2: "entity type"}.get(
                position, f"character {position}"
            )
            raise InvalidIdentifier(
                f"{part} {char!r} is not in the USCC alphabet (0-9 and A-Z without I O S V Z)"
            )
    types = USCC_ENTITY_TYPES.get(code[0])
    if types is None:
        raise InvalidIdentifier(
            f"registration department {code[0]!r} is not in GB 32100"
            f" (one of {' '.join(USCC_ENTITY_TYPES)})"
        )
    if code[1] not in types:
        raise InvalidIdentifier(
            f"entity type {code[1]!r} is not one of department {code[0]}'s"
            f" ({' '.join(sorted(types))})"
        )
    region = code[2:8]
    if not (region.isascii() and region.isdigit()):
        raise InvalidIdentifier(f"region code (characters 3-8) must be 6 digits, got {region!r}")
    org_check = organisation_code_check_digit(code[8:16])
    if code[16] != org_check:
        raise InvalidIdentifier(
            f"organisation code check digit is wrong: should be {org_check!r}, not {code[16]!r}"
        )
    check = uscc_check_character(code[:17])
    if code[17] != check:
        raise InvalidIdentifier(f"check character should be {check!r}, not {code[17]!r}")
    return code


# --- 居民身份证号 (resident identity number) -----------------------------------------


def resident_id_check_character(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character over 17 digits, 'X' for 10.

    Delegates to ``stdnum.cn.ric.calc_check_digit`` (which expects a number with a
    check character slot at the end).
    """
    if len(first17) != 17 or not (first17.isascii() and first17.isdigit()):
        raise ValueError("a resident identity number body is 17 digits")
    return _stdnum_ric.calc_check_digit(first17 + "0")


def validate_resident_id(value: str, *, today: datetime.date | None = None) -> str:
    """Check a 居民身份证号 and return it normalised, as 18 characters ('x' becomes 'X').

    ``stdnum.cn.ric.validate`` checks the length, 17 digits, the check character, that
    the birth date is a calendar date and that the region was a known county in the
    birth year according to its bundled database. We reuse its check character
    computation but not the region lookup: a person keeps the region code of their
    first registration for life, and a bundled table that lags GB/T 2260 or misses a
    historical code would refuse real people. We check instead:

    1. 18 characters: 17 digits and a digit or 'X';
    2. the region (characters 1-6) starts with a GB/T 2260 province prefix;
    3. characters 7-14 are a birth date YYYYMMDD, a real date, in or after 1900 and not
       after ``today`` (default: the local date);
    4. character 18 is the ISO 7064 MOD 11-2 check character.

    A 15-digit number of the first generation cards (region, YYMMDD of a birth in the
    1900s, sequence; no check character) is converted to its 18-character form as
    GB 11643-1999 prescribes: ``19`` inserted before the year and the check character
    appended.
    """
    number = _normalise(value)
    if len(number) == 15:
        if not (number.isascii() and number.isdigit()):
            raise InvalidIdentifier("a 15-digit resident identity number is 15 digits")
        first17 = number[:6] + "19" + number[6:]
        number = first17 + resident_id_check_character(first17)
    if len(number) != 18:
        raise InvalidIdentifier(f"must be 18 characters, got {len(number)}")
    for position, char in enumerate(number[:17], start=1):
        if not ("0" <= char <= "9"):
            raise InvalidIdentifier(f"character {position} {char!r} should be a digit")
    if not ("0" <= number[17] <= "9" or number[17] == "X"):
        raise InvalidIdentifier(f"check character must be a digit or 'X', got {number[17]!r}")
    if number[:2] not in _PROVINCE_PREFIXES:
        raise InvalidIdentifier(f"region {number[:6]} is not in a known province (GB/T 2260)")
    birth_text = number[6:14]
    try:
        birth = datetime.date(int(birth_text[:4]), int(birth_text[4:6]), int(birth_text[6:]))
    except ValueError:
        raise InvalidIdentifier(f"birth date {birth_text} is not a date") from None
    if birth.year < _EARLIEST_BIRTH_YEAR:
        raise InvalidIdentifier(f"birth date {birth_text} is before {_EARLIEST_BIRTH_YEAR}")
    if birth > (today or clock.today()):
        raise InvalidIdentifier(f"birth date {birth_text} is in the future")
    check = resident_id_check_character(number[:17])
    if number[17] != check:
        raise InvalidIdentifier(f"check character should be {check!r}, not {number[17]!r}")
    return number


def area_in_force_at_birth(number: str) -> bool:
    """Whether the area code (characters 1-6) of a valid 18-character number was an
    administrative division in the person's birth year, by python-stdnum's dated history
    of GB/T 2260 (``stdnum/cn/loc.dat``). A person keeps the code of their first
    registration for life, so a code abolished since (沧浪区 320502, 1983-2012) is right
    for someone born while it existed.
    """
    try:
        _stdnum_ric.get_birth_place(number)
    except Exception:  # stdnum raises its own ValidationError subclasses
        return False
    return True


def area_in_force_since(code: str, year: int) -> bool:
    """Whether ``code`` was a division in ``year`` or any later year (dated history)."""
    from stdnum import numdb

    info = {k: v for _part, props in numdb.get("cn/loc").info(code) for k, v in props.items()}
    if len(info) < 2 or "county" not in info:
        return False
    for county in info["county"].split(","):
        if not county.startswith("["):
            return True
        end = county[1:].split("]")[0].split("-")[1]
        if not end or int(end) >= year:
            return True
    return False


# --- masking for publication (政务公开) ----------------------------------------------


def mask_resident_id(value: str) -> str:
    """Keep the first 4 and the last 4 characters of an 18-character number.

    ``'11010519491231002X'`` becomes ``'1101**********002X'``. Anything that is not 18
    characters after normalising is masked entirely (same length), so a malformed or
    15-digit number never leaks.
    """
    number = _normalise(value)
    if len(number) != 18:
        return "*" * len(number)
    return number[:4] + "*" * 10 + number[-4:]


def mask_name(name: str) -> str:
    """Keep a person's first character, mask every other one: 张三 -> 张*, 欧阳娜娜 -> 欧***.

    Separators (spaces and the middle dot of transcribed names) stay, so
    ``'阿依古丽·买买提'`` becomes ``'阿***·***'``. A one-character name becomes ``'*'``.
    """
    name = name.strip()
    if len(name) <= 1:
        return "*" * len(name)
    rest = "".join(c if c in " ·•・" else "*" for c in name[1:])
    return name[0] + rest


def mask_phone(value: str) -> str:
    """Keep the first 3 and last 4 digits: ``'13812345678'`` -> ``'138****5678'``.

    Everything but digits (spaces, hyphens, brackets) and a +86/0086 country code in
    front of an 11-digit number are dropped first. Numbers of other
    lengths keep the same first 3 and last 4 with the middle masked
    (``'01012345678'`` -> ``'010****5678'``); fewer than 8 digits are masked entirely.
    """
    if not isinstance(value, str):
        raise InvalidIdentifier(f"must be text, got {type(value).__name__}")
    text = unicodedata.normalize("NFKC", value).strip()
    number = "".join(c for c in text if "0" <= c <= "9")
    if (text.startswith("+86") and len(number) == 13) or (
        number.startswith("0086") and len(number) == 15
    ):
        number = number[-11:]
    if len(number) < 8:
        return "*" * len(number)
    return number[:3] + "*" * (len(number) - 7) + number[-4:]


# --- generators for demo and benchmark data --------------------------------------


def make_uscc(
    rng: random.Random, region: str = "110105", department: str = "9", kind: str = "1"
) -> str:
    """A valid USCC with a random organisation code body, from ``rng`` alone.

    ``department`` (character 1) and ``kind`` (character 2) default to 9 (市场监管) and 1
    (企业). The body's 8 characters are drawn from the USCC alphabet, so letters appear
    as in post-2015 codes (``MA...``).
    """
    if not (len(region) == 6 and region.isascii() and region.isdigit()):
        raise ValueError(f"region must be 6 digits, got {region!r}")
    for label, char in (("department", department), ("kind", kind)):
        if len(char) != 1 or char not in _USCC_VALUES:
            raise ValueError(f"{label} must be one USCC alphabet character, got {char!r}")
    body = "".join(rng.choice(USCC_ALPHABET) for _ in range(8))
    first17 = department + kind + region + body + organisation_code_check_digit(body)
    return validate_uscc(first17 + uscc_check_character(first17))


def make_resident_id(
    rng: random.Random,
    region: str,
    birth: datetime.date | None = None,
    female: bool | None = None,
) -> str:
    """A valid resident identity number, from ``rng`` and the arguments alone.

    Without ``birth`` a date from 1950-01-01 to 2000-12-31 is drawn; without ``female``
    the sex is drawn. The 3-digit sequence is odd for men and even for women (never
    000).
    """
    if not (len(region) == 6 and region.isascii() and region.isdigit()):
        raise ValueError(f"region must be 6 digits, got {region!r}")
    if birth is None:
        start = datetime.date(1950, 1, 1)
        birth = start + datetime.timedelta(days=rng.randrange(18_263))  # through 2000-12-31
    if female is None:
        female = rng.random() < 0.5
    sequence = 2 * rng.randrange(1, 500) if female else 2 * rng.randrange(500) + 1
    first17 = f"{region}{birth:%Y%m%d}{sequence:03d}"
    return validate_resident_id(first17 + resident_id_check_character(first17))
