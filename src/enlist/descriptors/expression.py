"""Conditions of `!IF` and `!ELSEIF` (L1, pure).

Grammar (lowest precedence first):

    expr    := and ( "||" and )*
    and     := compare ( "&&" compare )*
    compare := unary ( ( "==" | "!=" | "<" | "<=" | ">" | ">=" ) unary )?
    unary   := "!" unary | "(" expr ")" | "defined" "(" NAME ")" | operand
    operand := INTEGER | "quoted string" | word

Macro references are expanded inside operands, so each reference yields one value and never new operators. An
operand is a number when it reads as a decimal or 0x integer and was not quoted; two numbers compare as
numbers, anything else as strings (then only `==` and `!=`). As a condition, a number is true when non-zero
and a string when non-empty. `EXIST()` is refused: a descriptor's meaning must not depend on the state of the
disk. Bounds (`limits`): MAX_CONDITION_TOKENS tokens, MAX_CONDITION_DEPTH levels of nesting, integers of at
most MAX_INTEGER_DIGITS digits, and operands expanded within the evaluation's expansion budget.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from enlist.descriptors.lexer import Logical
from enlist.descriptors.limits import MAX_CONDITION_DEPTH, MAX_CONDITION_TOKENS, MAX_INTEGER_DIGITS, quote
from enlist.descriptors.macros import Macros, check, reference, spend
from enlist.descriptors.text import TextBuilder
from enlist.errors import DescriptorError, Location

OPERATORS = ("==", "!=", "<=", ">=", "&&", "||", "<", ">", "!", "(", ")")
INTEGER_RE = re.compile(r"[+-]?(0[xX][0-9a-fA-F]+|[0-9]+)")
MAX_DEPTH = MAX_CONDITION_DEPTH
Value = int | str


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # "op", "value", "name" (a bare word, maybe `defined`), "end"
    text: str
    value: Value = ""


def tokenize(logical: Logical, start: int, macros: Macros) -> list[Token]:
    text = logical.text
    tokens: list[Token] = []
    i, n = start, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
            continue
        if len(tokens) >= MAX_CONDITION_TOKENS:
            raise DescriptorError(
                f"condition longer than {MAX_CONDITION_TOKENS} tokens", location=logical.location_at(i)
            )
        op = next((o for o in OPERATORS if text.startswith(o, i)), None)
        if op:
            tokens.append(Token("op", op))
            i += len(op)
        elif c == '"':
            close = text.find('"', i + 1)
            if close < 0:
                raise DescriptorError("unterminated string in condition", location=logical.location_at(i))
            tokens.append(Token("value", text[i : close + 1], _expand(logical, i + 1, close, macros)))
            i = close + 1
        else:
            end = _word_end(text, i)
            location = logical.location_at(i)
            if end == i:  # a lone `=`, `&` or `|`: neither an operator nor part of a word
                raise DescriptorError(
                    f"unexpected '{c}' in condition",
                    location=location,
                    hint="compare with == or !=, combine with && or ||",
                )
            word = text[i:end]
            if "$" in word:
                expanded = _expand(logical, i, end, macros)
                tokens.append(Token("value", word, _number_or_string(expanded, location)))
            else:
                tokens.append(Token("name", word, _number_or_string(word, location)))
            i = end
    tokens.append(Token("end", ""))
    return tokens


# A bare word runs to a space, a quote or an operator character; a `$(...)` inside it is taken whole (an
# unterminated one to the end of the line: reference() reports it). Unrolled and possessive, so that the
# regex engine keeps no backtracking state per character of a hostile multi-megabyte word.
WORD_RE = re.compile(r'[^\s"!=<>&|()$]*+(?:\$(?:\([^)]*+(?:\)|\Z))?+[^\s"!=<>&|()$]*+)*+')


def _word_end(text: str, i: int) -> int:
    match = WORD_RE.match(text, i)
    return match.end() if match else i


def _expand(logical: Logical, start: int, end: int, macros: Macros) -> str:
    out = TextBuilder()
    i = start
    text = logical.text
    while i < end:
        dollar = text.find("$(", i, end)
        if dollar < 0:
            out.add(text[i:end], logical.location)
            break
        out.add(text[i:dollar], logical.location)
        macros.count_reference(logical, dollar)
        value, i = reference(logical, dollar, macros, on_undefined=None, out=out)
        out.add_text(value)
        check(macros, logical.location, out.size, out.cost)
    spend(out, macros, logical.location)
    return out.build().value


def _number_or_string(text: str, location: Location) -> Value:
    if not INTEGER_RE.fullmatch(text):
        return text
    digits = len(text.lstrip("+-").removeprefix("0x").removeprefix("0X"))
    if digits > MAX_INTEGER_DIGITS:
        raise DescriptorError(
            f"integer '{quote(text)}' has more than {MAX_INTEGER_DIGITS} digits",
            location=location,
            hint='to compare it as text, quote both sides: "$(X)" == "..."',
        )
    return int(text, 16) if "x" in text.lower() else int(text, 10)


class Parser:
    def __init__(self, tokens: list[Token], logical: Logical, macros: Macros) -> None:
        self.tokens = tokens
        self.pos = 0
        self.logical = logical
        self.macros = macros
        self.depth = 0

    def error(self, message: str, hint: str | None = None) -> DescriptorError:
        return DescriptorError(message, location=self.logical.location, hint=hint)

    def peek(self) -> Token:
        return self.tokens[self.pos]

    def take(self) -> Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def expect(self, text: str) -> None:
        token = self.take()
        if token.text != text or token.kind != "op":
            raise self.error(f"expected '{text}' in condition, found {_describe(token)}")

    def parse(self) -> Value:
        if self.peek().kind == "end":
            raise self.error("missing condition", hint='e.g. !IF "$(FLAVOR)" == "chk"')
        value = self.expr()
        if self.peek().kind != "end":
            raise self.error(f"unexpected {_describe(self.peek())} in condition")
        return value

    def expr(self) -> Value:
        value = self.conjunction()
        while self.peek().text == "||" and self.peek().kind == "op":
            self.take()
            right = self.conjunction()
            value = int(truth(value) or truth(right))
        return value

    def conjunction(self) -> Value:
        value = self.compare()
        while self.peek().text == "&&" and self.peek().kind == "op":
            self.take()
            right = self.compare()
            value = int(truth(value) and truth(right))
        return value

    def compare(self) -> Value:
        left = self.unary()
        token = self.peek()
        if token.kind == "op" and token.text in ("==", "!=", "<", "<=", ">", ">="):
            self.take()
            return self.apply(token.text, left, self.unary())
        return left

    def apply(self, op: str, left: Value, right: Value) -> int:
        if isinstance(left, int) and isinstance(right, int):
            results = {
                "==": left == right,
                "!=": left != right,
                "<": left < right,
                "<=": left <= right,
                ">": left > right,
                ">=": left >= right,
            }
            return int(results[op])
        if op not in ("==", "!="):
            raise self.error(f"'{op}' compares numbers, not strings ({quote(repr(left))} {op} {quote(repr(right))})")
        return int((str(left) == str(right)) == (op == "=="))

    def unary(self) -> Value:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"condition nested deeper than {MAX_DEPTH} levels")
        try:
            return self._unary()
        finally:
            self.depth -= 1

    def _unary(self) -> Value:
        token = self.take()
        if token.kind == "op" and token.text == "!":
            return int(not truth(self.unary()))
        if token.kind == "op" and token.text == "(":
            value = self.expr()
            self.expect(")")
            return value
        if token.kind == "name" and token.text.lower() in ("defined", "exist") and self.peek().text == "(":
            return self.function(token.text.lower())
        if token.kind in ("value", "name"):
            return token.value
        raise self.error(f"expected a value in condition, found {_describe(token)}")

    def function(self, name: str) -> Value:
        if name == "exist":
            raise self.error(
                "EXIST() is not supported",
                hint="a descriptor's meaning must not depend on the state of the disk; use a macro",
            )
        self.expect("(")
        token = self.take()
        if token.kind != "name" or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", token.text):
            raise self.error(f"defined() takes a macro name, found {_describe(token)}")
        self.expect(")")
        return int(self.macros.is_defined(token.text))


def truth(value: Value) -> bool:
    return value != 0 if isinstance(value, int) else value != ""


def _describe(token: Token) -> str:
    return "the end of the line" if token.kind == "end" else f"'{quote(token.text)}'"


def evaluate(logical: Logical, start: int, macros: Macros) -> bool:
    """The truth of the condition written in `logical.text[start:]`."""
    return truth(Parser(tokenize(logical, start, macros), logical, macros).parse())
