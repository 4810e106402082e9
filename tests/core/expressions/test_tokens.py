"""The expression tokenizer: token kinds, positions, and the "near" text of syntax errors."""

import re

from hypothesis import given
from hypothesis import strategies as st

from dynamoray.core.expressions import tokens as tk


def kinds_and_texts(text):
    return [(t.kind, t.text) for t in tk.tokenize(text)]


def test_names_placeholders_numbers_and_operators():
    assert kinds_and_texts("#n.b[12] <= :v1 AND size(c_2)<>:x") == [
        (tk.NAME_REF, "#n"), (tk.PUNCT, "."), (tk.NAME, "b"), (tk.PUNCT, "["), (tk.NUMBER, "12"),
        (tk.PUNCT, "]"), (tk.PUNCT, "<="), (tk.VALUE_REF, ":v1"), (tk.NAME, "AND"), (tk.NAME, "size"),
        (tk.PUNCT, "("), (tk.NAME, "c_2"), (tk.PUNCT, ")"), (tk.PUNCT, "<>"), (tk.VALUE_REF, ":x"),
        (tk.EOF, ""),
    ]


def test_two_character_comparators_and_single_ones():
    assert [t.text for t in tk.tokenize("a>=b>c<d=e")][:-1] == ["a", ">=", "b", ">", "c", "<", "d", "=", "e"]


def test_placeholders_may_start_with_a_digit_or_underscore():
    assert kinds_and_texts("#4g :_ #_") == [
        (tk.NAME_REF, "#4g"), (tk.VALUE_REF, ":_"), (tk.NAME_REF, "#_"), (tk.EOF, "")]


def test_a_name_must_start_with_a_letter():
    assert kinds_and_texts("_hidden 1abc") == [
        (tk.PUNCT, "_"), (tk.NAME, "hidden"), (tk.NUMBER, "1"), (tk.NAME, "abc"), (tk.EOF, "")]


def test_unknown_characters_are_single_tokens():
    assert kinds_and_texts("a-b ü # :") == [
        (tk.NAME, "a"), (tk.PUNCT, "-"), (tk.NAME, "b"), (tk.PUNCT, "ü"), (tk.PUNCT, "#"),
        (tk.PUNCT, ":"), (tk.EOF, "")]


def test_whitespace_of_every_kind_separates_tokens():
    assert [t.text for t in tk.tokenize("a\t=\r\n:v ")] == ["a", "=", ":v", ""]


def test_positions_and_eof():
    tokens = tk.tokenize("ab = :v  ")
    assert [(t.start, t.end) for t in tokens] == [(0, 2), (3, 4), (5, 7), (7, 7)]
    assert tokens[-1].display == "<EOF>"
    assert tokens[0].display == "ab"


def test_near_spans_previous_to_next_token_with_original_spacing():
    text = "ADD hits : incr"
    tokens = tk.tokenize(text)
    assert tk.near(text, tokens, 2) == "hits : incr"


def test_near_at_the_start_and_at_the_end():
    text = "INVALID SYNTAX HERE"
    tokens = tk.tokenize(text)
    assert tk.near(text, tokens, 0) == "INVALID SYNTAX"
    text = "attribute_not_exists("
    tokens = tk.tokenize(text)
    assert tk.near(text, tokens, len(tokens) - 1) == "("
    assert tk.near("", tk.tokenize(""), 0) == ""


@given(st.text(alphabet="ab_#:1 ()[].,=<>+-\tü", max_size=30))
def test_tokens_cover_the_text_except_whitespace(text):
    tokens = tk.tokenize(text)
    assert tokens[-1].kind == tk.EOF
    assert "".join(t.text for t in tokens) == re.sub(r"[ \t\r\n]", "", text)
    assert all(text[t.start:t.end] == t.text for t in tokens)
