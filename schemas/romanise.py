"""Fast rule-based Thai -> Latin romanisation after the Royal Thai General System (RTGS).

PyThaiNLP's ``royin`` tokenises each value into words and rewrites it with ~50 regexes (0.5–2 ms
a value). Names reuse a few thousand syllables, so here one precompiled regex cuts a value into
syllables and a dict gives each syllable's romanisation, worked out the first time it is seen:
about 40–110k distinct names/s on one core in pure Python (royin: ~2k/s).

Rules:

* Dropped: tone marks, ฯ ๅ; ``ํ`` + ``า`` is ``ำ``. ``์`` silences its letter with a ิ/ุ on it
  (ศักดิ์ -> sak), and the pair ทร/ตร/ดร/ชร/ษร/วร/ษณ when a consonant precedes (จันทร์ -> chan,
  ลักษณ์ -> lak); the silent letters end a syllable. A word-final ร or Pali partner after a final
  is silent (เพชร -> phet, บุตร -> but, ยุทธ -> yut, but สุนทร -> sunthon), so
  is a last letter after ั and a final (จักร -> chak, รัตน -> rat: ์ forgotten), a word-final ิ/ุ
  after a long open syllable (ชาติ -> chat, ภูมิ -> phum) and the ร of ียรติ (เกียรติ -> kiat).
* A syllable is [leading vowel] initial [vowel signs] [final]. Initials: one consonant, a true
  cluster (กร กล กว ขร ... ปล พร), silent ห before a sonorant, สร/ศร/ซร -> s, ทร -> s at the
  start of a word, อย before า/ู. After a leading vowel two consonants may share an implicit a
  (เจริญ -> charoen, เฉลิม -> chaloem, เสมอ -> samoe, เกษม -> kasem). Compound vowels: เ-ีย ia,
  เ-ือ uea, -ัว and -ว- ua, เ-า ao, เ-อ/เ-ิ oe, -ำ am, รร an (a before a final), ใ/ไ ai; finals
  ย -> i, ว -> o (ai oi ui uai ao io eo aeo iao; เ-ย oei).
* A consonant is a final only if no vowel sign follows it. After a long or leading vowel it is
  then the final unless it would leave a lone consonant at the end (ประภาพร -> praphaphon).
  After short ิ/ุ a stop (and any consonant of a bare run) closes the syllable only if an even
  number of bare consonants is left before the next vowelled syllable: a bare run is read as
  ``CoC`` pairs, with an open ``Ca`` first when odd (อุดม -> udom, สมร -> samon, กนกพร ->
  kanokphon, กมลวรรณ -> kamonwan). ร after ิ ี ุ ู closes only at the end (สุรชัย -> surachai).
  Nasal + homorganic stop pairs always split (กาญจนา -> kanchana).
* A Sanskrit final after ั ิ ุ before another consonant is read twice, as in RTGS spellings of
  names (รัตนา -> rattana, ณัฐพล -> natthaphon, วิทยา -> witthaya, ศุภชัย -> supphachai).
* Initials and finals follow the RTGS tables; ฤ is ``ri`` after ก ต ท ป ศ ส or before a final,
  else ``rue``; ฦ is ``lue``; ๆ repeats the syllable before it. Latin letters and digits pass
  through lower-cased, anything else is dropped: output is ``a-z0-9`` and single spaces.

Thai spelling does not fix syllable boundaries, so some names come out a letter off (อรทัย ->
``onthai`` for orathai); what linkage needs is that spellings of one name stay close under
Jaro-Winkler and different names do not (``schemas.names`` docstring has the measurements).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_CONS = "กขฃคฅฆงจฉชซฌญฎฏฐฑฒณดตถทธนบปผฝพฟภมยรลวศษสหฬอฮ"
_INITIAL = dict(zip(_CONS, (
    "k kh kh kh kh kh ng ch ch ch s ch y d t th th th n d t th th th n b p ph f ph f ph m y r l w "
    "s s s h l - h"
).split(), strict=True))  # fmt: skip
_INITIAL["อ"] = ""
# ห อ ฮ never close a syllable.
_FINAL = dict(zip(_CONS.replace("ห", "").replace("อ", "").replace("ฮ", ""), (
    "k k k k k k ng t t t t t n t t t t t n t t t t t n p p p p p p p m i n n o t t t n"
).split(), strict=True))  # fmt: skip
_SECOND = {"ร": "r", "ล": "l", "ว": "w"}

_C = f"[{_CONS}]"
_DV = "[\u0e30-\u0e39]"  # ะ ั า ำ ิ ี ึ ื ุ ู: vowel signs that follow their consonant
_NOT_THAI = "[^\u0e01-\u0e3a]"  # end of a word: space, leading vowel, boundary, Latin...
_CLUSTER = "ห[งญนมยรลว]|[กขคปพผบตดฟ][รล]|[กขค]ว|[สศซ]ร|(?<![\u0e01-\u0e4e])ทร|อย(?=[าู])"
_I = f"(?P<i>{_CLUSTER}|{_C})"
_I_LEAD = f"(?P<i>{_CLUSTER}|{_C}|{_C}{_C})"  # after a leading vowel: also two sharing an a
# Where a syllable with a vowel sign starts, with the high consonant that often stands before one
# with an implicit a (ส-ถิต, ผ-กา, ข-นิษฐา).
_SYL_START = f"(?:[เแโใไฤฦ]|[สศษผขฉถ]?(?:{_CLUSTER}|{_C})(?:{_DV}|อ|รร|ว(?!รร){_C}|ฤ))"
_EVEN = f"(?=(?:{_C}{_C})*(?:$|{_NOT_THAI}|{_SYL_START}))"  # an even bare run follows
_NOT_LAST = f"(?!{_C}(?:$|{_NOT_THAI}))"  # a lone consonant at the end is no syllable
_END = f"(?=$|{_NOT_THAI})"
_VOWEL_O = f"อ(?!{_DV}|อ|{_C}{_DV}|{_C}{_C}(?!{_DV}))"  # อ as the vowel o (สอน), not อ-นงค์
# A nasal or stop before its Pali/Sanskrit partner closes its syllable (กาญจนา: kan-cha-na).
_GEMINATE = (
    "ก(?=[กข])|ค(?=ฆ)|ง(?=[กขคฆ])|จ(?=[จฉ])|ช(?=[ชฌ])|ญ(?=[ญจฉชฌ])|ฏ(?=[ฏฐ])|ฑ(?=[ฑฒ])|"
    "ณ(?=[ณฏฐฑฒ])|ต(?=[ตถ])|ท(?=[ทธ])|น(?=[นตถทธ])|ป(?=[ปผ])|พ(?=[พภ])|ม(?=[มปผพภ])|ล(?=ล)|ส(?=ส)"
)


def _final(plain: str, even: str = "", r_at_end: bool = False, open_s: str = "ว") -> str:
    """Pattern of a final: one of ``plain`` (see ``_NOT_LAST``) or of ``even`` (``_EVEN``).

    Never a final: a letter before a vowel sign, before รร (ผลสุวรรณ) or before อ read as a vowel
    (บัวสอน); ส/ศ/ษ before one of ``open_s`` + vowel (ศิริสว่าง: si-ri-sa-wang). ``r_at_end``: ร
    closes only at the end of a word (สุรชัย: su-ra-chai).
    """
    alts = [f"[ตทช]ร(?!{_DV}){_NOT_LAST}", f"(?:{_GEMINATE}){_NOT_LAST}"]
    if r_at_end:
        alts.append(f"ร{_END}")
        plain, even = plain.replace("ร", ""), even.replace("ร", "")
    for letters, rest in ((plain, _NOT_LAST), (even, _EVEN)):
        if letters:
            alts.append(f"[{letters}](?!{_DV}|รร|{_VOWEL_O}){rest}")
    return f"(?:(?![สศษ]{open_s}{_DV})(?P<f>{'|'.join(alts)}))"


_FINALS = "".join(_FINAL)
_NO_W = _FINALS.replace("ว", "")  # ว closes only า ิ ี เ แ เ-ีย (ao io eo aeo iao)
_SONORANTS = "งญณนมยลวฬ"
_STOPS = "".join(c for c in _FINALS if c not in _SONORANTS + "ร")
_F = _final(_FINALS)
_FW = _final(_NO_W)
_F_SHORT_I = _final(_SONORANTS, _STOPS, r_at_end=True)
_F_LONG_I = _final(_FINALS, r_at_end=True)
_FW_SHORT_U = _final(_SONORANTS.replace("ว", ""), _STOPS, r_at_end=True)
_FW_LONG_U = _final(_NO_W, r_at_end=True)
_FW_RUN = _final("", _NO_W, open_s=_C)  # a bare run; (รัตน)สกุล: sa-kun
_F_AFTER_A = f"(?P<f>[{_FINALS}](?!{_DV}))"  # ั always takes a final
# A Sanskrit final after a short vowel, read again as the next initial with an a, is marked with
# phinthu ``ฺ`` (dropped from the input). Not before ร, its Pali partner or a lone last letter.
_LINK = "\u0e3a"
_LINK_AT = re.compile(
    "(?!ตถ|ฏฐ|ฑฒ|ทธ|ตต|ทท|ลล)(?:(?<=ั)[ตฐฒทธถภศษล]|(?<=[ิุ])[ตฐฒทธถภศษ])"
    f"(?=[{_CONS.replace('ร', '')}]){_NOT_LAST}"
)
_MAYBE_LINK = re.compile("[ัิุ][ตฐฒทธถภศษล]")
_LINKED = f"(?P<f>{_C}){_LINK}"

# (pattern, vowel). The first branch that matches at a position wins.
_BRANCHES: list[tuple[str, str]] = [
    (f"เ{_I_LEAD}ีย{_F}?", "ia"),
    (f"เ{_I_LEAD}ือ{_F}?", "uea"),
    (f"เ{_I}าะ", "o"),
    (f"เ{_I}า", "ao"),
    (f"เ{_I_LEAD}อะ", "oe"),
    (f"เ(?P<i>{_C}{_C})อ{_END}", "oe"),  # เสมอ
    (f"เ{_I}อ{_F}?", "oe"),
    (f"เ{_I_LEAD}ิ{_F}", "oe"),
    (f"เ{_I_LEAD}ะ", "e"),
    (f"เ{_I}็{_F}?", "e"),
    (f"เ{_I}(?P<f>[ตทช]ร)(?!{_DV})", "e"),  # เพชรรัตน์
    (f"เ(?P<i>{_C}ษ){_F}(?=$|{_NOT_THAI}|{_SYL_START})", "e"),  # เกษม, เกษร
    (f"เ(?P<i>{_C})(?P<f>ว)(?!{_DV}){_NOT_LAST}", "e"),
    (f"เ{_I}(?!{_DV}){_F}?", "e"),
    (f"แ{_I_LEAD}ะ", "ae"),
    (f"แ{_I}็{_F}?", "ae"),
    (f"แ(?P<i>{_C})(?P<f>ว)(?!{_DV}){_NOT_LAST}", "ae"),  # แก้ว: kaeo, not kwae
    (f"แ{_I}(?!{_DV}){_F}?", "ae"),
    (f"โ{_I_LEAD}ะ", "o"),
    (f"โ{_I}(?!{_DV}){_FW}?", "o"),
    (f"[ใไ]{_I}(?!{_DV})(?:ย(?!{_DV}))?", "ai"),
    (f"(?P<i>{_CLUSTER}|{_C}|[สศษผขฉถ]{_C})รร{_F}?", "a"),  # ธรรม, วรรณ, สวรรค์
    (f"{_I}ัว{_F}?", "ua"),
    (f"{_I}ว{_F}", "ua"),  # สวน, ควร
    (f"{_I}ั{_LINKED}", "a"),
    (f"{_I}ั{_F_AFTER_A}?", "a"),
    (f"{_I}า{_F}?", "a"),
    (f"{_I}ำ", "am"),
    (f"{_I}ิ{_LINKED}", "i"),
    (f"{_I}ิ{_F_SHORT_I}?", "i"),
    (f"{_I}ี{_F_LONG_I}?", "i"),
    (f"{_I}ือ{_FW}?", "ue"),
    (f"{_I}[ึื]{_FW}?", "ue"),
    (f"{_I}ุ{_LINKED}", "u"),
    (f"{_I}ุ{_FW_SHORT_U}?", "u"),
    (f"{_I}ู{_FW_LONG_U}?", "u"),
    (f"{_I}ะ", "a"),
    (f"{_I}อ(?!{_DV}){_FW}?", "o"),
    (f"(?P<i>{_C})?ฤ{_F}?", "rue"),
    ("ฦ", "lue"),
    (f"(?P<i>{_C}|{_CLUSTER}){_FW_RUN}", "o"),  # implicit o: สม, คน, พร(สวรรค์), กรม
    (f"(?P<i>ห[งญนมยรลว]|{_C})", "a"),  # implicit a: ส(วัสดิ์), ก(มล)
    ("[a-z0-9]+", ""),
    ("[^ก-๛a-z0-9]|[ก-๛]", ""),  # anything else, one character at a time
]
_BRANCH_RES = [re.compile(p) for p, _ in _BRANCHES]
_FIND_SYLLABLES = re.compile(
    "|".join(re.sub(r"\(\?P<\w+>", "(?:", p) for p, _ in _BRANCHES)
).findall

# A vowel sign typed without its consonant keeps its sound.
_ORPHAN = {
    "ะ": "a", "ั": "a", "า": "a", "ำ": "am", "ิ": "i", "ี": "i", "ึ": "ue", "ื": "ue", "ุ": "u",
    "ู": "u", "เ": "e", "แ": "ae", "โ": "o", "ใ": "ai", "ไ": "ai", " ": " ",
}  # fmt: skip
_DROP = dict.fromkeys(map(ord, "\u0e48\u0e49\u0e4a\u0e4b\u0e2f\u0e45\u0e3a\u0e4e\u200b"))
_BOUNDARY = "|"
_REPEAT = "ๆ"
_SILENT = re.compile(f"(?<={_C})(?:[ทตดชษว]ร|ษณ)[ิุ]?์|{_C}?[ิุ]?์")
_AFTER_VOWEL = f"(?:(?<={_DV})|(?<=[เแโ]{_C}))"
_SILENT_LAST = re.compile(
    f"(?:{_AFTER_VOWEL}(?:([ตทช])ร|(ท)ธ|(ต)ถ|(ก)ข|(ค)ฆ|(ญ)[จช]|(น)[ตทธ]|(ม)[พภ]|(ง)[คข])"
    f"|(?<=ั)({_C}){_C})(?=$|[ |])"
)
_MAYBE_SILENT_LAST = re.compile(f"{_C}{_C}(?:$|[ |])")
_SHORT_LAST = re.compile(f"(?:(?<=[าีู])|(?<=[เแโ]{_C}))({_C})[ิุ](?=$|[ |])")
_MAYBE_SHORT_LAST = re.compile("[ิุ](?:$|[ |])")


def _initial(i: str) -> str:
    if len(i) == 1:
        return _INITIAL[i]
    first, second = i
    if first == "ห" or i == "อย":
        return _INITIAL[second]
    if second == "ร" and first in "สศซท":
        return "s"
    if second in _SECOND and re.fullmatch(_CLUSTER, i):
        return _INITIAL[first] + _SECOND[second]
    return _INITIAL[first] + "a" + _INITIAL[second]  # two letters sharing an implicit a


def _romanise_syllable(syl: str) -> str:
    """Romanise one syllable as cut by ``_FIND_SYLLABLES`` (once per distinct syllable)."""
    for pattern, (_, vowel) in zip(_BRANCH_RES, _BRANCHES, strict=True):
        m = pattern.fullmatch(syl)
        if m is None:
            continue
        groups = m.groupdict()
        i, f = groups.get("i") or "", groups.get("f") or ""
        if not vowel:  # Latin letters and digits pass; anything else is dropped
            return syl if syl.isascii() and syl.isalnum() else _ORPHAN.get(syl, "")
        if vowel == "rue" and (i in ("ก", "ต", "ท", "ป", "ศ", "ส") or (f and not i)):
            vowel = "ri"
        initial = _initial(i) if i else ""
        if vowel == "e" and f == "ย":
            return initial + "oei"
        if vowel == "a" and "รร" in syl and not f:
            return initial + "an"
        if syl[-1] == _LINK:
            return initial + vowel + _FINAL[f] + _INITIAL[f] + "a"
        return initial + vowel + (_FINAL[f[0]] if f else "")
    return ""


def _first_of_pair(m: re.Match[str]) -> str:
    return next(g for g in m.groups() if g)


def _prepare(text: str) -> str:
    """Drop what is not pronounced and mark syllable boundaries the spelling gives away."""
    text = text.translate(_DROP).lower()
    if "\u0e4d" in text:  # nikhahit + sara aa typed for sara am
        text = text.replace("\u0e4d\u0e32", "\u0e33").replace("\u0e4d", "")
    if "์" in text:
        text = _SILENT.sub(_BOUNDARY, text)
    if "พรหม" in text:
        text = text.replace("พรหม", "พรม")  # phrom: the common name word with a silent ห
    if _MAYBE_LINK.search(text):
        text = _LINK_AT.sub(lambda m: m.group() + _LINK, text)
    if "ียรติ" in text:
        text = text.replace("ียรติ", "ียต" + _BOUNDARY)
    if _MAYBE_SILENT_LAST.search(text):
        text = _SILENT_LAST.sub(_first_of_pair, text)
    return _SHORT_LAST.sub(r"\1", text) if _MAYBE_SHORT_LAST.search(text) else text


_CACHE: dict[str, str] = {}  # syllable -> romanisation; a few thousand entries for all names


def romanise_text(text: str) -> str:
    """Romanise one Thai text (RTGS rules, lower-case ASCII).

    Args:
        text: Thai text, best passed through ``schemas.thai_text.normalise_thai`` first. Words
            are romanised separately; Latin letters and ASCII digits are kept, lower-cased.

    Returns:
        A string of ``a-z``, ``0-9`` and single spaces; empty when nothing is pronounced.
    """
    parts = _FIND_SYLLABLES(_prepare(text))
    try:
        res = "".join(map(_CACHE.__getitem__, parts))
    except KeyError:
        for p in parts:
            if p not in _CACHE:
                _CACHE[p] = _romanise_syllable(p)
        res = "".join(map(_CACHE.__getitem__, parts))
    if _REPEAT in text:
        out = [_CACHE[p] for p in parts]
        for k in range(1, len(parts)):
            if parts[k] == _REPEAT:
                out[k] = out[k - 1]
        res = "".join(out)
    return " ".join(res.split()) if " " in res else res


# Whole value -> romanisation, shared by the sources of a load (one child's name comes from up to
# five agencies). Bounded: emptied when full, so a long-lived process never grows without limit.
_VALUES: dict[str, str] = {}
_VALUES_MAX = 400_000


def romanise_values(values: Iterable[str]) -> list[str]:
    """``romanise_text`` of each value; call it on distinct values only.

    Args:
        values: Thai texts, none missing.

    Returns:
        One romanisation per value, in order.
    """
    memo = _VALUES
    out = []
    for v in values:
        r = memo.get(v)
        if r is None:
            r = romanise_text(v)
            if len(memo) >= _VALUES_MAX:
                memo.clear()
            memo[v] = r
        out.append(r)
    return out
