import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stashplex.sync.sanitize import (
    ELLIPSIS,
    MAX_NAME_LEN,
    PartialDate,
    clean_names,
    clean_text,
    clean_text_cut,
    date_problem,
    graphemes,
    names_cut,
    parse_partial_date,
    truncate,
)

NFD_CAFE = unicodedata.normalize("NFD", "Café")
FAMILY = "👩\u200d👩\u200d👧"
PERSIAN = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"  # "I want", ZWNJ inside
FIRE_HEART = "❤\ufe0f\u200d🔥"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(None, "", id="null becomes empty text"),
        pytest.param("  Plain title  ", "Plain title", id="surrounding spaces are stripped"),
        pytest.param(NFD_CAFE, "Café", id="NFD accents are composed to NFC"),
        pytest.param("a\x00b\x07c\x1bd", "abcd", id="C0 control characters are removed"),
        pytest.param("a\x7fb\x9fc", "abc", id="DEL and C1 control characters are removed"),
        pytest.param("one\ntwo\r\nthree", "one two three", id="a single line joins line breaks"),
        pytest.param("a\t\tb", "a b", id="tabs become one space on a single line"),
        pytest.param("a    b \u3000 c", "a b c", id="runs of any spaces collapse on a single line"),
        pytest.param("zero\u200bwidth", "zerowidth", id="a zero-width space is removed"),
        pytest.param("\ufeffBOM", "BOM", id="a byte order mark is removed"),
        pytest.param("abc\u202edef\u202c", "abcdef", id="a right-to-left override is removed"),
        pytest.param("a\u2067b\u2069", "ab", id="bidi isolates are removed"),
        pytest.param("abc\u200fdef", "abc\u200fdef", id="a right-to-left mark is kept"),
        pytest.param(PERSIAN, PERSIAN, id="a Persian zero-width non-joiner is kept"),
        pytest.param(FAMILY, FAMILY, id="a joiner inside an emoji family is kept"),
        pytest.param(FIRE_HEART, FIRE_HEART, id="a joiner after an emoji selector is kept"),
        pytest.param("a\u200db", "ab", id="a joiner between letters is removed"),
        pytest.param("😀\u200d", "😀", id="a joiner at the end is removed"),
        pytest.param("lone \ud800 surrogate", "lone surrogate", id="a lone surrogate is removed"),
        pytest.param("x\uffffy", "xy", id="a non-character XML forbids is removed"),
        pytest.param("e\x00\u0301", "é", id="a removed control does not split an accent"),
    ],
)
def test_a_single_line_value_is_cleaned(raw, expected):
    assert clean_text(raw, max_len=100) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("one\r\ntwo\rthree", "one\ntwo\nthree", id="CRLF and CR become LF"),
        pytest.param("col1\tcol2", "col1\tcol2", id="tabs are kept"),
        pytest.param("a\u2028b\x0bc", "a\nb\nc", id="unicode line separators become LF"),
        pytest.param("para\n\n\n\nnext", "para\n\n\n\nnext", id="blank lines are kept"),
        pytest.param("line  \nnext", "line  \nnext", id="a Markdown hard line break is kept"),
        pytest.param("a  b", "a  b", id="inner spaces are left alone"),
        pytest.param("\n\n  text \n\n", "text", id="the whole value is stripped"),
        pytest.param("a\x00\nb", "a\nb", id="other controls are still removed"),
    ],
)
def test_a_multiline_value_keeps_its_lines(raw, expected):
    assert clean_text(raw, max_len=1000, multiline=True) == expected


@pytest.mark.parametrize(
    ("raw", "max_len", "expected"),
    [
        pytest.param("short", 10, "short", id="text within the limit is unchanged"),
        pytest.param("exactly10!", 10, "exactly10!", id="text of exactly the limit is unchanged"),
        pytest.param("The quick brown fox", 12, "The quick…", id="a cut falls on a word boundary"),
        pytest.param("The quick brown", 10, "The quick…", id="a cut right before a space"),
        pytest.param("abcdefghijkl", 6, "abcde…", id="one long word is cut hard"),
        pytest.param("a bcdefghijkl", 8, "a bcdef…", id="a far word boundary is not used"),
        pytest.param("日本語のテキスト", 5, "日本語の…", id="text without spaces is cut hard"),
        pytest.param("anything", 1, ELLIPSIS, id="a limit of one leaves only the ellipsis"),
        pytest.param(
            "ab\u0301\u0302\u0303cd", 4, "a…", id="a letter is never separated from its marks"
        ),
        pytest.param("x🇦🇺🇳🇿", 4, "x🇦🇺…", id="a flag is never split in half"),
        pytest.param("x" + FAMILY + "yz", 6, "x…", id="an emoji family is never split"),
    ],
)
def test_long_text_is_truncated_without_breaking_characters(raw, max_len, expected):
    result = clean_text(raw, max_len=max_len)
    assert result == expected
    assert len(result) <= max_len


def test_a_limit_below_one_is_refused():
    with pytest.raises(ValueError, match="max_len"):
        truncate("text", 0)


def test_text_that_is_not_a_string_is_refused_with_its_type():
    with pytest.raises(TypeError, match="int"):
        clean_text(42, max_len=10)  # type: ignore[arg-type]


def test_a_flag_and_skin_tone_sequences_are_single_graphemes():
    assert graphemes("🇦🇺x👩🏽\u200d💻e\u0301") == ["🇦🇺", "x", "👩🏽\u200d💻", "e\u0301"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(["Tag", "tag", "TAG"], ("Tag",), id="case variants keep the first spelling"),
        pytest.param(["b", "a", "B"], ("b", "a"), id="the original order is kept"),
        pytest.param(["", None, "  ", "x"], ("x",), id="empty names are dropped"),
        pytest.param([NFD_CAFE, "café"], ("Café",), id="NFD and NFC spellings are one name"),
        pytest.param(["Straße", "STRASSE"], ("Straße",), id="names compare by casefold"),
    ],
)
def test_names_are_deduplicated_case_insensitively(raw, expected):
    assert clean_names(raw) == expected


