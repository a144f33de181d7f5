"""Config ``pattern``s from card files are evaluated with a bound: nothing that checks them can stall.

``^(a+)+$`` against 34 ``a``s and a ``!`` backtracks for hours in Python's ``re``; every path that
evaluates a user pattern (card validation, saving a card file, loading a project, adding a node)
must return at once, and a pattern that does run away is reported as a config error naming the
field and the pattern. The per-test timeout is the hang bound.
"""

from __future__ import annotations

import pytest

import tensorrag as tr
from tensorrag.cards.patterns import TIMEOUT_S, PatternTimeout, pattern_matches
from tensorrag.cards.schema import validate_config
from tensorrag.cards.validate import validate_card_source
from tensorrag.errors import CardConfigError

pytestmark = pytest.mark.timeout(30)

EVIL = "^(a+)+$"
EVIL_VALUE = "a" * 34 + "!"
# A pattern the regex engine itself cannot shortcut: it runs into the timeout.
RUNAWAY = "^(a|aa)+$"
RUNAWAY_VALUE = "a" * 40 + "!"

CARD = '''\
from tensorrag import BaseCard


class Coded(BaseCard):
    card_type = "coded"
    display_name = "Coded"
    description = "Echo a code"
    category = "data"
    execution_mode = "local"
    output_view_type = "metrics"
    config_schema = {{"code": {{"type": "string", "pattern": {pattern!r}, "default": {default!r}}}}}
    output_schema = {{"value": "json"}}

    def execute(self, config, inputs, storage):
        value = {{"code": config["code"]}}
        return {{"value": storage.save_json(config["_pipeline_id"], config["_node_id"], "value", value)}}
'''


def card_source(pattern: str = EVIL, default: str = EVIL_VALUE) -> str:
    return CARD.format(pattern=pattern, default=default)


def test_the_reproduction_returns_at_once_and_does_not_match():
    schema = {"type": "object", "properties": {"code": {"type": "string", "pattern": EVIL}}}
    _, problems = validate_config(schema, {"code": EVIL_VALUE})
    assert problems == [{"field": "code", "message": f"must match pattern {EVIL!r}; got {EVIL_VALUE!r}"}]


def test_a_runaway_match_is_a_config_error_naming_field_and_pattern():
    with pytest.raises(PatternTimeout, match=r"took more than"):
        pattern_matches(RUNAWAY, RUNAWAY_VALUE)
    schema = {"type": "object", "properties": {"code": {"type": "string", "pattern": RUNAWAY}}}
    _, problems = validate_config(schema, {"code": RUNAWAY_VALUE})
    assert len(problems) == 1 and problems[0]["field"] == "code"
    assert RUNAWAY in problems[0]["message"] and f"{TIMEOUT_S:g} s" in problems[0]["message"]


def test_an_invalid_pattern_at_match_time_is_a_problem_not_a_crash():
    schema = {"type": "object", "properties": {"code": {"type": "string", "pattern": "("}}}
    _, problems = validate_config(schema, {"code": "x"})
    assert problems[0]["field"] == "code" and "not a valid regular expression" in problems[0]["message"]


@pytest.mark.parametrize(("pattern", "value"), [(EVIL, EVIL_VALUE), (RUNAWAY, RUNAWAY_VALUE)], ids=["evil", "runaway"])
def test_validate_card_source_reports_the_default(pattern, value):
    result = validate_card_source(card_source(pattern, value))
    assert not result.success
    assert any("code" in e.message and pattern in e.message for e in result.errors), result.errors


def test_write_card_refuses_it_and_project_load_skips_it(tmp_path):
    proj = tr.Workspace(tmp_path, user="u").create_project("pat")
    result = proj.write_card("coded.py", card_source())
    assert not result.success and "cards/coded.py" not in proj.card_files()
    # a file that reached storage another way: loading the project reports it instead of hanging
    proj.store.write_bytes("cards/coded.py", card_source().encode())
    again = tr.Workspace(tmp_path, user="u").project("pat")
    assert "coded" not in again.cards


def test_adding_a_node_with_the_value_is_a_config_error(tmp_path):
    proj = tr.Workspace(tmp_path, user="u").create_project("pat2")
    assert proj.write_card("coded.py", card_source(default="aaa")).success
    p = proj.pipeline()
    with pytest.raises(CardConfigError, match=r"node 'c'.*code: must match pattern"):
        p.add("coded", id="c", code=EVIL_VALUE)
    p.add("coded", id="c", code="aaa")
    p.validate()
