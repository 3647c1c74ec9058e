"""The client's own form encoding writes exactly what ``urllib.parse.urlencode`` (and requests) would: its fast
paths for plain values and bracket keys must never change a byte of what Moodle receives."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from hypothesis import given, settings
from hypothesis import strategies as st

from mintqo_lms.moodle.encoding import encode_params, form_body

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
