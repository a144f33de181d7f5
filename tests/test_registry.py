from __future__ import annotations

import json
import sys
import types

import pytest

from tensorrag.errors import RegistryError, UnknownCardTypeError
from tensorrag.registry import Registry, card_registry, executor_registry


@pytest.fixture
def fake_module(monkeypatch):
    """A module that counts how often its attribute is imported."""
    name = "tr_test_lazy_plugin_mod"
    mod = types.ModuleType(name)
    mod.Plugin = type("Plugin", (), {})
    mod.ns = types.SimpleNamespace(Inner=type("Inner", (), {}))
    monkeypatch.setitem(sys.modules, name, mod)
    return mod


class TestLazyEntries:
    def test_string_resolves_on_first_get(self, fake_module):
        reg = Registry("card")
        reg.register("p", f"{fake_module.__name__}:Plugin")
        assert reg.view["p"] == f"{fake_module.__name__}:Plugin"  # not imported yet
        assert reg.get("p") is fake_module.Plugin
        assert reg.view["p"] is fake_module.Plugin  # cached after the first import

    def test_registering_a_string_does_not_import(self):
        mod = "tr_test_never_imported_module"
        reg = Registry("card")
        reg.register("x", f"{mod}:Thing")
        assert mod not in sys.modules
        assert "x" in reg
        assert reg.names() == ["x"]

    def test_dotted_attribute(self, fake_module):
        reg = Registry("executor")
        reg.register("inner", f"{fake_module.__name__}:ns.Inner")
        assert reg.get("inner") is fake_module.ns.Inner

    def test_module_without_attr(self):
        reg = Registry("card")
        reg.register("j", "json")
        assert reg.get("j") is json

    def test_missing_module_gives_install_hint(self):
        reg = Registry("card")
        reg.register("gpu_thing", "tr_no_such_module_xyz.sub:Card", hint="pip install 'tensorrag[torch]'")
        with pytest.raises(
            RegistryError,
            match=r"The card 'gpu_thing' needs 'tr_no_such_module_xyz', which is not installed\. "
            r"Install it with: pip install 'tensorrag\[torch\]'",
        ):
            reg.get("gpu_thing")
        assert reg.view["gpu_thing"] == "tr_no_such_module_xyz.sub:Card"  # still lazy, can retry later

    def test_missing_module_without_hint(self):
        reg = Registry("executor")
        reg.register("x", "tr_no_such_module_xyz:X")
        with pytest.raises(RegistryError, match=r"needs 'tr_no_such_module_xyz', which is not installed\.$"):
            reg.get("x")

    def test_missing_attribute(self, fake_module):
        reg = Registry("card")
        reg.register("x", f"{fake_module.__name__}:Nope")
        with pytest.raises(RegistryError, match=r"points to 'tr_test_lazy_plugin_mod:Nope', which does not exist"):
            reg.get("x")

    def test_items_imports(self, fake_module):
        reg = Registry("card")
        reg.register("b", f"{fake_module.__name__}:Plugin")
        reg.register("a", 1)
        assert list(reg.items()) == [("a", 1), ("b", fake_module.Plugin)]


class TestClobber:
    def test_other_object_needs_clobber(self):
        reg = Registry("card")
        reg.register("x", int)
        with pytest.raises(
            RegistryError, match=r"A card named 'x' is already registered \(builtins\.int\); pass clobber"
        ):
            reg.register("x", str)
        assert reg.get("x") is int
        reg.register("x", str, clobber=True)
        assert reg.get("x") is str

    def test_same_object_twice_is_fine(self):
        reg = Registry("card")
        reg.register("x", int)
        reg.register("x", int)
        reg.register("s", "json:dumps")
        reg.register("s", "json:dumps")
        assert reg.get("x") is int

    def test_other_string_needs_clobber(self):
        reg = Registry("card")
        reg.register("s", "json:dumps")
        with pytest.raises(RegistryError, match=r"already registered \(json:dumps\)"):
            reg.register("s", "json:loads")

    def test_same_string_after_resolution(self):
        reg = Registry("card")
        reg.register("s", "json:dumps")
        assert reg.get("s") is json.dumps
        reg.register("s", "json:dumps")  # same plugin: should be a no-op

    def test_unregister(self):
        reg = Registry("card")
        reg.register("x", int, hint="h")
        reg.unregister("x")
        reg.unregister("never-there")
        assert "x" not in reg


class TestLayers:
    def test_child_shadows_parent_without_touching_it(self):
        parent = Registry("card")
        parent.register("a", int)
        parent.register("b", float)
        child = parent.child()
        assert child.parent is parent
        child.register("a", str)  # no clobber needed: the parent is not changed
        assert child.get("a") is str
        assert child.get("b") is float
        assert parent.get("a") is int
        assert child.view["a"] is str
        assert dict(parent.view) == {"a": int, "b": float}

    def test_names_merge(self):
        parent = Registry("card")
        parent.register("a", int)
        parent.register("c", int)
        child = parent.child()
        child.register("b", int)
        child.register("a", str)
        assert child.names() == ["a", "b", "c"]
        assert child.own_names() == ["a", "b"]
        assert parent.names() == ["a", "c"]
        assert "c" in child and "b" not in parent

    def test_child_unregister_reveals_parent(self):
        parent = Registry("card")
        parent.register("a", int)
        child = parent.child()
        child.register("a", str)
        child.unregister("a")
        assert child.get("a") is int

    def test_child_resolves_parents_lazy_entry(self, fake_module):
        parent = Registry("card")
        parent.register("p", f"{fake_module.__name__}:Plugin")
        child = parent.child()
        assert child.get("p") is fake_module.Plugin
        assert parent.view["p"] is fake_module.Plugin

    def test_contains_rejects_non_strings(self):
        reg = Registry("card")
        reg.register("a", int)
        assert 1 not in reg
        assert None not in reg


class TestUnknown:
    def test_card_registry_did_you_mean(self):
        parent = Registry("card")
        parent.register("data_load", int)
        child = parent.child()
        child.register("train", int)
        with pytest.raises(
            UnknownCardTypeError, match=r"Unknown card type 'data_lod'\. Did you mean 'data_load'\?"
        ) as ei:
            child.get("data_lod")
        assert ei.value.available == ["data_load", "train"]
        assert isinstance(ei.value, KeyError)

    def test_other_kind_registry_error(self):
        reg = Registry("executor")
        reg.register("local", int)
        with pytest.raises(RegistryError, match=r"^Unknown executor 'modall'\. Available: local\.$") as ei:
            reg.get("modall")
        assert not isinstance(ei.value, UnknownCardTypeError)

    def test_empty_registry(self):
        with pytest.raises(RegistryError, match=r"Available: none\."):
            Registry("executor").get("x")


class TestView:
    def test_view_is_read_only(self):
        reg = Registry("card")
        reg.register("a", int)
        view = reg.view
        with pytest.raises(TypeError):
            view["b"] = str  # type: ignore[index]
        with pytest.raises(TypeError):
            del view["a"]  # type: ignore[attr-defined]

    def test_view_is_live(self):
        reg = Registry("card")
        view = reg.view
        reg.register("a", int)
        assert view["a"] is int


class TestGlobalRegistries:
    def test_builtin_cards_are_lazy_strings_or_classes(self):
        for name in ("data_load", "data_split", "model_define", "train", "evaluate", "inference"):
            assert name in card_registry
            entry = card_registry.view[name]
            assert isinstance(entry, (str, type))

    def test_kinds(self):
        assert card_registry.kind == "card"
        assert executor_registry.kind == "executor"
        assert card_registry.parent is None
