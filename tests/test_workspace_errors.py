"""A broken card file or a corrupt saved pipeline is reported with its file, line and fix, and blocks nothing else.

Runs against local disk and a real S3 server on loopback (moto), like tests/test_workspace.py.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from test_workspace import make_source

import tensorrag as tr
from tensorrag.errors import ArgumentError, SpecError, StorageError, UnknownCardTypeError
from tensorrag.workspace import Project, Workspace


@pytest.fixture(params=["local", "s3"])
def ws(request: pytest.FixtureRequest, tmp_path: Any) -> Workspace:
    if request.param == "local":
        return Workspace(tmp_path / "root", user="alice")
    server = request.getfixturevalue("s3_server")
    request.getfixturevalue("aws_env")
    return Workspace(f"s3://{server['bucket']}/wse-{uuid.uuid4().hex[:10]}", user="alice", **server["options"])


def reopen(project: Project) -> Project:
    return Workspace(project.workspace.store, user=project.workspace.user).project(project.name)


class TestBrokenCardFiles:
    def test_a_syntax_error_is_the_nodes_problem_with_file_and_line(self, ws: Workspace) -> None:
        proj = ws.create_project("p")
        broken = make_source("broken").replace("def execute(self, config, inputs, storage):", "def execute(self, :")
        proj.store.write_bytes("cards/data/broken.py", broken.encode())  # written behind the project's back
        proj = reopen(proj)
        line = broken.split("\n").index("    def execute(self, :") + 1
        p = tr.Pipeline.from_dict({"nodes": [{"id": "n", "data": {"card_type": "broken"}}]}, project=proj)
        [problem] = p.problems()
        assert problem["node_id"] == "n"
        assert f"card file cards/data/broken.py of project 'p', which is not registered: line {line}: Syntax error" in (
            problem["message"]
        )
        assert "reload_cards()" in problem["message"]
        with pytest.raises(UnknownCardTypeError, match=f"cards/data/broken.py .*line {line}: Syntax error"):
            tr.Pipeline("q", project=proj).add("broken")

    def test_a_file_too_broken_to_name_its_type_is_listed(self, ws: Workspace) -> None:
        proj = ws.create_project("p")
        proj.store.write_bytes("cards/mess.py", b"class (:\n")
        proj = reopen(proj)
        p = tr.Pipeline.from_dict({"nodes": [{"id": "n", "data": {"card_type": "thing"}}]}, project=proj)
        message = p.problems()[0]["message"]
        assert message.startswith("Unknown card type 'thing'.")
        assert "failed to load and may define it: cards/mess.py: line 1: Syntax error" in message

    def test_a_bom_before_the_source(self, ws: Workspace) -> None:
        proj = ws.create_project("p")
        assert proj.write_card("make.py", "\ufeff" + make_source()).success
        assert not proj.store.read_bytes("cards/make.py").startswith(b"\xef\xbb\xbf")
        assert proj.write_card("other.py", ("\ufeff" + make_source("other")).encode("utf-8")).success
        p = tr.Pipeline("flow", project=reopen(proj))
        p.add("make", id="m")
        p.add("other", id="o")
        assert p.run(progress=False).ok

    def test_card_source_must_be_text(self, ws: Workspace) -> None:
        with pytest.raises(ArgumentError, match="Card source must be str or bytes; got int"):
            ws.create_project("p").write_card("x.py", 5)  # type: ignore[arg-type]


class TestCorruptSavedPipeline:
    @pytest.mark.parametrize(
        ("data", "error", "why"),
        [
            (b'{"nodes": [', StorageError, "is not valid JSON"),
            (b"\xff\xfe", StorageError, "is not valid UTF-8"),
            (b"[" * 50_000, StorageError, "nested too deeply"),
            (b"[1]", SpecError, "is malformed: A pipeline document must be a JSON object"),
            (b'{"nodes": [{"id": "a", "position": {"x": "left"}, "data": {"card_type": "t"}}]}', SpecError, "x must"),
        ],
    )
    def test_says_which_file_and_blocks_nothing_else(self, ws: Workspace, data: bytes, error: type, why: str) -> None:
        proj = ws.create_project("p")
        proj.write_card("make.py", make_source())
        proj.store.write_bytes("_pipeline.json", data)
        proj = reopen(proj)  # the project still opens
        with pytest.raises(error, match=why) as info:
            proj.load_pipeline()
        assert "_pipeline.json" in str(info.value) and "project.history()" in str(info.value)
        assert proj.cards == {"make": "make.py"}  # cards and runs still work
        p = tr.Pipeline("p", project=proj)
        p.add("make", id="m")
        assert p.run(progress=False).ok
        assert proj.load_pipeline() == p  # the run saved its graph over the corrupt file


def test_a_card_file_that_is_not_utf8_reads_as_a_typed_error(ws: Workspace) -> None:
    proj = ws.create_project("bytes")
    proj.store.write_bytes("cards/bad.py", b"card_type = '\xff\xfe'\n")  # written behind the validator's back
    with pytest.raises(tr.CardDefinitionError, match=r"'bad.py'.*line 1: File is not valid UTF-8.*write_card"):
        proj.read_card("bad.py")
