"""The regular expression a user gives an evaluation: compiled once, refused with a message that
says what is wrong (the API answers it as a 400 naming `regex`)."""

import re
from dataclasses import dataclass

MAX_REGEX_LENGTH = 500


def compile_regex(text: str) -> re.Pattern[str]:
    """Compile a user's pattern, or raise ValueError with a message saying what is wrong.

    Refused: an empty pattern, one longer than MAX_REGEX_LENGTH characters, one `re` cannot
    compile, and one with a repeated group that itself contains a repeat, such as `(a+)+` or
    `(\\w+\\s?)*`. Python's `re` has no timeout, and such nesting can take exponential time on
    an output that almost matches, stalling a worker. The check is deliberately simple and
    errs on the side of refusing (`(\\d+,)*` is refused too); a possessive inner quantifier
    (`(\\d++,)*`) or an atomic group (`(?>\\d+,)*`) cannot backtrack and is accepted. Other
    slow patterns remain possible (overlapping alternatives such as `(a|a)*`, backreferences),
    bounded by the length of the outputs, which generation limits.
    """
    if not text:
        raise ValueError("The pattern is empty; it would match every output.")
    if len(text) > MAX_REGEX_LENGTH:
        raise ValueError(
            f"The pattern is {len(text)} characters long; the limit is {MAX_REGEX_LENGTH}."
        )
    try:
        compiled = re.compile(text)
    except re.error as exc:
        where = f" at position {exc.pos}" if exc.pos is not None else ""
        raise ValueError(f"Not a valid regular expression: {exc.msg}{where}.") from exc
    if _has_nested_repeat(text):
        raise ValueError(
            "The pattern repeats a group that itself contains a repeat, as in (a+)+, which can "
            "take exponential time. Make the inner repeat possessive, (a++)+, or the group "
            "atomic, (?>a+)+, or drop one of the repeats."
        )
    return compiled


@dataclass
class _Group:
    atomic: bool  # (?>...): once matched, never backtracked into
    repeats_inside: bool = False


def _has_nested_repeat(pattern: str) -> bool:
    """Whether a group with a repeat inside is itself repeated (the pattern compiles).

    1. Walk the pattern atom by atom: an escape, a character class, a group's parentheses or a
       plain character, keeping a stack of the open groups.
    2. After each atom, read its quantifier; a repeating one (*, +, {m,n}) marks the group the
       atom sits in.
    3. A group that closes with a mark passes it to its parent, and is nested trouble if it is
       repeated itself, unless it is atomic.
    """
    groups = [_Group(atomic=False)]
    i = 0
    while i < len(pattern):
        char = pattern[i]
        nested = False  # the atom ending here is a group with a repeat inside
        if char == "(":
            groups.append(_Group(atomic=pattern.startswith("(?>", i)))
            i += 2 if pattern.startswith("(?", i) else 1
            continue
        if char == ")" and len(groups) > 1:
            group = groups.pop()
            nested = group.repeats_inside and not group.atomic
            i += 1
        elif char == "\\":
            i += 2
        elif char == "[":
            i = _class_end(pattern, i)
        else:
            i += 1
        repeated, i = _quantifier_at(pattern, i)
        if repeated and nested:
            return True
        groups[-1].repeats_inside |= repeated or nested
    return False


_QUANTIFIER = re.compile(r"[*+?]|\{\d*(,\d*)?\}")


def _quantifier_at(pattern: str, i: int) -> tuple[bool, int]:
    """Whether a quantifier that can repeat and backtrack starts at i, and the index after it.
    A possessive one (*+, ++, {m,n}+) never gives back what it matched, so it does not count."""
    found = _QUANTIFIER.match(pattern, i)
    if found is None:
        return False, i
    end = found.end()
    suffix = pattern[end : end + 1]
    repeats = found.group() in ("*", "+") or found.group(1) is not None
    if suffix in ("?", "+"):  # lazy or possessive
        end += 1
    return repeats and suffix != "+", end


def _class_end(pattern: str, i: int) -> int:
    """The index after the character class that opens at i (a "]" first in it is literal)."""
    j = i + 1
    if pattern.startswith("^", j):
        j += 1
    if pattern.startswith("]", j):
        j += 1
    while j < len(pattern) and pattern[j] != "]":
        j += 2 if pattern[j] == "\\" else 1
    return j + 1
