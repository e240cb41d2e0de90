"""Thai personal names: prefixes, splitting, placeholders, romanisation and the phonetic key.

Phonetic key — choice and measurements
--------------------------------------
``phonetic_key`` must give one key to the spelling variants the extracts contain and different keys
to different names. Measured on PyThaiNLP's name corpora (11,843 given / 9,836 family names), each
name altered by one kind of dirt from ``shared/contracts/extracts.md``. Columns: share of variants
whose key equals the original's (given / family), then share of corpus names whose key is shared
with another corpus name (given / family):

===========  ===========  ===========  ===========  ===========  ===========  ===========
key          ศษส ณน รล    tone mark    ์ dropped    ิ/ี ุ/ู ใ/ไ    vowel        names
             คฅ swapped   dropped                                dropped      sharing key
===========  ===========  ===========  ===========  ===========  ===========  ===========
lk82         .79 / .84    1.0 / 1.0    .52 / .65    1.0 / .99    .63 / .62    71 % / 40 %
udom83       .96 / .96    1.0 / 1.0    .02 / .14    1.0 / .98    .99 / 1.0    62 % / 28 %
metasound    .82 / .83    1.0 / 1.0    .75 / .72    1.0 / 1.0    1.0 / 1.0    88 % / 77 %
this key     1.0 / 1.0    1.0 / 1.0    1.0 / 1.0    1.0 / 1.0    0 / 0        14 % / 1.9 %
===========  ===========  ===========  ===========  ===========  ===========  ===========

PyThaiNLP's soundexes are fixed-length codes built for search: they cut names to 4–6 symbols and
drop vowels, so most given names share a code with an unrelated name. This key keeps every
pronounced letter; sampled collision groups are homophones or spellings of one name
(จิราพร/จีราพร, วัชรพงศ์/วัชรพงษ์, สมพร/สมพล), while ฟ้าใส/ฟ้าใหม่ and สมชาย/สมศรี differ. A dropped
vowel changes the key, so compare keys with Jaro-Winkler in Splink as well as for equality: a
vowel-dropped variant scores 0.96 on average (99 % at >= 0.88) against 0.40 (0.05 % at >= 0.88)
for two different corpus names. Tone marks moved to the wrong letter and ็ dropped also keep the
key (1.0).

Rules: tone marks, ็ and ์ are removed but the letter under ์ is kept (a typist who forgets ์
must not change the key; ศักดิ์ and ศักดิ share one); similar consonants share a symbol (ก | ขฃคฅฆ |
ง | จ | ฉชฌ | ซศษส | ญย | ฎด | ฏต | ฐฑฒถทธ | ณน | บ | ป | ผพภ | ฝฟ | ม | รลฬ | ว | หฮ | อ | ฤฦ);
short and long i, u, ue share a symbol; ใ = ไ; ำ = ั + ม. The key is ASCII, one symbol per letter,
about 0.01 ms per distinct value.

Romanisation uses the rule-based RTGS romaniser in ``schemas.romanise`` (syllable regex + a dict
of syllables): ~40–110k distinct values/s on one core against ~2k/s for PyThaiNLP's ``royin``,
so the ~350k distinct given + family names of Bangkok take seconds, not minutes. On the 21,679
corpus names it agrees exactly with royin on 55 % and scores Jaro-Winkler 0.96 against it; on
122 hand-checked RTGS names it is exact on 116 (royin: 54), JW 0.997 (royin 0.92). One
contract-dirt change per name (3,000 corpus names), mean JW between the two romanisations (royin
in brackets): ศ/ษ/ส swapped 0.993 (0.984), ณ/น 0.999 (0.980), ร/ล 0.945 (0.935), tone mark
dropped 1.0 (0.987), ํา for ำ 1.0 (0.958), ์ dropped 0.951 (0.955), ็ dropped 0.998 (0.981);
two different corpus names 0.51 (0.50), 0.1 % of pairs at >= 0.9.
"""

from __future__ import annotations

import re

import pandas as pd

from schemas.romanise import romanise_values
from schemas.thai_text import (
    as_text,
    extract_groups,
    map_distinct,
    map_distinct_values,
    normalise_thai,
    normalise_values,
)

