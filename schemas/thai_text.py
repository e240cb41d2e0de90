"""Thai text normalisation shared by every source: one canonical spelling of what was typed.

Agencies type the same name with invisible differences: the vowel ``ำ`` entered as nikhahit + sara
aa (``ํ`` + ``า``), zero-width spaces pasted from web forms, Thai digits ``๐–๙``, non-breaking or
doubled spaces, a tone mark typed before the upper vowel, ``เ`` + ``เ`` for ``แ``. ``normalise_thai``
removes all of these and nothing else: it never changes a letter that is pronounced, so the output
is still the name as written (phonetic merging lives in ``schemas.names.phonetic_key``).

All functions take and return pandas Series aligned on the input index; missing stays missing. The
string work runs once per distinct value (``map_distinct`` / ``factorize``) with pyarrow-backed
``.str`` operations, so a 3-million-row column of names costs about as much as its distinct values.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

THAI_DIGITS = "๐๑๒๓๔๕๖๗๘๙"
_THAI_DIGIT_TABLE = str.maketrans(THAI_DIGITS, "0123456789")

# Characters with no glyph: zero-width space / non-joiner / joiner, word joiner, BOM, soft hyphen.
_INVISIBLE = "[\u200b\u200c\u200d\u2060\ufeff\u00ad]"
_TONES = "\u0e48-\u0e4b"  # ่ ้ ๊ ๋
_UPPER_VOWELS = "\u0e31\u0e34-\u0e37\u0e47"  # ั ิ ี ึ ื ็

# Patterns are RE2-compatible (no look-arounds or back-references) so pandas hands them to
# pyarrow instead of falling back to Python's ``re`` row by row. Each group of fixes runs only on the
# rows its guard pattern flags: most names need none, and a guard is one cheap scan.
_NOT_PLAIN = "[^\x00-\x7f\u0e00-\u0e7f]"  # anything outside ASCII and the Thai block
_THAI_FIXES: tuple[tuple[str, str], ...] = (
    # ํ + [tone] + า  ->  [tone] + ำ   (decomposed sara am, with or without a tone between)
    (f"\u0e4d([{_TONES}]?)\u0e32", "\\1\u0e33"),
    # ำ typed before its tone mark (นำ้ for น้ำ)
    (f"\u0e33([{_TONES}])", "\\1\u0e33"),
    # tone mark / thanthakhat typed before the upper vowel (ก่ิ for กิ่)
    (f"([{_TONES}\u0e4c])([{_UPPER_VOWELS}])", "\\2\\1"),
    # เ + เ typed for แ
    ("\u0e40\u0e40", "\u0e41"),
)
# The same mark typed twice (ก่่) — enumerated per mark because RE2 has no back-references.
_DOUBLED = tuple(
    (f"{chr(c)}{{2,}}", chr(c)) for c in [0x0E31, *range(0x0E34, 0x0E3B), *range(0x0E47, 0x0E4F)]
)
_THAI_GUARD = "|".join(
    [
        "\u0e4d",
        f"\u0e33[{_TONES}]",
        f"[{_TONES}\u0e4c][{_UPPER_VOWELS}\u0e38-\u0e3a]",
        "\u0e40\u0e40",
        *(pat.replace("{2,}", "") * 2 for pat, _ in _DOUBLED),
    ]
)


def _fix_where(u: pd.Series, guard: str, fix: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """Apply ``fix`` to the rows of ``u`` that match the regex ``guard``."""
    flagged = u.str.contains(guard, regex=True, na=False)
    if not flagged.any():
        return u
    u = u.copy()
    u[flagged] = fix(u[flagged])
    return u


def _fix_unicode(u: pd.Series) -> pd.Series:
    u = u.str.normalize("NFC").str.replace(_INVISIBLE, "", regex=True)
    return u.str.replace("\\s+", " ", regex=True)


def _fix_thai(u: pd.Series) -> pd.Series:
    u = u.str.normalize("NFC")  # orders a tone mark after a lower vowel
    for pat, repl in (*_THAI_FIXES, *_DOUBLED):
        u = u.str.replace(pat, repl, regex=True)
    return u


def as_text(s: pd.Series) -> pd.Series:
    """Return ``s`` as pandas ``str`` dtype, keeping missing values missing.

    Args:
        s: Any Series (object, str, numbers).

    Returns:
        A ``str`` Series with the same index.
    """
    if isinstance(s.dtype, pd.StringDtype) and s.dtype.na_value is not pd.NA:
        return s
    return s.astype("str")


def map_distinct(s: pd.Series, func: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """Apply a vectorised function to the distinct non-missing values of ``s`` only.

    Args:
        s: Input Series.
        func: Takes a Series of distinct values (default RangeIndex), returns a Series of the same
            length and order.

    Returns:
        ``func``'s results broadcast back to every row of ``s``; missing rows stay missing.
    """
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    if len(uniques) == 0:
        return pd.Series(pd.NA, index=s.index, dtype=object).astype("str")
    done = func(pd.Series(uniques))
    out = done.take(codes.clip(min=0)).set_axis(s.index)
    if (codes < 0).any():
        out = out.mask(codes < 0)
    return out


def map_distinct_values(s: pd.Series, func: Callable[[str], object]) -> pd.Series:
    """Apply a scalar Python function once per distinct non-missing value of ``s``.

    Args:
        s: Input Series.
        func: Called with each distinct value; may return None for "no result".

    Returns:
        Results broadcast back to every row, same index as ``s``.
    """
    return map_distinct(s, lambda u: pd.Series([func(v) for v in u], dtype=object))


def thai_digits_to_ascii(s: pd.Series) -> pd.Series:
    """Replace Thai digits ``๐–๙`` with ASCII ``0–9``.

    Args:
        s: Text Series.

    Returns:
        ``str`` Series; rows without Thai digits are returned unchanged.
    """
    s = as_text(s)
    has = s.str.contains(f"[{THAI_DIGITS}]", regex=True, na=False)
    if not has.any():
        return s
    out = s.copy()
    out[has] = s[has].str.translate(_THAI_DIGIT_TABLE)
    return out


def _normalise_distinct(u: pd.Series) -> pd.Series:
    u = as_text(u)
    u = _fix_where(u, _NOT_PLAIN, _fix_unicode)
    u = _fix_where(u, _THAI_GUARD, _fix_thai)
    u = _fix_where(u, "  |[\\t\\n\\r\\f\\v]", lambda x: x.str.replace("\\s+", " ", regex=True))
    u = thai_digits_to_ascii(u).str.strip()
    return u.mask(u == "")


def normalise_thai(s: pd.Series) -> pd.Series:
    """Canonical form of Thai free text: what a careful typist would have entered.

    NFC; ``ํ``+``า`` (a tone mark may sit between) becomes ``ำ``; tone marks typed in the wrong
    order are reordered; ``เเ`` becomes ``แ``; zero-width characters and soft hyphens are removed;
    a mark typed twice is kept once; Thai digits become ASCII; every whitespace run (NBSP and
    other Unicode spaces included) becomes one space; ends are stripped; an empty result is NA.

    Args:
        s: Text Series of any dtype.

    Returns:
        ``str`` Series aligned on ``s.index``.
    """
    return map_distinct(as_text(s), _normalise_distinct)


def strip_spaces(s: pd.Series) -> pd.Series:
    """Remove every space (for matching names where spacing is meaningless, e.g. place names)."""
    return as_text(s).str.replace(" ", "", regex=False)
