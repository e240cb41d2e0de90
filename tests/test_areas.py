"""Bangkok areas: district / subdistrict names and free-text addresses to DOPA codes."""

import pandas as pd

from schemas.areas import (
    district_code_from_name,
    district_of_subdistrict,
    districts,
    is_valid_district_code,
    is_valid_subdistrict_code,
    parse_address,
    subdistrict_code_from_name,
    subdistricts,
)
from schemas.names import phonetic_key


def _na(v):
    return None if pd.isna(v) else v


def test_reference_data_is_complete_and_consistent():
    d, s = districts(), subdistricts()
    assert len(d) == 50 and d["district_code"].is_unique
    assert d["district_code"].tolist() == [str(c) for c in range(1001, 1051)]
    assert len(s) == 180 and s["subdistrict_code"].is_unique
    assert (s["subdistrict_code"].str[:4] == s["district_code"]).all()
    assert s["district_code"].isin(d["district_code"]).all()
    # The phonetic-key fallback is only safe if district keys are unique.
    assert phonetic_key(d["name_th"]).is_unique


DISTRICTS = [
    # (raw, expected code, why)
    ("ลาดกระบัง", "1011", "plain Thai name"),
    ("เขตลาดกระบัง", "1011", "with เขต glued"),
    ("เขต ลาดกระบัง", "1011", "with เขต spaced"),
    ("  ลาด กระบัง ", "1011", "stray spaces"),
    ("ลาดกระบั่ง", "1011", "a wrong tone mark (phonetic fallback)"),
    ("ป้อมปราบสัตรูพ่าย", "1008", "ส typed for ศ (phonetic fallback)"),
    ("เขตบางนา กทม.", "1047", "province abbreviation after the name"),
    ("บางนา กรุงเทพฯ", "1047", "province after the name"),
    ("อ.บางนา", "1047", "provincial อ. word"),
    ("Lat Krabang", "1011", "English"),
    ("LATKRABANG", "1011", "English, no space, upper case"),
    ("Khet Bang Na", "1047", "English with Khet"),
    ("บางกอกน้อย", "1020", "not confused with บางกอกใหญ่"),
    ("บางกอกใหญ่", "1016", "not confused with บางกอกน้อย"),
    ("1011", "1011", "already a valid code"),
    ("9999", None, "not a Bangkok code"),
    ("บางละมุง", None, "a district outside Bangkok"),
    (None, None, "missing"),
]


def test_district_code_from_name():
    raw = pd.Series([c[0] for c in DISTRICTS], index=range(10, 10 + len(DISTRICTS)))
    out = district_code_from_name(raw)
    assert out.index.equals(raw.index)
    for (_, expected, why), got in zip(DISTRICTS, out, strict=True):
        assert _na(got) == expected, why


def test_every_reference_name_maps_back_to_its_code():
    d, s = districts(), subdistricts()
    assert district_code_from_name("เขต" + d["name_th"]).tolist() == d["district_code"].tolist()
    assert district_code_from_name(d["name_en"]).tolist() == d["district_code"].tolist()
    got = subdistrict_code_from_name("แขวง" + s["name_th"], s["district_code"])
    assert got.tolist() == s["subdistrict_code"].tolist()


def test_subdistrict_code_from_name():
    names = pd.Series(
        [
            "แขวงลาดกระบัง",  # with แขวง
            "ลาดกระบัง",  # without
            "แขวง คลองสองต้นนุ่น",  # spaced
            "บางจาก",  # repeats in พระโขนง and ภาษีเจริญ, no district: ambiguous
            "บางจาก",  # resolved by district 1009
            "บางจาก",  # resolved by district 1022
            "บางมด",  # district holds neither บางมด: stays ambiguous
            "บางมด",  # resolved by district 1035
            "Bang Mot",  # English, resolved by district 1049
            "ไม่มีจริง",  # unknown
            None,  # missing
        ]
    )
    district = pd.Series(
        ["1011", None, None, None, "1009", "1022", "1021", "1035", "1049", "1011", "1011"]
    )
    assert [_na(v) for v in subdistrict_code_from_name(names, district)] == [
        "101101", "101101", "101102", None, "100905", "102206", None, "103503", "104901", None,
        None,
    ]  # fmt: skip


def test_parse_address():
    text = pd.Series(
        [
            "12/3 ซ.ลาดกระบัง 24 แขวงลาดกระบัง เขตลาดกระบัง",  # the contract's example
            "99/1 ม.3 แขวงบางจาก เขตภาษีเจริญ กรุงเทพฯ 10160",  # ambiguous แขวง, settled by เขต
            "บ้านเลขที่ ๔๕ ถ.สุขุมวิท แขวงบางจากเขตพระโขนง",  # Thai digits, area words glued
            "7  แขวง ลาดกระบัง",  # no เขต: district from the subdistrict
            "5 เขตบางนา",  # no แขวง
            "เลขที่ 8 / 2 แขวงคลองสองต้นนุ่น เขตลาดกระบัง10520",  # spaced house no., postcode glued
            "ไม่ทราบที่อยู่",  # nothing recognisable
            None,  # missing
        ],
        index=list("abcdefgh"),
    )
    out = parse_address(text)
    assert out.columns.tolist() == ["house_no", "subdistrict_code", "district_code"]
    assert out.index.equals(text.index)
    assert [[_na(v) for v in row] for row in out.itertuples(index=False)] == [
        ["12/3", "101101", "1011"],
        ["99/1", "102206", "1022"],
        ["45", "100905", "1009"],
        ["7", "101101", "1011"],
        ["5", None, "1047"],
        ["8/2", "101102", "1011"],
        [None, None, None],
        [None, None, None],
    ]


def test_district_of_subdistrict_and_validity():
    codes = pd.Series(["101101", 101101, "999999", None, "1011"], dtype=object)
    assert [_na(v) for v in district_of_subdistrict(codes)] == ["1011", "1011", None, None, None]
    assert is_valid_subdistrict_code(codes).tolist() == [True, True, False, False, False]
    dcodes = pd.Series(["1011", 1050, "1051", "0000", None, 1011.0], dtype=object)
    assert is_valid_district_code(dcodes).tolist() == [True, True, False, False, False, True]