CANONICAL_PREFIXES: dict[str, dict[str, str]] = {
    "ด.ช.": {"sex": "M", "age_band": "child", "label": "เด็กชาย (boy under 15)"},
    "ด.ญ.": {"sex": "F", "age_band": "child", "label": "เด็กหญิง (girl under 15)"},
    "นาย": {"sex": "M", "age_band": "adult", "label": "นาย (male, 15 or over)"},
    "น.ส.": {"sex": "F", "age_band": "adult", "label": "นางสาว (unmarried female, 15 or over)"},
    "นาง": {"sex": "F", "age_band": "adult", "label": "นาง (married female)"},
}
# Health-centre PRENAME codes (MoPH 43-file).
PRENAME_CODES = {"001": "ด.ช.", "002": "ด.ญ.", "003": "นาย", "004": "น.ส.", "005": "นาง"}
# An alias with spaces and dots removed -> canonical prefix.
_ALIASES = {
    "ดช": "ด.ช.", "เด็กชาย": "ด.ช.", "ดญ": "ด.ญ.", "เด็กหญิง": "ด.ญ.",
    "นาย": "นาย", "นส": "น.ส.", "นางสาว": "น.ส.", "นาง": "นาง",
}  # fmt: skip

# Alternatives, longest first. Abbreviations need a dot or a space after the first letter pair so
# that a name merely beginning with those letters is left alone. Patterns run on normalised text
# (single ASCII spaces) and avoid ``\s``/``\d`` so that pandas runs them in pyarrow, not row by row.
_CHILD_AND_MISS = "|".join(
    [
        "เด็ก ?ชาย", "เด็ก ?หญิง", "นาง ?สาว",
        r"ด ?\. ?ช ?\.?", r"ด ?\. ?ญ ?\.?", r"น ?\. ?ส ?\.?",
        r"ดช ?\.", r"ดญ ?\.", r"นส ?\.", "ดช ", "ดญ ", "นส ",
    ]
)  # fmt: skip
# A name starts with a consonant or a leading vowel (never with ั ิ า ...), so นางาม is not นาง+าม
# and นางสาวิตรี falls back to นาง + สาวิตรี.
_NAME_START = r"[ก-ฮเ-ไA-Za-z]"
_PREFIX_RE = rf"^(?P<prefix>{_CHILD_AND_MISS}|นาย|นาง) ?(?P<rest>{_NAME_START}.*)$"
_PREFIX_RE_SPACED_ADULT = (
    rf"^(?P<prefix>(?:{_CHILD_AND_MISS}) ?|(?:นาย|นาง) )(?P<rest>{_NAME_START}.*)$"
)
_PREFIX_ONLY_RE = rf"^(?:{_CHILD_AND_MISS}|นาย|นาง|ดช|ดญ|นส) ?$"

_PLACEHOLDER_RE = r"^(?:ทารก|บุตร|ไม่มีชื่อ|ไม่ทราบชื่อ|ไม่ระบุชื่อ|ยังไม่มีชื่อ|ยังไม่ตั้งชื่อ)"


def _canon(raw: pd.Series) -> pd.Series:
    return raw.str.replace("[ .]", "", regex=True).map(_ALIASES).astype("str")


def canonical_prefix(prefix: pd.Series) -> pd.Series:
    """Map a prefix as typed (alias, abbreviation, or PRENAME code ``001``–``005``) to canonical.

    Args:
        prefix: Prefix column, e.g. ``เด็กหญิง``, ``ด.ญ``, ``นางสาว``, ``004``.

    Returns:
        ``str`` Series of ``ด.ช.``/``ด.ญ.``/``นาย``/``น.ส.``/``นาง``; anything else is NA.
    """
    # a prefix column holds a handful of distinct spellings
    return map_distinct(as_text(prefix), _canonical_values).astype("str")


def _canonical_values(u: pd.Series) -> pd.Series:
    s = normalise_values(u)
    code = s.str.fullmatch("[0-9]{1,3}", na=False)
    out = _canon(s)
    if code.any():
        out = out.mask(code, s[code].str.zfill(3).map(PRENAME_CODES))
    return out.astype("str")


