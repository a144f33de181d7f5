from __future__ import annotations

import builtins
import re

import pytest

from tensorrag import errors
from tensorrag.errors import (
    CardConfigError,
    CardError,
    PipelineValidationError,
    RemoteCardError,
    TensorragError,
    UnknownCardTypeError,
    UnknownNodeError,
)

_LINE = re.compile(r"^(?P<indent>[ │]*)(?P<branch>[├└]── )?(?P<name>[A-Z]\w+Error)\b(?P<rest>.*)$")


def _tree() -> list[tuple[str, str | None, str | None]]:
    """(class, parent, builtin base) for every line of the tree drawn in the errors docstring."""
    rows: list[tuple[str, str | None, str | None]] = []
    stack: list[tuple[int, str]] = []
    for line in (errors.__doc__ or "").splitlines():
        m = _LINE.match(line)
        if not m:
            continue
        depth = len(m["indent"]) + (4 if m["branch"] else 0)
        while stack and stack[-1][0] >= depth:
            stack.pop()
        parent = stack[-1][1] if stack else None
        base = re.search(r"\((\w+)\)\s*$", m["rest"])
        rows.append((m["name"], parent, base[1] if base else None))
        stack.append((depth, m["name"]))
    return rows


TREE = _tree()


class TestHierarchy:
    def test_tree_in_docstring_lists_every_exported_error(self):
        assert TREE[0] == ("TensorragError", None, None)
        assert all(parent for _, parent, _ in TREE[1:])
        assert ("MissingOutputError", "CardExecutionError", None) in TREE
        assert ("UnknownCardTypeError", "RegistryError", "KeyError") in TREE
        assert sorted(name for name, _, _ in TREE) == sorted(errors.__all__)

    @pytest.mark.parametrize(("name", "parent", "base"), TREE, ids=[row[0] for row in TREE])
    def test_class_matches_tree(self, name, parent, base):
        cls = getattr(errors, name)
        assert issubclass(cls, TensorragError)
        assert issubclass(cls, Exception)
        if parent is not None:
            assert issubclass(cls, getattr(errors, parent)), f"{name} should derive from {parent}"
        if base is not None:
            assert issubclass(cls, getattr(builtins, base)), f"{name} should derive from {base}"

    def test_builtin_bases_spelled_out(self):
        expected = {
            "ConfigError": ValueError,
            "SpecError": ValueError,
            "UnknownCardTypeError": KeyError,
            "CardDefinitionError": TypeError,
            "CardConfigError": ValueError,
            "WiringError": ValueError,
            "DuplicateNodeError": ValueError,
            "UnknownNodeError": KeyError,
            "ArtifactNotFoundError": FileNotFoundError,
            "UnsafePathError": ValueError,
            "StorageUnavailableError": ConnectionError,
            "StoragePermissionError": PermissionError,
            "StorageFullError": OSError,
            "TaskTimeoutError": TimeoutError,
            "UnauthorizedError": PermissionError,
            "SweepError": ValueError,
            "UnknownSweepFieldError": KeyError,
        }
        parsed = {name: base for name, _, base in TREE if base}
        assert {k: getattr(builtins, v) for k, v in parsed.items()} == expected
        for name, base in expected.items():
            assert issubclass(getattr(errors, name), base)

    def test_errors_without_builtin_base_are_not_valueerrors(self):
        for name in ("RegistryError", "PipelineValidationError", "MissingOutputError", "NodeFailedError"):
            assert not issubclass(getattr(errors, name), (ValueError, KeyError))

    def test_except_keyerror_catches_unknown_card_type(self):
        with pytest.raises(KeyError):
            raise UnknownCardTypeError("nope", ["data_load"])


class TestUnknownCardTypeError:
    def test_did_you_mean(self):
        err = UnknownCardTypeError("data_lod", ["data_load", "train", "evaluate"])
        assert err.card_type == "data_lod"
        assert "Did you mean 'data_load'?" in str(err)
        assert "Unknown card type 'data_lod'." in str(err)

    def test_lists_available_when_nothing_is_close(self):
        err = UnknownCardTypeError("zzz", ["train", "evaluate"])
        assert "Did you mean" not in str(err)
        assert "Available: evaluate, train." in str(err)
        assert err.available == ["evaluate", "train"]

    def test_str_is_not_repr_quoted(self):
        # KeyError.__str__ would wrap the message in quotes
        assert str(UnknownCardTypeError("x", [])).startswith("Unknown card type")

    def test_match_in_raises(self):
        with pytest.raises(UnknownCardTypeError, match=r"Did you mean 'evaluate'\?"):
            raise UnknownCardTypeError("evaluat", ["evaluate"])


class TestUnknownNodeError:
    def test_did_you_mean(self):
        err = UnknownNodeError("laod", ["load", "split"])
        assert err.node_id == "laod"
        assert str(err) == "No node with id 'laod'. Did you mean 'load'?"

    def test_no_suggestion(self):
        assert str(UnknownNodeError("q", ["load"])) == "No node with id 'q'."


class TestPipelineValidationError:
    def test_lists_every_problem(self):
        problems = [
            {"node_id": "a", "message": "Unknown card type 'x'."},
            {"node_id": "b", "field": "rows", "message": "must be >= 1"},
            {"node_id": None, "message": "cycle"},
        ]
        err = PipelineValidationError(problems, "demo")
        text = str(err)
        assert err.problems is problems
        assert text.splitlines()[0] == "Pipeline 'demo' is invalid (3 problems):"
        assert "  - [a] Unknown card type 'x'." in text
        assert "  - [b.rows] must be >= 1" in text
        assert "  - [pipeline] cycle" in text

    def test_singular(self):
        err = PipelineValidationError([{"node_id": "a", "message": "m"}])
        assert str(err).startswith("Pipeline is invalid (1 problem):")


class TestOtherErrors:
    def test_card_error_carries_node_and_type(self):
        err = CardConfigError("bad", node_id="n", card_type="t", problems=[{"field": "f", "message": "m"}])
        assert isinstance(err, CardError)
        assert (err.node_id, err.card_type) == ("n", "t")
        assert err.problems == [{"field": "f", "message": "m"}]
        assert CardConfigError("bad").problems == []

    def test_remote_card_error(self):
        err = RemoteCardError("ValueError", "boom", "Traceback ...")
        assert str(err) == "ValueError: boom"
        assert err.remote_type == "ValueError"
        assert err.remote_traceback == "Traceback ..."
