"""Thai names: prefixes, splitting, placeholders, romanisation and the phonetic key."""

import random

import pandas as pd
import pytest

from schemas.names import (
    canonical_prefix,
    is_placeholder_name,
    nickname_key,
    normalise_latin_name,
    phonetic_key,
    prefix_age_band,
    prefix_sex,
    romanise,
    split_full_name,
    split_prefix,
)

NA = None
FULL_NAMES = [
    # (raw, prefix, given, family, why)
    ("ด.ญ.ฟ้าใส ใจดี", "ด.ญ.", "ฟ้าใส", "ใจดี", "abbreviated prefix glued"),
    ("เด็กหญิง ฟ้าใส  ใจดี", "ด.ญ.", "ฟ้าใส", "ใจดี", "full prefix spaced, doubled space"),
    ("เด็กหญิงฟ้าใส ใจดี", "ด.ญ.", "ฟ้าใส", "ใจดี", "full prefix glued"),
    ("เด็ก ชาย สมชาย ใจดี", "ด.ช.", "สมชาย", "ใจดี", "prefix typed with a space inside"),
    ("ด.ช สมชาย ใจดี", "ด.ช.", "สมชาย", "ใจดี", "abbreviation missing its last dot"),
    ("ดช.สมชาย ใจดี", "ด.ช.", "สมชาย", "ใจดี", "abbreviation missing its first dot"),
    ("ด. ญ. ฟ้าใส ใจดี", "ด.ญ.", "ฟ้าใส", "ใจดี", "spaces between the dots"),
    ("นางสมศรี ใจดี", "นาง", "สมศรี", "ใจดี", "นาง glued (guardians)"),
    ("นาง สมศรี ใจดี", "นาง", "สมศรี", "ใจดี", "นาง spaced"),
    ("นางสาวสมหญิง ใจดี", "น.ส.", "สมหญิง", "ใจดี", "นางสาว wins over นาง (longest first)"),
    ("นางสาวิตรี ใจดี", "นาง", "สาวิตรี", "ใจดี", "นาง + สาวิตรี: ิ cannot start a name"),
    ("นางาม ใจดี", NA, "นางาม", "ใจดี", "a name beginning นาง+vowel is not a prefix"),
    ("นายิกา ใจดี", NA, "นายิกา", "ใจดี", "a name beginning นาย+vowel is not a prefix"),
    ("นายสมชาย ใจดี", "นาย", "สมชาย", "ใจดี", "นาย glued"),
    ("น.ส.สมหญิง ณ อยุธยา", "น.ส.", "สมหญิง", "ณ อยุธยา", "family name with a space"),
    ("นส. สมหญิง ใจดี", "น.ส.", "สมหญิง", "ใจดี", "นส. alias"),
    ("ด.ญ.\u200bฟ้าใส\u00a0ใจดี", "ด.ญ.", "ฟ้าใส", "ใจดี", "zero-width and NBSP"),
    ("ด.ช.ทารก", "ด.ช.", "ทารก", NA, "single word: no family name"),
    ("ฟ้าใส", NA, "ฟ้าใส", NA, "no prefix, one word"),
    ("ดชสมชาย", NA, "ดชสมชาย", NA, "dotless abbreviation glued is too ambiguous to strip"),
    ("ด.ญ.", "ด.ญ.", NA, NA, "a prefix alone"),
    ("Somchai Jaidee", NA, "Somchai", "Jaidee", "Latin script passes through"),
    ("", NA, NA, NA, "empty"),
    (NA, NA, NA, NA, "missing"),
]


def _na(v):
    return None if pd.isna(v) else v


def test_split_full_name_every_case():
    s = pd.Series([c[0] for c in FULL_NAMES], index=range(100, 100 + len(FULL_NAMES)))
    out = split_full_name(s)
    assert out.columns.tolist() == ["prefix", "given_name", "family_name"]
    assert out.index.equals(s.index)
    for (_, prefix, given, family, why), row in zip(FULL_NAMES, out.itertuples(), strict=True):
        got = (_na(row.prefix), _na(row.given_name), _na(row.family_name))
        assert got == (prefix, given, family), why


