"""Phase 1 of the PartiQL front-end: split a statement into tokens.

* ``IDENT``: a bare identifier, ``[A-Za-z_$][A-Za-z0-9_$]*``.  Keywords are IDENTs too; the parser
  matches them case-insensitively, and refuses a reserved word (``reserved.py``) where a name is
  expected.  A bare name is case-sensitive, like every DynamoDB attribute name.
* ``QUOTED``: a double-quoted identifier, ``"Artist"`` (``""`` inside is one ``"``); any text,
  dots included, never a keyword.
* ``STRING``: a single-quoted string literal, ``'it''s'``.
* ``NUMBER``: ``1``, ``1.5``, ``.5``, ``1e3`` (the sign is the parser's business).
* ``PARAM``: ``?``, a positional parameter.
* ``PUNCT``: ``<<`` ``>>`` ``<=`` ``>=`` ``<>`` ``!=`` and the one-character ones
  ``= < > ( ) [ ] { } , . : * + - ;``.
* ``EOF``: the end of the statement.

Spaces, line breaks, ``-- comments`` and ``/* comments */`` separate tokens.  Anything else is a
syntax error ("Invalid character"), as is a quote that never closes ("Invalid literal").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .. import errors

IDENT, QUOTED, STRING, NUMBER, PARAM, PUNCT, EOF = "IDENT", "QUOTED", "STRING", "NUMBER", "PARAM", "PUNCT", "EOF"

_TOKEN_RE = re.compile(
    r"""
      (?P<ws>\s+|--[^\n]*|/\*.*?\*/)
    | (?P<IDENT>[A-Za-z_$][A-Za-z0-9_$]*)
    | (?P<QUOTED>"(?:[^"]|"")*")
    | (?P<STRING>'(?:[^']|'')*')
    | (?P<NUMBER>(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)
    | (?P<PARAM>\?)
    | (?P<PUNCT><<|>>|<=|>=|<>|!=|[=<>()\[\]{},.:*+\-;])
    """,
    re.VERBOSE | re.DOTALL,
)


@dataclass(frozen=True, slots=True)
class Token:
    """One token: its kind and its value (the name without quotes, the string's text, ...)."""

    kind: str
    value: str
    start: int

    def is_word(self, *words: str) -> bool:
        """A bare identifier spelling one of ``words`` (upper case), in any case."""
        return self.kind == IDENT and self.value.upper() in words

    def is_punct(self, *marks: str) -> bool:
        return self.kind == PUNCT and self.value in marks


def tokenize(text: str) -> tuple[Token, ...]:
    """All tokens of ``text``, ending with one EOF token."""
    tokens = []
    position = 0
    while position < len(text):
        match = _TOKEN_RE.match(text, position)
        if match is None:
            raise errors.partiql_syntax("Invalid literal" if text[position] in "'\"" or text.startswith("/*", position)
                                        else "Invalid character")
        kind = match.lastgroup
        raw = match.group()
        if kind == QUOTED:
            tokens.append(Token(kind, raw[1:-1].replace('""', '"'), position))
        elif kind == STRING:
            tokens.append(Token(kind, raw[1:-1].replace("''", "'"), position))
        elif kind != "ws":
            tokens.append(Token(kind, raw, position))
        position = match.end()
    tokens.append(Token(EOF, "", len(text)))
    return tuple(tokens)
