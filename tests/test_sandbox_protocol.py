"""Sandbox wire format: PHP form decoding, max_input_vars, PHP-like JSON, parameter validation."""

from __future__ import annotations

import pytest

from mintqo_lms.sandbox.params import BOOL, INT, LANG, RAW, Context, M, Params, S, V, validate
from mintqo_lms.sandbox.protocol import (MoodleError, decode_php_form, php_json_encode, response_format,
                                         split_form_pairs, xml_error, invalid_token, xml_response)


def decode(raw: str, limit: int = 5000) -> dict:
    return decode_php_form(split_form_pairs(raw), limit)


def test_nested_brackets_decode_like_php() -> None:
    data = decode("users%5B0%5D%5Bcustomfields%5D%5B1%5D%5Bvalue%5D=x&users[0][username]=a&users[1][username]=b")
    assert data == {"users": {0: {"customfields": {1: {"value": "x"}}, "username": "a"}, 1: {"username": "b"}}}


def test_php_key_quirks() -> None:
    data = decode("a[]=1&a[]=2&b[01]=x&c.d=1&e f=2&g[x=3&h[k]]=4&=5&i[5]=a&i[]=b")
    assert data["a"] == {0: "1", 1: "2"}
    assert data["b"] == {"01": "x"}  # non-canonical numbers stay string keys
    assert data["c_d"] == "1" and data["e_f"] == "2"
    assert data["g_x"] == "3"  # unmatched "[" becomes "_"
    assert data["h"] == {"k": "4"}  # text after the first "]" is ignored
    assert "" not in data
    assert data["i"] == {5: "a", 6: "b"}


def test_later_field_wins_and_can_replace_scalars() -> None:
    assert decode("a=1&a[x]=2") == {"a": {"x": "2"}}
    assert decode("a[x]=2&a=1") == {"a": "1"}


def test_max_input_vars_keeps_first_limit_plus_one_fields() -> None:
    raw = "&".join(f"v[{i}]={i}" for i in range(10))
    assert list(decode(raw, limit=5)["v"].values()) == ["0", "1", "2", "3", "4", "5"]


def test_json_encoding_matches_php() -> None:
    assert php_json_encode({"u": "http://x/ä", "f": 5.0, "g": 0.6666667, "n": None, "b": True, "l": []}) == \
        '{"u":"http:\\/\\/x\\/\\u00e4","f":5,"g":0.6666667,"n":null,"b":true,"l":[]}'
    assert php_json_encode("😀") == '"\\ud83d\\ude00"'


def test_format_is_json_only_for_exactly_json() -> None:
    assert response_format("json") == "json"
    assert response_format("JSON") == "xml"
    assert response_format(None) == "xml"


def test_xml_invalidtoken_body_matches_recording() -> None:
    assert xml_error(invalid_token(), debug=False) == (
        '<?xml version="1.0" encoding="UTF-8" ?>\n<EXCEPTION class="moodle_exception">\n'
        "<ERRORCODE>invalidtoken</ERRORCODE>\n<MESSAGE>Invalid token - token not found</MESSAGE>\n</EXCEPTION>\n")
    assert xml_response(None) == '<?xml version="1.0" encoding="UTF-8" ?>\n<RESPONSE>\n</RESPONSE>\n'


SPEC = Params(courseid=V(INT), flag=V(BOOL, False), lang=V(LANG, "en"),
              items=M(S(name=V(RAW), size=V(INT, 3))), extra=V(RAW, opt=True))
CTX = Context(languages=lambda: {"en"})


def debuginfo(value: dict) -> str:
    with pytest.raises(MoodleError) as caught:
        validate(SPEC, value, CTX)
    assert caught.value.errorcode == "invalidparameter"
    assert caught.value.message == "Invalid parameter value detected"
    return caught.value.debuginfo or ""


def test_validation_applies_defaults_and_types() -> None:
    result = validate(SPEC, {"courseid": "2", "flag": "1", "items": {0: {"name": "a"}}}, CTX)
    assert result == {"courseid": 2, "flag": True, "lang": "en", "items": [{"name": "a", "size": 3}]}


def test_validation_errors_carry_moodles_debuginfo() -> None:
    assert debuginfo({"items": {}}) == "Missing required key in single structure: courseid"
    assert debuginfo({"courseid": "abc", "items": {}}) == (
        'courseid => Invalid parameter value detected: Invalid external api parameter: the value is "abc", '
        'the server was expecting "int" type')
    assert debuginfo({"courseid": "1", "items": "3"}) == (
        "items => Invalid parameter value detected: Only arrays accepted. The bad value is: '3'")
    assert debuginfo({"courseid": "1", "items": {}, "unexpected": "x"}) == (
        "Unexpected keys (unexpected) detected in parameter array.")
    assert "expecting \"lang\" type" in debuginfo({"courseid": "1", "items": {}, "lang": "de"})
    assert "size => " in debuginfo({"courseid": "1", "items": {0: {"name": "a", "size": "x"}}})


@pytest.mark.parametrize("text", ["true", "false", "2", "", "yes"])
def test_bool_accepts_only_one_and_zero(text: str) -> None:
    assert "expecting \"bool\" type" in debuginfo({"courseid": "1", "items": {}, "flag": text})
