"""Phase 1 of the expression front-end: split an expression string into tokens.

The lexicon is the same for every expression kind (conditions, updates, projections):

* ``NAME``: an attribute or function name, ``[A-Za-z][A-Za-z0-9_]*``.  Keywords (``AND``,
  ``SET``, ...) are NAMEs too; the parser recognizes them case-insensitively where its grammar
  expects one.
* ``NAME_REF``: an expression attribute name, ``#`` followed by ``[A-Za-z0-9_]+``.
* ``VALUE_REF``: an expression attribute value, ``:`` followed by ``[A-Za-z0-9_]+``.
* ``NUMBER``: a list index, ``[0-9]+`` (numbers are never literals in DynamoDB expressions).
* ``PUNCT``: ``<=``, ``>=``, ``<>`` and any other single character (``=``, ``(``, ``.``, ...).
  Characters no rule uses (``_`` alone, ``-`` in a condition, ``ü``) become one-character tokens
  too, so the parser can report them the way DynamoDB does: ``token: "_"``.
* ``EOF``: the end of the input, shown as ``<EOF>`` in messages.

Spaces, tabs, carriage returns and newlines separate tokens and are otherwise ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

NAME = "NAME"
NAME_REF = "NAME_REF"
VALUE_REF = "VALUE_REF"
NUMBER = "NUMBER"
PUNCT = "PUNCT"
EOF = "EOF"

_WHITESPACE = " \t\r\n"
_TOKEN_RE = re.compile(
    r"""
      (?P<ws>[ \t\r\n]+)
    | (?P<NAME>[A-Za-z][A-Za-z0-9_]*)
    | (?P<NAME_REF>\#[A-Za-z0-9_]+)
    | (?P<VALUE_REF>:[A-Za-z0-9_]+)
    | (?P<NUMBER>[0-9]+)
    | (?P<PUNCT><=|>=|<>|.)
    """,
    re.VERBOSE | re.DOTALL,
)


@dataclass(frozen=True, slots=True)
class Token:
    """One token: its kind, its text and where it sits in the source (``text[start:end]``)."""

    kind: str
    text: str
    start: int
    end: int

    @property
    def display(self) -> str:
        """The token as DynamoDB quotes it in a syntax error."""
        return "<EOF>" if self.kind == EOF else self.text


def tokenize(text: str) -> tuple[Token, ...]:
    """All tokens of ``text``, always ending with one EOF token."""
    tokens = []
    for match in _TOKEN_RE.finditer(text):
        kind = match.lastgroup
        if kind != "ws":
            tokens.append(Token(kind, match.group(), match.start(), match.end()))
    end = len(text.rstrip(_WHITESPACE))
    tokens.append(Token(EOF, "", end, end))
    return tuple(tokens)


def near(text: str, tokens: tuple[Token, ...], index: int) -> str:
    """The source around ``tokens[index]`` that DynamoDB quotes in a syntax error: from the start
    of the previous token to the end of the next one, spacing kept (``"hits : incr"``)."""
    start = tokens[index - 1].start if index > 0 else tokens[index].start
    following = tokens[min(index + 1, len(tokens) - 1)]
    return text[start:following.end]
