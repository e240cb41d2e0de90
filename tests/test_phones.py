"""Phone normalisation to E.164: every way the extracts write a phone number."""

import numpy as np
import pandas as pd

from schemas.phones import normalise_phone

MOBILE = "+66812345678"
LANDLINE = "+6621234567"

CASES = [
    # (raw, phone, rule)
    ("081-234-5678", MOBILE, None),  # school roster, dashed mobile
    ("0812345678", MOBILE, None),  # plain 10 digits
    ("+66812345678", MOBILE, None),  # already E.164
    ("+66 81 234 5678", MOBILE, None),  # E.164 with spaces
    ("66812345678", MOBILE, None),  # country code without +
    ("0066812345678", MOBILE, None),  # international 00 prefix
    ("+66 (0) 81-234-5678", MOBILE, None),  # country code and the trunk 0 both typed
    ("081.234.5678", MOBILE, None),  # dots
    ("๐๘๑-๒๓๔-๕๖๗๘", MOBILE, None),  # Thai digits
    ("0612345678", "+66612345678", None),  # 06 mobile
    ("091 234 5678", "+66912345678", None),  # 09 mobile, spaced
    ("02-123-4567", LANDLINE, None),  # Bangkok landline
    ("(02) 123 4567", LANDLINE, None),  # parentheses around the area code
    ("021234567", LANDLINE, None),  # landline, no separators
    ("02-123-4567 ต่อ 12", LANDLINE, None),  # extension in Thai dropped
    ("02-123-4567 ext. 12", LANDLINE, None),  # extension in English dropped
    ("02-123-4567#12", LANDLINE, None),  # extension after #
    ("081-234-5678, 089-123-4567", MOBILE, None),  # two numbers: the first is kept
    ("081-234-5678/089-123-4567", MOBILE, None),  # two numbers with a slash
    ("038-123456", "+6638123456", None),  # provincial landline (guardian outside Bangkok)
    ("812345678", MOBILE, None),  # Excel number cell dropped the leading 0
    ("081-234-567", None, "invalid_phone"),  # a digit short
    ("081-234-56789", None, "invalid_phone"),  # a digit too many
    ("0112345678", None, "invalid_phone"),  # no such prefix
    ("+1 415 555 0100", None, "invalid_phone"),  # foreign number
    ("โทรไม่ติด", None, "invalid_phone"),  # text ("can't get through")
    ("-", None, None),  # a dash for "none": blank
    ("ไม่มี", None, None),  # "none": blank
    ("", None, None),  # blank
    (None, None, None),  # empty cell
]


def test_normalise_phone_cases():
    raw = pd.Series([c[0] for c in CASES], index=range(50, 50 + len(CASES)), dtype="str")
    out = normalise_phone(raw)
    assert list(out.columns) == ["phone", "rule"]
    assert out.index.equals(raw.index)
    got = [(None if pd.isna(p) else p, None if pd.isna(r) else r) for p, r in out.to_numpy()]
    assert got == [(c[1], c[2]) for c in CASES]
    assert all(str(t) == "str" for t in out.dtypes)


def test_normalise_phone_number_cells():
    # openpyxl gives number cells as int or float; both lost the leading 0.
    raw = pd.Series([812345678, 812345678.0, 21234567, np.nan], dtype=object, index=list("wxyz"))
    out = normalise_phone(raw)
    assert out["phone"].tolist()[:3] == [MOBILE, MOBILE, LANDLINE]
    assert out["phone"].isna().tolist() == [False, False, False, True]
    assert out["rule"].isna().all()