def _prefix_attribute(prefix: pd.Series, attribute: str) -> pd.Series:
    """An attribute of ``CANONICAL_PREFIXES`` for each prefix, worked out per distinct value."""
    values = {k: v[attribute] for k, v in CANONICAL_PREFIXES.items()}
    return map_distinct(
        as_text(prefix), lambda u: _canonical_values(u).map(values).astype("str")
    ).astype("str")


def split_prefix(s: pd.Series, *, strip_glued_adult: bool = True) -> pd.DataFrame:
    """Split a leading name prefix from a name, whether glued (``ด.ญ.ฟ้าใส``) or spaced.

    At most one prefix is removed. ``นาย``/``นาง`` glued to a name is the usual way guardians'
    names are typed and is stripped when the rest starts like a name (a consonant or leading vowel);
    pass ``strip_glued_adult=False`` for a column that already excludes the prefix, where a glued
    ``นาง``/``นาย`` is more likely part of the name itself.

    Args:
        s: Names, already normalised or not.
        strip_glued_adult: Whether to strip ``นาย``/``นาง`` not followed by a space.

    Returns:
        DataFrame with ``prefix`` (canonical, NA if none) and ``rest`` (the name, NA if empty),
        indexed like ``s``.
    """
    pattern = _PREFIX_RE if strip_glued_adult else _PREFIX_RE_SPACED_ADULT

    def split(u: pd.Series) -> pd.DataFrame:
        u = normalise_values(u)
        parts = extract_groups(u, pattern)
        only = u.str.fullmatch(_PREFIX_ONLY_RE, na=False)
        prefix = _canon(parts["prefix"].where(~only, u))
        rest = parts["rest"].where(parts["prefix"].notna() | only, u).mask(only).str.strip()
        return pd.DataFrame({"prefix": prefix, "rest": rest.mask(rest == "")}, dtype="str")

    return map_distinct(as_text(s), split)


def split_full_name(s: pd.Series, *, strip_glued_adult: bool = True) -> pd.DataFrame:
    """Split ``prefix + given + family`` typed in one cell (``เด็กหญิง ฟ้าใส  ใจดี``).

    Args:
        s: Full names.
        strip_glued_adult: See ``split_prefix``.

    Returns:
        DataFrame with ``prefix``, ``given_name`` (first word) and ``family_name`` (the remaining
        words joined by one space; NA for a single word), indexed like ``s``.
    """
    parts = split_prefix(s, strip_glued_adult=strip_glued_adult)
    words = extract_groups(parts["rest"], "^(?P<given_name>[^ ]+)(?: (?P<family_name>.+))?$")
    return pd.concat([parts[["prefix"]], words], axis=1)


def prefix_sex(prefix: pd.Series) -> pd.Series:
    """``M``/``F`` implied by a prefix (any alias or code); NA if unknown."""
    return _prefix_attribute(prefix, "sex")


def prefix_age_band(prefix: pd.Series) -> pd.Series:
    """``child`` (ด.ช./ด.ญ., under 15) or ``adult`` implied by a prefix; NA if unknown."""
    return _prefix_attribute(prefix, "age_band")


def is_placeholder_name(given: pd.Series) -> pd.Series:
    """True where a given name is a newborn placeholder (``ทารก``, ``บุตรนาง…``, ``ไม่มีชื่อ``).

    A prefix typed into the name (``ด.ช.ทารก``) is ignored. Missing names are False.

    Args:
        given: Given names (or full names).

    Returns:
        bool Series indexed like ``given``.
    """
    rest = split_prefix(given)["rest"]
    return rest.str.contains(_PLACEHOLDER_RE, regex=True, na=False).astype(bool)


def _latin_clean(u: pd.Series) -> pd.Series:
    # ``u`` is already through normalise_thai: whitespace is single ASCII spaces.
    u = as_text(u).str.normalize("NFKD").str.lower()
    u = u.str.replace("[^a-z ]", "", regex=True).str.replace(" +", " ", regex=True)
    u = u.str.strip()
    return u.mask(u == "")