def test_split_prefix_can_leave_glued_adult_prefix_alone():
    # In a given-name column the name itself may start with นาง/นาย letters.
    out = split_prefix(pd.Series(["นางฟ้า", "นาง ฟ้า", "ด.ญ.นางฟ้า"]), strip_glued_adult=False)
    assert [_na(v) for v in out["prefix"]] == [None, "นาง", "ด.ญ."]
    assert out["rest"].tolist() == ["นางฟ้า", "ฟ้า", "นางฟ้า"]  # only one prefix is stripped


def test_canonical_prefix_aliases_and_codes():
    raw = ["เด็กชาย", "ด.ช", "ดช.", "เด็กหญิง", "ดญ.", "นางสาว", "นส.", "น.ส", "นาย", "นาง"]
    assert canonical_prefix(pd.Series(raw)).tolist() == [
        "ด.ช.", "ด.ช.", "ด.ช.", "ด.ญ.", "ด.ญ.", "น.ส.", "น.ส.", "น.ส.", "นาย", "นาง",
    ]  # fmt: skip
    # Health-centre PRENAME codes, also as numbers; unknown titles are NA.
    codes = canonical_prefix(pd.Series(["001", "002", 3, "004", "005", "ดร.", None], dtype=object))
    assert [_na(v) for v in codes] == ["ด.ช.", "ด.ญ.", "นาย", "น.ส.", "นาง", None, None]


def test_prefix_sex_and_age_band():
    p = pd.Series(["ด.ช.", "เด็กหญิง", "นาย", "นางสาว", "นาง", "ดร.", None])
    assert [_na(v) for v in prefix_sex(p)] == ["M", "F", "M", "F", "F", None, None]
    assert [_na(v) for v in prefix_age_band(p)] == [
        "child", "child", "adult", "adult", "adult", None, None,
    ]  # fmt: skip


def test_is_placeholder_name():
    names = pd.Series(
        [
            "ทารก",  # newborn not yet named
            "บุตรนางสมศรี",  # "child of Mrs Somsri"
            "บุตร นางสมศรี",  # same, spaced
            "ด.ช.ทารก",  # prefix typed into the name field
            "ไม่มีชื่อ",  # "no name"
            "ฟ้าใส",  # a real name
            "ทานตะวัน",  # real name sharing the first letters of ทารก
            None,  # missing is not a placeholder
        ]
    )
    expected = [True, True, True, True, True, False, False, False]
    assert is_placeholder_name(names).tolist() == expected


def test_romanise_royin_exact_values():
    # Thai is romanised word by word; Latin is only cleaned; digits are not part of a name.
    out = romanise(pd.Series(["ฟ้าใส", "สมชาย", "สมชาย ใจดี", "ฟ้าใส", "Fah-Sai", None, "๑"]))
    assert [_na(v) for v in out] == [
        "fasai", "somchai", "somchai chaidi", "fasai", "fahsai", None, None,
    ]  # fmt: skip


def test_romanise_spelling_variants_agree():
    # ศ/ส and ณ/น swaps and a dropped tone romanise identically here.
    pairs = [("สมศรี", "สมสรี"), ("ณัฐวุฒิ", "นัฐวุฒิ"), ("ก้องภพ", "ก่องภพ"), ("ฟ้าใส", "ฟาใส")]
    a = romanise(pd.Series([p[0] for p in pairs]))
    b = romanise(pd.Series([p[1] for p in pairs]))
    assert a.tolist() == b.tolist()


def test_normalise_latin_name():
    out = normalise_latin_name(pd.Series([" Fah-Sai ", "SOMCHAI  jaidee", "José", "123", None]))
    assert [_na(v) for v in out] == ["fahsai", "somchai jaidee", "jose", None, None]


