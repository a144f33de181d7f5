from __future__ import annotations

import json
import uuid

import pandas as pd  # noqa: TC002 -- @card resolves annotations at runtime
import pytest

import tensorrag as tr
from tensorrag.cards.catalog import list_cards, register
from tensorrag.errors import CardDefinitionError, RegistryError
from tensorrag.registry import Registry, card_registry

BUILTINS = ["data_load", "data_split", "model_define", "train", "evaluate", "inference"]
SCHEMA_KEYS = {
    "card_type",
    "display_name",
    "description",
    "category",
    "execution_mode",
    "config_schema",
    "input_schema",
    "output_schema",
    "output_view_type",
}


def _card_class(card_type: str, category: str = "data") -> type[tr.BaseCard]:
    class Custom(tr.BaseCard):
        input_schema = {"dataset": "dataframe"}
        output_schema = {"dataset": "dataframe"}

        def execute(self, config, inputs, storage):
            return {"dataset": inputs["dataset"]}

    Custom.card_type = card_type
    Custom.category = category
    return Custom


@pytest.fixture
def global_card():
    """A card registered on the global registry for the test only."""
    card_type = f"catalog_{uuid.uuid4().hex[:8]}"
    yield card_type
    card_registry.unregister(card_type)


class TestBuiltins:
    def test_every_builtin_listed_with_card_schema_keys(self):
        cards = {c["card_type"]: c for c in list_cards()}
        assert set(BUILTINS) <= set(cards)
        for name in BUILTINS:
            schema = cards[name]
            assert set(schema) == SCHEMA_KEYS, name
            for key in ("card_type", "display_name", "description", "category", "execution_mode", "output_view_type"):
                assert isinstance(schema[key], str) and schema[key], (name, key)
            for key in ("config_schema", "input_schema", "output_schema"):
                assert isinstance(schema[key], dict), (name, key)
            assert schema["execution_mode"] in ("local", "modal")
            json.dumps(schema)  # the JSON of GET /api/cards

    def test_sorted_by_category_then_type(self):
        cards = list_cards()
        keys = [(c["category"], c["card_type"]) for c in cards]
        assert keys == sorted(keys)

    def test_builtin_ports(self):
        cards = {c["card_type"]: c for c in list_cards()}
        assert cards["data_load"]["input_schema"] == {}
        assert cards["data_load"]["output_schema"] == {"dataset": "dataframe"}
        assert cards["data_split"]["input_schema"] == {"dataset": "dataframe"}
        assert set(cards["data_split"]["output_schema"]) == {"train_dataset", "test_dataset"}
        assert cards["model_define"]["output_schema"] == {"model_spec": "json"}
        assert cards["train"]["input_schema"] == {"train_dataset": "dataframe", "model_spec": "json"}
        assert cards["evaluate"]["input_schema"] == {"trained_model": "model", "test_dataset": "dataframe"}
        assert cards["inference"]["output_schema"] == {"predictions": "dataframe"}

    def test_card_with_missing_dependency_does_not_break_the_list(self):
        reg = card_registry.child()
        reg.register("needs_torch", "tr_missing_module_for_catalog:Card", hint="pip install 'tensorrag[torch]'")
        names = [c["card_type"] for c in list_cards(reg)]
        assert set(BUILTINS) <= set(names)

    def test_public_alias(self):
        assert tr.list_cards is list_cards
        assert tr.register is register