def test_name_lists_have_no_length_limit():
    assert len(clean_names([f"tag {i}" for i in range(2_000)])) == 2_000


def test_a_cut_is_reported_so_the_caller_can_warn():
    assert clean_text_cut("x" * 20, max_len=10) == ("x" * 9 + ELLIPSIS, True)
    assert clean_text_cut("x" * 10, max_len=10) == ("x" * 10, False)
    assert clean_text_cut("x" * 10_000, max_len=None) == ("x" * 10_000, False)
    assert names_cut(["short", "y" * 300]) == ["y" * 40 + ELLIPSIS]


def test_a_long_name_is_truncated_to_the_name_limit():
    (name,) = clean_names(["x" * 1000])
    assert len(name) == MAX_NAME_LEN


@pytest.mark.parametrize(
    ("raw", "iso", "plex"),
    [
        pytest.param("2021-03-04", "2021-03-04", "2021-03-04", id="a full date is kept"),
        pytest.param("2021-03", "2021-03", "2021-03-01", id="a year and month get day 01"),
        pytest.param("2021", "2021", "2021-01-01", id="a year alone gets January 1st"),
        pytest.param("2020-02-29", "2020-02-29", "2020-02-29", id="a leap day in a leap year"),
        pytest.param(" 1999-12-31 ", "1999-12-31", "1999-12-31", id="spaces around are ignored"),
    ],
)
def test_a_partial_date_keeps_its_precision(raw, iso, plex):
    parsed = parse_partial_date(raw)
    assert parsed is not None
    assert parsed.isoformat() == iso
    assert str(parsed) == iso
    assert parsed.plex_date() == plex
    assert date_problem(raw) is None


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        pytest.param("2021-13", "month 13", id="month thirteen is refused"),
        pytest.param("2021-00-10", "month 0", id="month zero is refused"),
        pytest.param("2021-02-30", "day 30 does not exist", id="February 30th is refused"),
        pytest.param("2021-02-29", "day 29 does not exist", id="a leap day in a common year"),
        pytest.param("2021-04-31", "last day 30", id="April 31st is refused"),
        pytest.param("0000", "year 0", id="year zero is refused"),
        pytest.param("yesterday", "not a date", id="words are refused"),
        pytest.param("2021/03/04", "not a date", id="slashes are refused"),
        pytest.param("21-03-04", "not a date", id="a two-digit year is refused"),
        pytest.param("٢٠٢١", "not a date", id="non-ASCII digits are refused"),
        pytest.param("2021-03-04T10:00:00", "not a date", id="a timestamp is refused"),
    ],
)
def test_an_invalid_date_parses_to_none_and_says_why(raw, problem):
    assert parse_partial_date(raw) is None
    message = date_problem(raw)
    assert message is not None
    assert problem in message


@pytest.mark.parametrize("raw", [None, "", "   "], ids=["null", "empty", "blank"])
def test_an_absent_date_is_no_date_and_no_problem(raw):
    assert parse_partial_date(raw) is None
    assert date_problem(raw) is None


def test_a_partial_date_cannot_be_built_with_an_impossible_day():
    with pytest.raises(ValueError, match="does not exist"):
        PartialDate(year=2021, month=2, day=30)


def test_a_partial_date_cannot_have_a_day_without_a_month():
    with pytest.raises(ValueError, match="needs a month"):
        PartialDate(year=2021, day=3)


def _is_forbidden(char: str) -> bool:
    code = ord(char)
    return code < 0x20 or 0x7F <= code <= 0x9F or 0xD800 <= code <= 0xDFFF


@settings(max_examples=300, deadline=None)
@given(text=st.text(), max_len=st.integers(min_value=1, max_value=60), multiline=st.booleans())
def test_cleaning_any_text_never_fails_and_yields_safe_nfc_within_the_limit(
    text, max_len, multiline
):
    result = clean_text(text, max_len=max_len, multiline=multiline)
    assert len(result) <= max_len
    assert unicodedata.is_normalized("NFC", result)
    allowed = "\n\t" if multiline else ""
    assert not [char for char in result if _is_forbidden(char) and char not in allowed]
    assert result == result.strip()


@settings(max_examples=300, deadline=None)
@given(text=st.text(), max_len=st.integers(min_value=1, max_value=60), multiline=st.booleans())
def test_cleaning_twice_changes_nothing(text, max_len, multiline):
    once = clean_text(text, max_len=max_len, multiline=multiline)
    assert clean_text(once, max_len=max_len, multiline=multiline) == once


@settings(max_examples=200, deadline=None)
@given(text=st.text(min_size=1), max_len=st.integers(min_value=1, max_value=30))
def test_truncation_keeps_a_prefix_made_of_whole_graphemes(text, max_len):
    cleaned = clean_text(text, max_len=10_000)
    result = truncate(cleaned, max_len)
    if result == cleaned:
        return
    kept = result.removesuffix(ELLIPSIS)
    assert cleaned.startswith(kept)
    assert graphemes(cleaned)[: len(graphemes(kept))] == graphemes(kept)


def test_a_huge_value_is_cut_to_its_limit():
    huge = ("word " * 200_000) + "e\u0301" * 200_000

    result = clean_text(huge, max_len=500)

    assert len(result) == 500
    assert result.endswith("word…")


def test_a_huge_run_of_combining_marks_leaves_only_the_ellipsis():
    assert clean_text("a" + "\u0301" * 100_000, max_len=50) == ELLIPSIS
