from __future__ import annotations

import pytest

from tensorrag.errors import StorageError, UnsafePathError
from tensorrag.storage import safe_name, safe_relpath
from tensorrag.storage.paths import MAX_CARD_DEPTH, MAX_CARD_PATH, check_card_folder, check_card_path

# Rejected both as a name and as a relative path.
MALICIOUS = [
    "..",
    ".",
    "../x",
    "../../etc/passwd",
    "/etc/passwd",
    "/",
    "a/../../b",
    "a/./b",
    "a\\b",
    "..\\..\\windows",
    "C:\\x",
    "C:/x",
    "c:",
    "s3://bucket/x",
    "file:///etc/passwd",
    "a\x00b",
    "\x00",
    "a\nb",
    "a\rb",
    "a\tb",
    "\x1b[31mred",
    "a\x7f",
    "~root",
    "~/x",
    "x" * 2000,
    "",
    "a//b",
    "//server/share",
    " lead",
    "trail ",
    "trail.",
    ".hidden",
    "-rf",
    "a/b/",
    "ünïcode",
    "a|b",
    "a*b",
    "a:b",
    "$HOME",
    "a;rm -rf",
]


@pytest.mark.parametrize("bad", MALICIOUS, ids=repr)
def test_malicious_names_rejected(bad: str) -> None:
    with pytest.raises(UnsafePathError) as info:
        safe_name(bad, "project")
    assert isinstance(info.value, ValueError) and isinstance(info.value, StorageError)
    message = str(info.value)
    assert "project" in message
    assert repr(bad[:60]) in message  # the value is shown (repr makes NUL/newlines visible)


MALICIOUS_PATHS = [m for m in MALICIOUS if m not in ("-rf", "a/b/", "a/./b", "a//b")] + [
    "a//b",
    "a/./b",
    "a/../b",
    "a/b/..",
    "a/" + "x" * 300,
    "/".join(["abc"] * 300),
    "a/ b",
    "a/.git/config",
    "a/b\\c",
    "a/~b",
    "a/b\x00.json",
    "http://x",
]


@pytest.mark.parametrize("bad", MALICIOUS_PATHS, ids=repr)
def test_malicious_paths_rejected(bad: str) -> None:
    with pytest.raises(UnsafePathError) as info:
        safe_relpath(bad, "card path")
    assert "card path" in str(info.value)


@pytest.mark.parametrize(
    "good",
    ["default", "my project", "Project-2", "run.v2", "20261126T031500Z-ab12cd", "a" * 128, "0", "a.b-c_d e"],
)
def test_good_names_accepted(good: str) -> None:
    assert safe_name(good) == good


@pytest.mark.parametrize(
    ("good", "normalised"),
    [
        ("a", "a"),
        ("_history/2026.json", "_history/2026.json"),
        ("artifacts/abc123/model.joblib", "artifacts/abc123/model.joblib"),
        ("cards/my cards/x.py", "cards/my cards/x.py"),
        ("runs/", "runs"),
        ("a/b.tar.gz", "a/b.tar.gz"),
        ("/".join(["ab"] * 300), "/".join(["ab"] * 300)),
    ],
)
def test_good_paths_accepted(good: str, normalised: str) -> None:
    assert safe_relpath(good) == normalised


def test_name_length_limit_is_128() -> None:
    assert safe_name("a" * 128)
    with pytest.raises(UnsafePathError, match="129 characters"):
        safe_name("a" * 129)


def test_path_length_limit_is_1024() -> None:
    ok = "/".join(["abcd"] * 204) + "/xyz4"
    assert len(ok) == 1024
    assert safe_relpath(ok) == ok
    with pytest.raises(UnsafePathError, match="1025 characters, at most 1024"):
        safe_relpath(ok + "5")


def test_underscore_only_allowed_in_paths() -> None:
    assert safe_relpath("_meta.json") == "_meta.json"
    with pytest.raises(UnsafePathError, match="start with a letter or digit"):
        safe_name("_meta")


@pytest.mark.parametrize("value", [None, 3, b"abc", ["a"]])
def test_non_strings_rejected(value: object) -> None:
    with pytest.raises(UnsafePathError, match="must be a string"):
        safe_name(value)  # type: ignore[arg-type]
    with pytest.raises(UnsafePathError, match="must be a string"):
        safe_relpath(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("../x", "'..' segments"),
        ("/etc", "absolute"),
        ("s3://b/x", "URLs are not allowed"),
        ("C:/x", "drive letters"),
        ("~root", "'~'"),
        ("a//b", "empty segments"),
        ("a\x00b", "NUL"),
        ("a\nb", "control character"),
        ("a\\b", "'\\\\'"),
    ],
)
def test_messages_say_why(bad: str, reason: str) -> None:
    with pytest.raises(UnsafePathError) as info:
        safe_relpath(bad)
    assert reason in str(info.value)


class TestCardPaths:
    """Card file and folder paths (relative to a project's ``cards/``) are checked in storage, before any I/O."""

    def test_card_path_is_a_normalised_py_file(self) -> None:
        assert check_card_path("data/load_images.py") == "data/load_images.py"
        for bad, reason in [("notes.txt", "must name a .py file"), ("lib/", "must name a .py file")]:
            with pytest.raises(UnsafePathError, match=reason):
                check_card_path(bad)

    def test_card_path_limits(self) -> None:
        with pytest.raises(UnsafePathError, match=f"at most {MAX_CARD_PATH} allowed"):
            check_card_path("a" * MAX_CARD_PATH + ".py")
        deep = "/".join(["d"] * MAX_CARD_DEPTH) + "/x.py"
        with pytest.raises(UnsafePathError, match=f"{MAX_CARD_DEPTH + 1} levels deep; at most {MAX_CARD_DEPTH}"):
            check_card_path(deep)

    @pytest.mark.parametrize("bad", MALICIOUS[:12])
    def test_card_path_and_folder_reject_escapes(self, bad: str) -> None:
        with pytest.raises(UnsafePathError):
            check_card_path(bad + ".py")
        with pytest.raises(UnsafePathError):
            check_card_folder(bad)

    def test_card_folder(self) -> None:
        assert check_card_folder("lib/") == "lib"
        with pytest.raises(UnsafePathError, match="A card folder must be a string"):
            check_card_folder(3)  # type: ignore[arg-type]
        with pytest.raises(UnsafePathError, match=f"at most {MAX_CARD_PATH} allowed"):
            check_card_folder("a" * (MAX_CARD_PATH + 1))
