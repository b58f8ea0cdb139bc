"""oci_runtime.kernel.hotpath.loads/dumps against the json module they stand in for: same documents out, same values
in, and ValueError (never another exception) for anything that is not one JSON document."""
import json

import pytest


from oci_runtime.kernel import hotpath

CORPUS = [
    None, True, False, 0, -1, 1.5, -0.0, 1e-300, 2 ** 64, -(2 ** 100), 10 ** 40,
    "", "plain", "quote \" backslash \\ slash /", "\b\f\n\r\t\x00\x1f\x7f",
    "é ü ß", "日本語", "\u2028\u2029", "\U0001F600 emoji outside the BMP", "\ud800",
    [], {}, [[]], {"": ""}, [1, "two", 3.0, None, True, {"k": []}],
    {"ociVersion": "1.3.0", "id": "c1", "status": "running", "pid": 4242,
     "annotations": {"org.example/ключ": "значение"}, "hooks": {"poststop": [{"path": "/bin/x"}]},
     "nested": {"a": {"b": {"c": [1, 2, {"d": None}]}}}},
    {str(i): i for i in range(50)},
]


@pytest.mark.parametrize("value", CORPUS, ids=repr)
def test_dumps_is_json_dumps_compact(value):
    assert hotpath.dumps(value) == json.dumps(value, separators=(",", ":"))


@pytest.mark.parametrize("value", CORPUS, ids=repr)
def test_round_trip(value):
    assert hotpath.loads(hotpath.dumps(value)) == json.loads(json.dumps(value))
    # bytes, as read from a state file, parse the same.
    assert hotpath.loads(hotpath.dumps(value).encode()) == json.loads(json.dumps(value))


@pytest.mark.parametrize("text", [
    '  {"a" : [1, 2.5e3, -0, "x"]}\n', "\t[]\r\n", '"\\u00e9\\ud83d\\ude00"', "12345678901234567890123",
    '{"dup": 1, "dup": 2}', "1E2", "-1.0e-2", '"\\/"',
])
def test_loads_agrees_with_json_loads_on_valid_text(text):
    assert hotpath.loads(text) == json.loads(text)


def test_big_integers_stay_exact():
    big = 2 ** 200 + 1
    assert hotpath.loads(str(big)) == big
    assert hotpath.dumps(big) == str(big)


def test_tuples_and_non_string_keys_serialise_like_json():
    assert hotpath.dumps((1, 2)) == "[1,2]"
    assert hotpath.dumps({1: "a", None: "b", 2.5: "c"}) == '{"1":"a","null":"b","2.5":"c"}'


@pytest.mark.parametrize("text", [
    "", "   ", "{", "[1,]", '{"a":1,}', '{"a" 1}', "tru", "01", '{"a":1} x', "[] []",
    '"\\x"', '"unterminated', "NaN", "Infinity", "-Infinity", "\ufeff{}", "'single'",
    b"\xff\xfe", '{"a":1}\x00',
])
def test_anything_but_one_json_document_is_a_value_error(text):
    with pytest.raises(ValueError):
        hotpath.loads(text)


def test_error_messages_carry_the_position():
    with pytest.raises(ValueError, match=r"extra data at char 8$"):
        hotpath.loads('{"a":1} x')
    with pytest.raises(ValueError, match=r"expecting a JSON value at char 3$"):
        hotpath.loads("[1,]")
    with pytest.raises(ValueError, match=r"^Expecting .:. delimiter at char 5$"):
        hotpath.loads('{"a" 1}')


@pytest.mark.parametrize("value, error", [
    (float("nan"), ValueError), (float("inf"), ValueError), ({1, 2}, TypeError),
    (b"bytes", TypeError), ({(1,): 2}, TypeError), (object(), TypeError),
])
def test_dumps_refuses_what_json_cannot_hold(value, error):
    with pytest.raises(error):
        hotpath.dumps(value)


def test_dumps_detects_cycles():
    cycle = []
    cycle.append(cycle)
    with pytest.raises(ValueError, match="Circular reference"):
        hotpath.dumps(cycle)