VARIANTS = [
    # (a, b, why) — must share one phonetic key
    ("ศิริพร", "สิริพร", "ศ/ส"),
    ("ศิริพร", "ษิริพร", "ศ/ษ"),
    ("ณัฐวุฒิ", "นัฐวุฒิ", "ณ/น"),
    ("วิไลวรรณ", "วิไรวรรณ", "ร/ล"),
    ("คนึงนิจ", "ฅนึงนิจ", "ค/ฅ"),
    ("ฟ้าใส", "ฟาใส", "tone mark missing"),
    ("ก้องภพ", "ก่องภพ", "wrong tone mark"),
    ("ให่ม", "ใหม่", "tone mark on the wrong consonant"),
    ("ศักดิ์", "ศักดิ", "์ forgotten"),
    ("เพ็ญศรี", "เพญศรี", "็ forgotten"),
    ("จิราพร", "จีราพร", "short/long i"),
    ("อนุสรา", "อนูสรา", "short/long u"),
    ("ใจดี", "ไจดี", "ใ/ไ"),
    ("คำแก้ว", "ค\u0e4d\u0e32แก้ว", "decomposed ำ"),
    ("ฟ้าใส", "ฟ้า\u200bใส", "zero-width space"),
    ("วัชรพงศ์", "วัชรพงษ์", "ศ/ษ under ์"),
    ("สมชาย ใจดี", "สมชายใจดี", "spaces are ignored"),
]


@pytest.mark.parametrize(("a", "b", "why"), VARIANTS, ids=[v[2] for v in VARIANTS])
def test_phonetic_key_merges_spelling_variants(a, b, why):
    ka, kb = phonetic_key(pd.Series([a, b]))
    assert ka == kb


DIFFERENT = [
    ("ฟ้าใส", "ฟ้าใหม่"),
    ("สมชาย", "สมศรี"),
    ("สมชาย", "สมหญิง"),
    ("ณัฐวุฒิ", "ณัฐวดี"),
    ("ใจดี", "ใจดำ"),
    ("จิราพร", "จิราภา"),
]


@pytest.mark.parametrize(("a", "b"), DIFFERENT)
def test_phonetic_key_keeps_different_names_apart(a, b):
    ka, kb = phonetic_key(pd.Series([a, b]))
    assert ka != kb


def test_phonetic_key_exact_values_and_missing():
    out = phonetic_key(pd.Series(["ฟ้าใส", "สมศรี", "ณัฐ", "Somchai", None, "ใจดี"]))
    assert [_na(v) for v in out] == ["fAjs", "smsri", "naT", None, None, "jcdi"]


def test_phonetic_key_on_name_corpus():
    """Every contract variant of 2,000 corpus names keeps its key; few names share a key."""
    from pythainlp.corpus import thai_female_names, thai_male_names

    names = sorted(thai_male_names() | thai_female_names())
    rng = random.Random(7)
    sample = rng.sample(names, 2000)
    swaps = {"ศ": "ส", "ส": "ษ", "ษ": "ศ", "ณ": "น", "น": "ณ", "ร": "ล", "ล": "ร", "ค": "ฅ"}
    variants = [
        "".join(swaps.get(ch, ch) if ch in swaps and rng.random() < 0.5 else ch for ch in n)
        .replace("\u0e48", "")  # drop mai ek
        .replace("\u0e4c", "")  # drop thanthakhat
        for n in sample
    ]
    assert (phonetic_key(pd.Series(sample)) == phonetic_key(pd.Series(variants))).all()
    keys = phonetic_key(pd.Series(names))
    shared = keys.duplicated(keep=False).mean()
    assert shared < 0.15  # measured 0.139 on 11,843 given names (lk82: 0.71, metasound: 0.88)


def test_nickname_key_across_scripts():
    thai = pd.Series(["ฟ้า", "บีม", "ต้น", "น้ำ", "ฝน", "พลอย", "แนน"])
    latin = pd.Series(["Fah", "Beam", "Ton", "Nam", "Fon", "Ploy", "Nan"])
    assert nickname_key(thai).tolist() == nickname_key(latin).tolist()
    # RTGS writes final -ิว as "io" and "Mew" as typed ends in "ew": both skeletons end in "iw"
    assert nickname_key(pd.Series(["มิว", "Mew"])).tolist() == ["miw", "miw"]
    given = nickname_key(pd.Series(["ฟ้าใส"])).iloc[0]
    assert given.startswith(nickname_key(pd.Series(["Fah"])).iloc[0])  # nickname = first syllable
