"""The client's own form encoding writes exactly what ``urllib.parse.urlencode`` (and requests) would: its fast
paths for plain values and bracket keys must never change a byte of what Moodle receives."""

from __future__ import annotations

from collections import OrderedDict
from urllib.parse import parse_qsl, urlencode

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from mintqo_lms.moodle.encoding import BIG_VALUE, encode_params, form_body

MESSY = ["Jörg & Söhne", "O'Brien", 'Sie sagte "ja"', "<b>fett</b>", "a+b=c", "100 %", "x;y,z/ä?#", "",
         "courses[0][modules][3][name]", "[", "]]", "Ärger~.-_", "🙂", "line\nbreak\ttab", "\u00a0"]


def test_messy_roster_text_and_bracket_keys_encode_like_urlencode():
    fields = encode_params({"users": [{"firstname": text, "lastname": text[::-1]} for text in MESSY],
                            "courses": [{"modules": [{"name": text, "section": 3}]} for text in MESSY]})
    assert form_body(fields) == urlencode(fields)
    assert parse_qsl(form_body(fields), keep_blank_values=True) == fields


@settings(max_examples=300, derandomize=True)
@given(st.lists(st.tuples(st.text(max_size=30), st.text(max_size=30)), max_size=8))
def test_any_text_encodes_like_urlencode(fields):
    assert form_body(fields) == urlencode(fields)


def test_a_long_value_quoted_once_encodes_like_urlencode_every_time():
    xml = "".join(MESSY) * (BIG_VALUE // len("".join(MESSY)) + 1)
    assert len(xml) >= BIG_VALUE
    fields = [("questionsets[0][questionsxml]", xml), ("courses[0][name]", xml[:40])]
    assert form_body(fields) == urlencode(fields)
    assert form_body(fields) == urlencode(fields)   # the second time from the cache, still the same bytes


def test_nested_values_flatten_to_php_brackets_whatever_their_container():
    class Item(BaseModel):
        a: int = 1
        b: str | None = None

    value = {"x": [1, True, False, 2.0, 2.5, None, "ä", (3, {"y": None, "z": Item()}), OrderedDict(q=1)],
             "m": Item(b="s"), "n": None, "e": [], "d": {}}
    assert encode_params({"p": value}) == [
        ("p[x][0]", "1"), ("p[x][1]", "1"), ("p[x][2]", "0"), ("p[x][3]", "2"), ("p[x][4]", "2.5"),
        ("p[x][6]", "ä"), ("p[x][7][0]", "3"), ("p[x][7][1][z][a]", "1"), ("p[x][8][q]", "1"),
        ("p[m][a]", "1"), ("p[m][b]", "s")]