class TestRegister:
    def test_register_class_on_a_registry(self):
        reg = Registry("card")
        cls = _card_class("alpha", category="zeta")
        assert register(cls, registry=reg) is cls
        assert reg.get("alpha") is cls
        assert list_cards(reg) == [cls.to_schema()]

    def test_list_sorted_in_custom_registry(self):
        reg = Registry("card")
        for card_type, category in [("b", "model"), ("a", "model"), ("z", "data")]:
            register(_card_class(card_type, category), registry=reg)
        assert [c["card_type"] for c in list_cards(reg)] == ["z", "a", "b"]

    def test_register_card_function(self):
        @tr.card(category="inference")
        def predict_all(df: pd.DataFrame) -> pd.DataFrame:
            return df

        reg = Registry("card")
        cls = register(predict_all, registry=reg)
        assert cls is predict_all.card_class
        assert list_cards(reg)[0]["card_type"] == "predict_all"
        assert list_cards(reg)[0]["category"] == "inference"

    def test_register_globally_visible_to_pipelines(self, global_card):
        cls = _card_class(global_card)
        tr.register(cls)
        assert global_card in [c["card_type"] for c in tr.list_cards()]
        p = tr.Pipeline("uses-global")
        node = p.add(global_card)
        assert node.card is cls

    def test_clobber(self):
        reg = Registry("card")
        register(_card_class("dup"), registry=reg)
        other = _card_class("dup")
        with pytest.raises(RegistryError, match="'dup' is already registered"):
            register(other, registry=reg)
        register(other, registry=reg, clobber=True)
        assert reg.get("dup") is other

    def test_register_same_class_twice(self):
        reg = Registry("card")
        cls = _card_class("twice")
        register(cls, registry=reg)
        register(cls, registry=reg)
        assert reg.own_names() == ["twice"]

    def test_rejects_non_cards(self):
        with pytest.raises(CardDefinitionError, match=r"Expected a BaseCard subclass, an @tensorrag\.card function"):
            register(object, registry=Registry("card"))

    def test_rejects_broken_class(self):
        class NoExecute(tr.BaseCard):
            card_type = "no_execute"

        with pytest.raises(CardDefinitionError, match=r"must implement execute\(config, inputs, storage\)"):
            register(NoExecute, registry=Registry("card"))

    @pytest.mark.parametrize(
        ("attrs", "pattern"),
        [
            ({"card_type": "bad-type"}, "needs a card_type that is a Python identifier"),
            ({"card_type": "class"}, "needs a card_type that is a Python identifier"),
            ({"execution_mode": "gpu"}, "execution_mode must be one of local, modal"),
            ({"input_schema": {"x": 1}}, "input_schema must map port names to type strings"),
            ({"output_schema": ["a"]}, "output_schema must map port names to type strings"),
            ({"config_schema": [1]}, "config_schema must be a dict"),
            ({"resources": "gpu"}, "resources must be a dict"),
            ({"resources": {"timeout": "soon"}}, "resources.timeout must be a positive number of seconds"),
            ({"input_schema": {"dataset": "datafrme"}}, "has type 'datafrme'; did you mean 'dataframe'\\? Known types"),
            ({"output_schema": {"out": "JSON"}}, "has type 'JSON'; did you mean 'json'"),
            ({"config_schema": {"n": {"type": "number", "minimum": "0"}}}, 'invalid config_schema: .*"minimum"'),
            ({"config_schema": {"type": "object", "properties": {"n": {"enum": 3}}}}, '"enum" must be a list'),
            ({"config_schema": {"n": {"type": "number", "default": float("nan")}}}, "is nan, which is not a JSON"),
        ],
    )
    def test_contract_checks(self, attrs, pattern):
        cls = _card_class("checked")
        for key, value in attrs.items():
            setattr(cls, key, value)
        with pytest.raises(CardDefinitionError, match=pattern):
            register(cls, registry=Registry("card"))


class TestToSchemaDefaults:
    def test_display_name_and_description_fall_back(self):
        class MyCard(tr.BaseCard):
            """Docstring summary.

            Details.
            """

            card_type = "my_fancy_card"

            def execute(self, config, inputs, storage):
                return {}

        schema = MyCard.to_schema()
        assert schema["display_name"] == "My Fancy Card"
        assert schema["description"] == "Docstring summary."
        assert schema["config_schema"] == {}

    def test_to_schema_returns_a_copy(self):
        cls = _card_class("copied")
        cls.config_schema = {"type": "object", "properties": {"x": {"type": "integer"}}}
        schema = cls.to_schema()
        schema["config_schema"]["properties"]["x"]["type"] = "string"
        schema["input_schema"]["extra"] = "json"
        assert cls.config_schema == {"type": "object", "properties": {"x": {"type": "integer"}}}
        assert cls.input_schema == {"dataset": "dataframe"}

    def test_unknown_port_type_is_bytes(self):
        cls = _card_class("odd")
        cls.output_schema = {"blob": "tensor"}
        assert cls.outputs() == {"blob": "bytes"}
        assert cls.to_schema()["output_schema"] == {"blob": "tensor"}  # the declaration itself is kept
