"""Thai phone numbers to E.164 (``+66`` followed by the national number without its leading 0).

Accepted (after dropping spaces, dashes, dots, parentheses and an extension such as ``ต่อ 12``):

    mobile             06/08/09 + 8 digits          0812345678      -> +66812345678
    Bangkok landline   02 + 7 digits                02-123-4567     -> +6621234567
    other landline     03/04/05/07 + 7 digits       038-123456      -> +6638123456
    international      +66 / 66 / 0066 prefix, with or without the trunk 0 after it
    Excel number cell  the leading 0 dropped        812345678       -> +66812345678

Only the first number of a cell listing several (``081-234-5678, 089-...``) is kept. Anything else
gives ``phone`` NA and ``rule`` ``invalid_phone``; a blank cell gives NA and no rule. Provincial
landlines are accepted because guardians do not all live in Bangkok.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from schemas.thai_text import PY_SPACE, thai_digits_to_ascii

# ``\s`` spelled out (see ``PY_SPACE``), so that these patterns run in pyarrow.
_WS = PY_SPACE
_S = f"[{_WS}]"
_EXTENSION = r"(?:ต่อ|ext\.?|EXT\.?|Ext\.?|x|X|#).*$"
_SEPARATOR = f"{_S}*(?:,|;|/|หรือ|{_S}or{_S}).*$"
_NATIONAL = r"[689][0-9]{8}|[2-57][0-9]{7}"
_EMPTY = f"[{_WS}\\-.()]*|-+|ไม่มี|ไม่ระบุ"
_INTERNATIONAL = f"{_S}*(?:\\+|00)?{_S}*66"


def normalise_phone(raw: pd.Series) -> pd.DataFrame:
    """Normalise phone numbers as typed to E.164.

    Args:
        raw: Phone cells (text or numbers).

    Returns:
        DataFrame aligned on ``raw.index`` with ``phone`` (``+66...`` or NA) and ``rule``
        (``invalid_phone`` or NA).
    """
    if isinstance(raw.dtype, pd.StringDtype):  # text already: nothing for _as_text to do
        codes, uniques = pd.factorize(raw)
        text = pd.Series(uniques, dtype="str")
    else:
        codes, uniques = pd.factorize(raw.to_numpy(dtype=object))
        text = pd.Series(uniques, dtype=object).map(_as_text).astype("str")
    text = thai_digits_to_ascii(text).str.strip()
    blank = text.isna() | text.str.fullmatch(_EMPTY).fillna(False)
    first = text.str.replace(_SEPARATOR, "", regex=True).str.replace(_EXTENSION, "", regex=True)
    digits = first.str.replace(r"[^0-9]", "", regex=True)
    # International prefix (+66, 66, 0066), then the trunk 0 some people still type after it.
    international = first.str.match(_INTERNATIONAL).fillna(False) & (digits.str.len() >= 10)
    national = digits.mask(international, digits.str.replace(r"^(?:00)?66", "", regex=True))
    national = national.str.replace(r"^0", "", regex=True)
    ok = national.str.fullmatch(_NATIONAL).fillna(False) & ~blank
    phone = ("+66" + national).where(ok)
    rule = pd.Series(np.where(ok | blank, None, "invalid_phone"), dtype="str")
    table = pd.DataFrame({"phone": phone.to_numpy(), "rule": rule.to_numpy()})
    table = pd.concat([table, pd.DataFrame({"phone": [np.nan], "rule": [np.nan]})])
    out = table.iloc[np.where(codes < 0, len(uniques), codes)].astype("str")
    out.index = raw.index
    return out


def _as_text(value: object) -> str:
    """Text of a cell; integral floats (Excel number cells) lose their ``.0``."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
