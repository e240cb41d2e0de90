"""Thai text normalisation shared by every source: one canonical spelling of what was typed.

Agencies type the same name with invisible differences: the vowel ``ำ`` entered as nikhahit + sara
aa (``ํ`` + ``า``), zero-width spaces pasted from web forms, Thai digits ``๐–๙``, non-breaking
or doubled spaces, a tone mark typed before the upper vowel, ``เ`` + ``เ`` for ``แ``.
``normalise_thai`` removes all of these and nothing else: it never changes a letter that is
pronounced, so the output is still the name as written (phonetic merging lives in
``schemas.names.phonetic_key``).

All functions take and return pandas Series aligned on the input index; missing stays missing. The
string work runs once per distinct value (``map_distinct`` / ``factorize``) with pyarrow-backed
``.str`` operations, so a 3-million-row column of names costs about as much as its distinct values.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

THAI_DIGITS = "๐๑๒๓๔๕๖๗๘๙"
_THAI_DIGIT_TABLE = str.maketrans(THAI_DIGITS, "0123456789")

# Characters with no glyph: zero-width space / non-joiner / joiner, word joiner, BOM, soft hyphen.
_INVISIBLE = "[\u200b\u200c\u200d\u2060\ufeff\u00ad]"
# Whitespace classes spelled out: pandas runs a pattern with ``\\s`` in Python's ``re``, row by row.
_CONTROL_SPACE = "[\\t\\n\\v\\f\\r]"
_ASCII_SPACE = "[ \\t\\n\\v\\f\\r]+"
_ANY_SPACE = "[ \\t\\n\\v\\f\\r\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+"
# What Python's ``\s`` matches, as the body of a character class: pandas runs a pattern that uses
# ``\s`` in Python's ``re`` row by row, and this spelled-out class runs in pyarrow instead.
PY_SPACE = "\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_TONES = "\u0e48-\u0e4b"  # ่ ้ ๊ ๋
_UPPER_VOWELS = "\u0e31\u0e34-\u0e37\u0e47"  # ั ิ ี ึ ื ็

# Patterns are RE2-compatible (no look-arounds or back-references) so pandas hands them to
# pyarrow instead of falling back to Python's ``re`` row by row. Each group of fixes runs only on
# the rows its guard pattern flags: most names need none, and a guard is one cheap scan.
_NOT_PLAIN = "[^\\x00-\\x7f\u0e00-\u0e7f]"  # anything outside ASCII and the Thai block
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
_ANY_DIRT = "|".join([_NOT_PLAIN, _THAI_GUARD, "  ", _CONTROL_SPACE, f"[{THAI_DIGITS}]"])


def _fix_where(u: pd.Series, guard: str, fix: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """Apply ``fix`` to the rows of ``u`` that match the regex ``guard``."""
    flagged = u.str.contains(guard, regex=True, na=False)
    if not flagged.any():
        return u
    return u.mask(flagged, fix(u[flagged]))


def _fix_unicode(u: pd.Series) -> pd.Series:
    u = u.str.normalize("NFC").str.replace(_INVISIBLE, "", regex=True)
    return u.str.replace(_ANY_SPACE, " ", regex=True)


def _fix_ascii_space(u: pd.Series) -> pd.Series:
    return u.str.replace(_ASCII_SPACE, " ", regex=True)


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


def map_distinct(
    s: pd.Series, func: Callable[[pd.Series], pd.Series | pd.DataFrame]
) -> pd.Series | pd.DataFrame:
    """Apply a vectorised function to the distinct non-missing values of ``s`` only.

    Args:
        s: Input Series.
        func: Takes a ``str`` Series of distinct values (RangeIndex) and returns a Series or
            DataFrame with one row per value, in the same order.

    Returns:
        ``func``'s rows broadcast back to every row of ``s`` (same index); rows where ``s`` is
        missing are missing.
    """
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    missing = codes < 0
    if len(uniques) == 0:  # nothing to compute; run func on a stand-in to get the output shape
        uniques, codes = [""], np.zeros(len(s), dtype=np.intp)
    done = func(as_text(pd.Series(uniques)))
    out = done.take(codes.clip(min=0)).set_axis(s.index)
    if missing.any():
        cond = missing if out.ndim == 1 else np.broadcast_to(missing[:, None], out.shape)
        out = out.mask(cond)
    return out


def extract_groups(s: pd.Series, pattern: str) -> pd.DataFrame:
    """Regex extract run by pyarrow (pandas' ``str.extract`` runs Python's ``re`` row by row).

    Args:
        s: Text Series.
        pattern: RE2 pattern whose groups are all named (``(?P<name>...)``).

    Returns:
        One ``str`` column per named group, indexed like ``s``; NA where the pattern does not
        match and where a group is empty (RE2 reports a group that took no part as ``""``).
    """
    arr = pa.array(as_text(s).array)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    found = pc.extract_regex(arr, pattern=pattern)
    names = [found.type.field(i).name for i in range(found.type.num_fields)]
    columns = {}
    for name, col in zip(names, found.flatten(), strict=True):
        values = pd.Series(col, dtype="str", index=s.index)
        columns[name] = values.mask(values == "")
    return pd.DataFrame(columns, index=s.index)


def arrow_text(s: pd.Series) -> pa.Array:
    """A text Series as one Arrow ``large_string`` array (missing values are nulls)."""
    arr = pa.array(as_text(s).array)
    arr = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
    return arr.cast(pa.large_string())


def join_text(parts: list[pd.Series], sep: str, na_rep: str | None = None) -> pd.Series:
    """``parts[0].str.cat(parts[1:], sep=sep, na_rep=na_rep)`` for aligned text Series, in Arrow.

    pandas joins text row by row in Python; pyarrow joins whole columns. As in ``str.cat``, a row
    with a missing part is missing, unless ``na_rep`` stands in for missing parts.

    Args:
        parts: Text Series with the same index.
        sep: Separator between parts.
        na_rep: Text for a missing part; None makes the row missing.

    Returns:
        ``str`` Series indexed like ``parts[0]``.
    """
    arrays = [arrow_text(p) for p in parts]
    sep_ = pa.scalar(sep, pa.large_string())
    if na_rep is None:
        joined = pc.binary_join_element_wise(*arrays, sep_, null_handling="emit_null")
    else:
        joined = pc.binary_join_element_wise(
            *arrays, sep_, null_handling="replace", null_replacement=na_rep
        )
    return pd.Series(joined, dtype="str", index=parts[0].index)


def map_distinct_values(s: pd.Series, func: Callable[[str], object]) -> pd.Series:
    """Apply a scalar Python function once per distinct non-missing value of ``s``.

    Args:
        s: Input Series.
        func: Called with each distinct value; may return None for "no result".

    Returns:
        Results broadcast back to every row, same index as ``s``.
    """
    return map_distinct(s, lambda u: pd.Series([func(v) for v in u.tolist()], dtype=object))


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
    return s.mask(has, s[has].str.translate(_THAI_DIGIT_TABLE))


def _clean_dirty(u: pd.Series) -> pd.Series:
    u = _fix_where(u, _NOT_PLAIN, _fix_unicode)
    u = _fix_where(u, _THAI_GUARD, _fix_thai)
    u = _fix_where(u, f"  |{_CONTROL_SPACE}", _fix_ascii_space)
    return thai_digits_to_ascii(u)


def normalise_values(u: pd.Series) -> pd.Series:
    """``normalise_thai`` without the distinct-value step, for callers on distinct values."""
    # One scan finds the rows that need any fix; clean values (most names) skip the rest.
    u = _fix_where(as_text(u), _ANY_DIRT, _clean_dirty).str.strip()
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
    return map_distinct(as_text(s), normalise_values)