def normalise_latin_name(s: pd.Series) -> pd.Series:
    """A school's own English spelling, comparable: lower-case ``a–z`` and single spaces.

    Accents are dropped, other non-letters (hyphens, dots, digits, Thai) removed.
    """
    return map_distinct(normalise_thai(s), _latin_clean)


def romanise(s: pd.Series) -> pd.Series:
    """Romanise Thai names to lower-case ASCII (RTGS, ``schemas.romanise``), once per value.

    Words are romanised separately; text with no Thai letters is only cleaned, as by
    ``normalise_latin_name``.

    Args:
        s: Thai names.

    Returns:
        ``str`` Series of ``a–z`` and single spaces; NA where nothing is left.
    """

    def rom(u: pd.Series) -> pd.Series:
        thai = u.str.contains("[ก-๛]", regex=True, na=False)
        done = pd.Series(romanise_values(u[thai].tolist()), index=u.index[thai], dtype="str")
        return _latin_clean(u.mask(thai, done))

    return map_distinct(normalise_thai(s), rom)


_KEY_TABLE = str.maketrans(
    {
        **dict.fromkeys("ก", "k"), **dict.fromkeys("ขฃคฅฆ", "K"), "ง": "g", "จ": "c",
        **dict.fromkeys("ฉชฌ", "C"), **dict.fromkeys("ซศษส", "s"), **dict.fromkeys("ญย", "y"),
        **dict.fromkeys("ฎด", "d"), **dict.fromkeys("ฏต", "t"), **dict.fromkeys("ฐฑฒถทธ", "T"),
        **dict.fromkeys("ณน", "n"), "บ": "b", "ป": "p", **dict.fromkeys("ผพภ", "P"),
        **dict.fromkeys("ฝฟ", "f"), "ม": "m", **dict.fromkeys("รลฬ", "r"), "ว": "w",
        **dict.fromkeys("หฮ", "h"), "อ": "o", **dict.fromkeys("ฤฦ", "R"),
        **dict.fromkeys("ะั", "a"), "า": "A", "ำ": "am", **dict.fromkeys("ิี", "i"),
        **dict.fromkeys("ึื", "v"), **dict.fromkeys("ุู", "u"), "เ": "e", "แ": "E", "โ": "O",
        **dict.fromkeys("ใไ", "j"), "ๅ": "",
    }
)  # fmt: skip
# Tone marks, ็ ์ ํ ๎ ฺ ฯ ฿ and anything outside the Thai letters and vowels (ๆ, digits, spaces).
_KEY_DROP = re.compile("[\u0e47-\u0e4e\u0e3a\u0e3f\u0e2f]|[^\u0e01-\u0e45]")


def _key_one(word: str) -> str | None:
    return _KEY_DROP.sub("", word).translate(_KEY_TABLE) or None


def phonetic_key(s: pd.Series) -> pd.Series:
    """Thai phonetic key: spelling variants of one name share it (rules in the module docstring).

    Args:
        s: Thai names (given or family); spaces are ignored.

    Returns:
        ``str`` Series of ASCII keys; NA where the value has no Thai letters.
    """
    return map_distinct_values(normalise_thai(s), _key_one).astype("str")


_SKELETON = (
    (r"([kptcs])h", r"\1"), ("j", "c"), ("v", "w"), ("(?:ee|ea|ie)", "i"), ("(?:oo|ou)", "u"),
    ("ae", "a"), ("ew$", "iw"), ("io$", "iw"), ("y$", "i"), ("h", ""), ("([aeiou])r$", r"\1"),
    (r"(.)\1+", r"\1"),
)  # fmt: skip


def nickname_key(s: pd.Series) -> pd.Series:
    """Loose Latin skeleton of a nickname or name, Thai or Latin script (``ฟ้า`` = ``Fah`` = ``fa``).

    Thai is romanised first, so a nickname can be compared with a given name across scripts
    (``nickname_key(given).str.startswith(nickname_key(nickname))``).
    """

    def skel(u: pd.Series) -> pd.Series:
        u = u.str.replace(" ", "", regex=False)
        for pat, repl in _SKELETON:
            u = u.str.replace(pat, repl, regex=True)
        return u.mask(u == "")

    return map_distinct(romanise(s), skel)
