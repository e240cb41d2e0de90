"""Thai text normalisation: every kind of invisible dirt in the extracts, removed exactly."""

import pandas as pd
import pytest

from schemas.thai_text import extract_groups, map_distinct, normalise_thai, thai_digits_to_ascii

AM = "\u0e33"  # ำ
NIKHAHIT, SARA_AA, MAI_THO, MAI_EK, SARA_I, SARA_U = "\u0e4d", "\u0e32", "\u0e49", "\u0e48", "ิ", "ุ"

CASES = [
    # (raw, expected, why)
    ("น" + NIKHAHIT + SARA_AA, "นำ", "ำ typed as nikhahit + sara aa"),
    ("น" + NIKHAHIT + MAI_THO + SARA_AA, "น" + MAI_THO + AM, "decomposed ำ with the tone between"),
    ("น" + MAI_THO + NIKHAHIT + SARA_AA, "น" + MAI_THO + AM, "decomposed ำ after the tone"),
    ("น" + AM + MAI_THO, "น" + MAI_THO + AM, "ำ typed before its tone mark"),
    ("ฟ้า\u200bใส", "ฟ้าใส", "zero-width space"),
    ("ฟ้า\u200cใส\u200d", "ฟ้าใส", "zero-width non-joiner and joiner"),
    ("\ufeffฟ้าใส", "ฟ้าใส", "byte-order mark pasted at the start"),
    ("ฟ้า\u00adใส", "ฟ้าใส", "soft hyphen"),
    ("ฟ้าใส  ใจดี", "ฟ้าใส ใจดี", "doubled space"),
    ("ฟ้าใส\u00a0ใจดี", "ฟ้าใส ใจดี", "non-breaking space"),
    ("ฟ้าใส \u00a0\t\n ใจดี", "ฟ้าใส ใจดี", "mixed whitespace run"),
    ("  ฟ้าใส ใจดี  ", "ฟ้าใส ใจดี", "leading and trailing spaces"),
    ("๑๒/๓ ซอย ๒๔", "12/3 ซอย 24", "Thai digits"),
    ("๐๘๑๒๓๔๕๖๗๘", "0812345678", "all ten Thai digits map"),
    ("ก" + MAI_EK + SARA_I + "ง", "ก" + SARA_I + MAI_EK + "ง", "tone typed before upper vowel"),
    ("ก" + MAI_EK + SARA_U + "ง", "ก" + SARA_U + MAI_EK + "ง", "tone typed before lower vowel"),
    ("ศักด" + "\u0e4c" + SARA_I, "ศักดิ์", "thanthakhat typed before the vowel"),
    ("เเดง", "แดง", "sara e twice for sara ae"),
    ("ก" + MAI_EK + MAI_EK + "อน", "ก" + MAI_EK + "อน", "tone mark typed twice"),
    ("Somchai  Jaidee", "Somchai Jaidee", "Latin text: only spaces change"),
    ("ฟ้าใส", "ฟ้าใส", "clean text unchanged"),
]


@pytest.mark.parametrize(("raw", "expected", "why"), CASES, ids=[c[2] for c in CASES])
def test_normalise_thai_removes_dirt(raw, expected, why):
    assert normalise_thai(pd.Series([raw])).iloc[0] == expected


def test_normalise_thai_missing_and_empty_become_na_and_index_is_kept():
    s = pd.Series(["", "   ", "\u200b", None, float("nan"), "ฟ้า"], index=[5, 6, 7, 8, 9, 10])
    out = normalise_thai(s)
    assert out.index.tolist() == [5, 6, 7, 8, 9, 10]
    assert out.isna().tolist() == [True, True, True, True, True, False]
    assert out.dtype == "str"


def test_normalise_thai_accepts_object_and_numbers():
    out = normalise_thai(pd.Series([12, "๑๒", None], dtype=object))
    assert out.tolist()[:2] == ["12", "12"]  # a number cell and Thai digits agree
    assert pd.isna(out.iloc[2])


def test_normalise_thai_is_idempotent():
    once = normalise_thai(pd.Series([c[0] for c in CASES]))
    assert normalise_thai(once).tolist() == once.tolist()


def test_normalise_thai_all_missing_and_empty_series():
    assert normalise_thai(pd.Series([None, None])).isna().all()
    assert len(normalise_thai(pd.Series([], dtype="str"))) == 0


def test_thai_digits_to_ascii_leaves_other_text():
    out = thai_digits_to_ascii(pd.Series(["เลขที่ ๙๙/๑", "99/1", None]))
    assert out.iloc[0] == "เลขที่ 99/1"
    assert out.iloc[1] == "99/1"
    assert pd.isna(out.iloc[2])


def test_map_distinct_computes_once_per_distinct_value():
    seen = []

    def upper(u: pd.Series) -> pd.Series:
        seen.extend(u.tolist())
        return u.str.upper()

    s = pd.Series(["a", "b", "a", None, "b", "a"], index=list("uvwxyz"))
    out = map_distinct(s, upper)
    assert sorted(seen) == ["a", "b"]  # three rows of "a", computed once
    assert out.index.tolist() == list("uvwxyz")
    assert out.fillna("NA").tolist() == ["A", "B", "A", "NA", "B", "A"]


def test_map_distinct_broadcasts_frames():
    s = pd.Series(["a b", None, "a b"])
    out = map_distinct(s, lambda u: u.str.split(" ", expand=True))
    assert out.shape == (3, 2)
    assert out.iloc[2].tolist() == ["a", "b"]
    assert out.iloc[1].isna().all()


def test_extract_groups_named_groups_and_no_match():
    s = pd.Series(["ด.ญ.ฟ้าใส", "ฟ้าใส", None], index=[3, 1, 2])
    out = extract_groups(s, "^(?P<prefix>ด.ญ.)?(?P<rest>.+)$")
    assert out.index.tolist() == [3, 1, 2]
    assert out.columns.tolist() == ["prefix", "rest"]
    # A group that took no part is NA, not "" (RE2 reports it as "").
    assert out["prefix"].isna().tolist() == [False, True, True]
    assert out["rest"].iloc[:2].tolist() == ["ฟ้าใส", "ฟ้าใส"]
