"""Card files of a project: a size limit with a typed error, one decoder, and one parse per file (issue 8 §5)."""

from __future__ import annotations

import ast
from typing import Any

import pytest

import tensorrag as tr
from tensorrag.cards.validate import decode_card_source, validate_card_file, validate_card_source
from tensorrag.errors import CardDefinitionError, CardFileTooLargeError
from tensorrag.workspace import Workspace, card_class_from_source
from tests.test_workspace import ADD_ONE, fresh, make_source

LIMIT = 4096


@pytest.fixture
def small_limit(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setenv("TENSORRAG_MAX_CARD_BYTES", str(LIMIT))
    return LIMIT


def padded(source: str, size: int) -> str:
    """``source`` with a trailing comment that makes it ``size`` bytes long."""
    return source + "#" * (size - len(source.encode()) - 1) + "\n"


@pytest.fixture
def proj(tmp_path: Any) -> tr.Project:
    return Workspace(tmp_path / "root", user="alice").create_project("p")


class TestSizeLimit:
    def test_default_is_one_mebibyte(self) -> None:
        assert tr.config.get_settings().max_card_bytes == 1_048_576

    def test_validator_refuses_a_large_source_with_a_typed_error(self, small_limit: int) -> None:
        assert validate_card_source(padded(make_source(), LIMIT)).success  # at the limit: fine
        with pytest.raises(CardFileTooLargeError) as info:
            validate_card_source(padded(make_source(), LIMIT + 1), filename="big.py")
        err = info.value
        assert isinstance(err, CardDefinitionError) and isinstance(err, tr.TensorragError)
        assert (err.path, err.size, err.limit) == ("big.py", LIMIT + 1, LIMIT)
        assert "'big.py' is 4,097 bytes" in str(err) and "at most 4,096" in str(err)
        assert "TENSORRAG_MAX_CARD_BYTES" in str(err)

    def test_size_counts_utf8_bytes(self, small_limit: int) -> None:
        source = make_source() + "# " + "é" * (LIMIT // 2) + "\n"  # fewer characters than the limit
        assert len(source) < LIMIT
        with pytest.raises(CardFileTooLargeError):
            validate_card_source(source)

    def test_validate_card_file_checks_the_size_before_reading(self, small_limit: int, tmp_path: Any) -> None:
        path = tmp_path / "big.py"
        path.write_text(padded(make_source(), LIMIT * 10))
        with pytest.raises(CardFileTooLargeError, match=r"big\.py"):
            validate_card_file(path)

    def test_write_card_refuses_and_saves_nothing(self, small_limit: int, proj: tr.Project) -> None:
        big = padded(make_source(), LIMIT + 100)
        with pytest.raises(CardFileTooLargeError):
            proj.write_card("big.py", big)
        with pytest.raises(CardFileTooLargeError):
            proj.write_card("big.py", big.encode())
        assert proj.card_files() == [] and proj.cards == {}

    def test_project_load_lists_a_large_file_as_an_error_and_loads_the_rest(
        self, small_limit: int, proj: tr.Project
    ) -> None:
        proj.write_card("add.py", ADD_ONE)
        proj.store.write_bytes("cards/big.py", padded(make_source(), LIMIT + 1).encode())  # behind its back
        again = fresh(proj)
        assert again.cards == {"add_one": "add.py"}
        (issue,) = again.card_errors["big.py"].errors
        assert "card files may be at most 4,096 bytes" in issue.message


class TestDecoding:
    def test_one_decoder_for_every_path(self, proj: tr.Project) -> None:
        assert decode_card_source(b"\xef\xbb\xbfx = 1\n") == "x = 1\n"  # a BOM is dropped
        bad = decode_card_source(b"# ok\n\xff", "bad.py")
        assert not isinstance(bad, str)
        (issue,) = bad.errors
        assert (issue.line, issue.message) == (2, "File is not valid UTF-8: invalid start byte at byte 5")
        written = proj.write_card("bad.py", b"# ok\n\xff")
        assert written.errors == bad.errors
        proj.store.write_bytes("cards/bad.py", b"# ok\n\xff")
        assert fresh(proj).card_errors["bad.py"].errors == bad.errors  # the load says "at byte N" too


class TestParsedOnce:
    @pytest.fixture
    def parses(self, monkeypatch: pytest.MonkeyPatch) -> list[str]:
        calls: list[str] = []
        real = ast.parse

        def counting(source: Any, *args: Any, **kwargs: Any) -> ast.AST:
            calls.append(str(kwargs.get("filename", args[0] if args else "<unknown>")))
            return real(source, *args, **kwargs)

        monkeypatch.setattr(ast, "parse", counting)
        return calls

    def test_load_parses_each_file_once(self, proj: tr.Project, parses: list[str]) -> None:
        proj.store.write_bytes("cards/make.py", make_source().encode())
        proj.store.write_bytes("cards/add.py", ADD_ONE.encode())
        proj.store.write_bytes("cards/dup.py", make_source().encode())  # a duplicate card type: rejected
        parses.clear()
        again = fresh(proj)
        assert set(again.cards) == {"add_one", "make"} and len(again.card_errors) == 1
        assert sorted(parses) == ["add.py", "dup.py", "make.py"]

    def test_write_parses_once(self, proj: tr.Project, parses: list[str]) -> None:
        assert proj.write_card("make.py", make_source()).success
        assert parses == ["make.py"]

    def test_the_result_carries_what_the_parse_read(self) -> None:
        result = validate_card_source(make_source(), filename="make.py")
        assert result.literals == {"resources": {"timeout": 120}, "__doc__": "Emit a number."}
        assert result.line_of("card_type") == 7 and result.lines["class"] == 4
        cls = card_class_from_source(make_source(), "make.py")
        assert cls.resources == {"timeout": 120} and cls.__doc__ == "Emit a number."
