"""Bangkok districts (เขต) and subdistricts (แขวง): names and free-text addresses to DOPA codes.

Names are matched in Thai script after ``normalise_thai``, with the words ``เขต``/``แขวง`` (and the
provincial ``อำเภอ``/``ตำบล`` some typists use), spaces and dots removed. A name that still does not
match is tried by its phonetic key (``schemas.names.phonetic_key``), so a missing tone mark or ศ/ส
typed for one another still finds the place; that fallback is used only where the key is unique.
English names are accepted case- and space-insensitively (public lists disagree on romanisation,
so they are a fallback, not the primary key). Reference data: ``schemas/reference/*.csv``.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pandas as pd

from schemas.names import phonetic_key
from schemas.thai_text import as_text, extract_groups, join_text, map_distinct, normalise_thai

_REFERENCE = Path(__file__).parent / "reference"
# Patterns run on normalised text (single ASCII spaces) and avoid ``\s``/``\d`` so that pandas
# runs them in pyarrow rather than row by row in Python.
_DISTRICT_WORD = r"^(?:เขต|อำเภอ|อ\.) ?"
_SUBDISTRICT_WORD = r"^(?:แขวง|ตำบล|ต\.) ?"
# Province words typed after a district name ("ลาดกระบัง กรุงเทพฯ", "บางนา กทม.").
_PROVINCE_TAIL = r" ?(?:จังหวัด|จ\.)? ?(?:กรุงเทพมหานคร|กรุงเทพฯ?|กทม\.?)$"


@cache
def _read_reference(name: str) -> pd.DataFrame:
    return pd.read_csv(_REFERENCE / name, dtype="str")


def districts() -> pd.DataFrame:
    """The 50 Bangkok districts: ``district_code``, ``name_th``, ``name_en`` (all ``str``)."""
    return _read_reference("bangkok_districts.csv").copy()


def subdistricts() -> pd.DataFrame:
    """The 180 Bangkok subdistricts: ``subdistrict_code``, ``name_th``, ``name_en``,
    ``district_code`` (all ``str``)."""
    return _read_reference("bangkok_subdistricts.csv").copy()


def _thai_name_key(names: pd.Series, word: str) -> pd.Series:
    s = normalise_thai(names).str.replace(_PROVINCE_TAIL, "", regex=True)
    s = s.str.replace(word, "", regex=True).str.replace("[ .]", "", regex=True)
    return s.mask(s == "")


def _english_key(names: pd.Series) -> pd.Series:
    s = normalise_thai(names).str.lower().str.replace("^(?:khet|khwaeng|district) ", "", regex=True)
    s = s.str.replace(" (?:district|subdistrict)$", "", regex=True)
    s = s.str.replace(r"[^a-z]", "", regex=True)
    return s.mask(s == "")


def _candidates(ref: pd.DataFrame, code_col: str, word: str) -> pd.DataFrame:
    """Long table key -> code from Thai name, Thai phonetic key and English name."""
    frames = []
    for kind, key in (
        ("th", _thai_name_key(ref["name_th"], word)),
        ("key", phonetic_key(_thai_name_key(ref["name_th"], word))),
        ("en", _english_key(ref["name_en"])),
    ):
        frames.append(pd.DataFrame({"kind": kind, "key": key, "code": ref[code_col]}))
    return pd.concat(frames, ignore_index=True).dropna()


@cache
def _district_lookup() -> dict[tuple[str, str], str]:
    long = _candidates(districts(), "district_code", _DISTRICT_WORD)
    unique = long.groupby(["kind", "key"])["code"].agg(lambda c: c.iloc[0] if len(c) == 1 else None)
    return {k: v for k, v in unique.items() if v is not None}


def district_code_from_name(names: pd.Series) -> pd.Series:
    """District name (Thai with or without ``เขต``, or English) -> 4-digit DOPA code.

    A valid 4-digit Bangkok district code is accepted as itself.

    Args:
        names: District names as typed.

    Returns:
        ``str`` Series of codes ``1001``–``1050``; NA where unknown.
    """
    lookup = _district_lookup()

    def find(u: pd.Series) -> pd.Series:
        th = _thai_name_key(u, _DISTRICT_WORD)
        out = th.map(lambda k: lookup.get(("th", k)))
        out = out.fillna(phonetic_key(th).map(lambda k: lookup.get(("key", k))))
        out = out.fillna(_english_key(u).map(lambda k: lookup.get(("en", k))))
        code = u.str.strip().where(is_valid_district_code(u))
        return code.fillna(out).astype("str")

    return map_distinct(as_text(names), find)


@cache
def _subdistrict_lookup() -> dict[tuple[str, str], tuple[str, ...]]:
    long = _candidates(subdistricts(), "subdistrict_code", _SUBDISTRICT_WORD)
    return {k: tuple(v) for k, v in long.groupby(["kind", "key"])["code"]}


def _pick(codes: tuple[str, ...] | None, district: object) -> str | None:
    if not codes:
        return None
    if len(codes) == 1:
        return codes[0]
    inside = [c for c in codes if isinstance(district, str) and c[:4] == district]
    return inside[0] if len(inside) == 1 else None


def subdistrict_code_from_name(
    names: pd.Series, district_codes: pd.Series | None = None
) -> pd.Series:
    """Subdistrict name (Thai with or without ``แขวง``, or English) -> 6-digit DOPA code.

    A name that repeats across districts (บางจาก, บางมด) is resolved by ``district_codes``;
    without a district, or with a district holding none of them, it stays NA. A unique name is
    returned even where the district disagrees (check with ``district_of_subdistrict``).

    Args:
        names: Subdistrict names as typed.
        district_codes: 4-digit district codes aligned with ``names``, optional.

    Returns:
        ``str`` Series of 6-digit codes; NA where unknown or ambiguous.
    """
    lookup = _subdistrict_lookup()
    names = as_text(names)
    districts_ = (
        pd.Series(pd.NA, index=names.index, dtype="str")
        if district_codes is None
        else as_text(district_codes).reindex(names.index).str.strip()
    )
    pair = join_text([names, districts_], sep="\x1f", na_rep="").mask(names.isna())

    def find(u: pd.Series) -> pd.Series:
        both = u.str.split("\x1f", n=1, expand=True)
        if 1 not in both:  # no value carried a district (split made only one column)
            both[1] = pd.Series(pd.NA, index=both.index, dtype="str")
        th = _thai_name_key(both[0], _SUBDISTRICT_WORD)
        key = phonetic_key(th)
        en = _english_key(both[0])
        out = [
            _pick(lookup.get(("th", t)) or lookup.get(("key", k)) or lookup.get(("en", e)), d)
            for t, k, e, d in zip(th, key, en, both[1], strict=True)
        ]
        return pd.Series(out, dtype="str")

    return map_distinct(pair, find)


# The house number opens the address; an area name follows its word and ends at a space, a digit,
# a comma, the next area word or the province (addresses are often typed without spaces).
_HOUSE_NO_RE = "^(?:บ้าน ?)?(?:เลขที่ ?)?(?P<house_no>[0-9]+(?: ?/ ?[0-9]+)*)"
_SUBDISTRICT_RE = r"(?:แขวง|ตำบล|(?:^| )ต\.) ?(?P<sub>[^ 0-9,]+?)(?:เขต|อำเภอ| |[0-9]|,|$)"
_DISTRICT_RE = r"(?:เขต|อำเภอ|(?:^| )อ\.) ?(?P<dist>[^ 0-9,]+?)(?:กรุงเทพ|กทม| |[0-9]|,|$)"


def parse_address(text: pd.Series) -> pd.DataFrame:
    """Parse a free-text Bangkok address into house number and area codes.

    ``12/3 ซ.ลาดกระบัง 24 แขวงลาดกระบัง เขตลาดกระบัง`` -> ``12/3``, ``101101``, ``1011``. The area
    is read only after the words ``แขวง``/``เขต`` (or ``ตำบล``/``อำเภอ``); where the district is
    missing it is taken from the subdistrict.

    Args:
        text: Free-text addresses.

    Returns:
        DataFrame with ``house_no``, ``subdistrict_code``, ``district_code`` (``str``), indexed
        like ``text``.
    """

    def parse(u: pd.Series) -> pd.DataFrame:
        house = extract_groups(u, _HOUSE_NO_RE)["house_no"]
        sub = extract_groups(u, _SUBDISTRICT_RE)["sub"]
        dist = extract_groups(u, _DISTRICT_RE)["dist"]
        district = district_code_from_name(dist)
        subdistrict = subdistrict_code_from_name(sub, district)
        district = district.fillna(district_of_subdistrict(subdistrict))
        return pd.DataFrame(
            {
                "house_no": house.str.replace(" ", "", regex=False),
                "subdistrict_code": subdistrict,
                "district_code": district,
            },
            dtype="str",
        )

    return map_distinct(normalise_thai(text), parse)


def _codes(codes: pd.Series) -> pd.Series:
    return as_text(codes).str.strip().str.replace(r"\.0$", "", regex=True)


def district_of_subdistrict(codes: pd.Series) -> pd.Series:
    """District code of each valid subdistrict code; NA for unknown codes."""
    mapping = subdistricts().set_index("subdistrict_code")["district_code"]
    return _codes(codes).map(mapping).astype("str")


def is_valid_district_code(codes: pd.Series) -> pd.Series:
    """True where the value is one of the 50 Bangkok district codes (missing is False)."""
    return _codes(codes).isin(set(districts()["district_code"])).astype(bool)


def is_valid_subdistrict_code(codes: pd.Series) -> pd.Series:
    """True where the value is one of the 180 Bangkok subdistrict codes (missing is False)."""
    return _codes(codes).isin(set(subdistricts()["subdistrict_code"])).astype(bool)
