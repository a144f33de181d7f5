"""The cache never serves a stale or foreign result (issue 8 §1; design.md §7).

Each reproduction of the issue is one test here: outside data that changed, a helper that
changed, work abandoned by a timeout or a cancel, an artifact changed on disk, a card
redefined in a notebook before ``resume()``.
"""

from __future__ import annotations

import importlib
import json
import sys
import textwrap
import threading
import time
import types
import uuid

import fsspec
import pandas as pd
import pytest

import tensorrag as tr
from tensorrag.errors import ArtifactCorruptError, CacheTokenError, SpecError
from tensorrag.executors import LocalExecutor
from tensorrag.executors.runtime import commit_entry, run_task
from tensorrag.spec import Task
from tensorrag.storage import CardStorage, open_store
from tensorrag.storage.integrity import abandon
from tests.executors import cards as C
from tests.executors.cards import read_marks, settle


@pytest.fixture(autouse=True)
def _settle():
    yield
    settle()


def run_local(p: tr.Pipeline, storage, **kwargs) -> tr.Run:
    kwargs.setdefault("executor", LocalExecutor(max_workers=2))
    return p.run(storage=storage, **kwargs)


def join_card_threads(executor: LocalExecutor, before: set[threading.Thread], timeout: float = 10.0) -> None:
    """Stop the pool and wait until its tasks (abandoned ones too) returned; threads then park as spares."""
    executor.shutdown(wait=False)
    deadline = time.monotonic() + timeout
    while executor._running or executor._retired:  # abandoned: out of _running, in _retired until the card returns
        assert time.monotonic() < deadline, "a card thread did not end"
        time.sleep(0.01)


def write_module(tmp_path, name: str, source: str) -> types.ModuleType:
    """Import ``source`` as a real module file (so inspect.getsource works, as for a .py file)."""
    folder = tmp_path / "mods"
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.py").write_text(textwrap.dedent(source))
    sys.path.insert(0, str(folder))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(folder))


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


# --------------------------------------------------------------------------- outside data (cache tokens)


def test_rewritten_csv_is_read_again(tmp_path):
    data = tmp_path / "data.csv"
    data.write_text("x,y\n1,2\n")
    p = tr.Pipeline("csv")
    p.add("data_load", id="load", source="csv", path=str(data))
    first = run_local(p, tmp_path / "store")
    assert first.status == {"load": "completed"}
    assert first.output("load").to_dict("list") == {"x": [1], "y": [2]}
    assert run_local(p, tmp_path / "store").status == {"load": "cached"}  # unchanged file: cached
    data.write_text("x,y\n7,8\n9,10\n")
    again = run_local(p, tmp_path / "store")
    assert again.status == {"load": "completed"}
    assert again.output("load").to_dict("list") == {"x": [7, 9], "y": [8, 10]}


def test_rewritten_url_is_read_again(tmp_path):
    url = f"memory://{unique('src')}/data.csv"
    with fsspec.open(url, "w") as fh:
        fh.write("a\n1\n")
    p = tr.Pipeline("url")
    p.add("data_load", id="load", source="url", url=url)
    assert run_local(p, tmp_path).output("load")["a"].tolist() == [1]
    with fsspec.open(url, "w") as fh:
        fh.write("a\n5\n")
    again = run_local(p, tmp_path)
    assert again.status == {"load": "completed"}
    assert again.output("load")["a"].tolist() == [5]


def test_rewritten_s3_object_is_read_again(tmp_path, s3_server, aws_env):
    url = f"s3://{s3_server['bucket']}/{unique('cache')}/data.csv"
    fs = fsspec.filesystem("s3", **s3_server["options"])
    fs.pipe_file(url, b"a\n1\n")
    p = tr.Pipeline("s3src")
    p.add("data_load", id="load", source="url", url=url, storage_options=s3_server["options"])
    assert run_local(p, tmp_path).output("load")["a"].tolist() == [1]
    assert run_local(p, tmp_path).status == {"load": "cached"}
    fs.pipe_file(url, b"a\n2\n")
    again = run_local(p, tmp_path)
    assert again.status == {"load": "completed"}
    assert again.output("load")["a"].tolist() == [2]


def test_samples_stay_cached(tmp_path):
    p = tr.Pipeline("sample")
    p.add("data_load", id="load", source="sample", sample_name="iris")
    run_local(p, tmp_path)
    assert run_local(p, tmp_path).status == {"load": "cached"}


def test_file_the_orchestrator_cannot_see_runs_uncached(tmp_path):
    from tensorrag.cards.data.load import DataLoadCard

    card = DataLoadCard()
    assert card.cache_token({"source": "csv", "path": str(tmp_path / "missing.csv")}) is None
    assert card.cache_token({"source": "sample", "sample_name": "iris"}) == ""


def test_info_without_stable_metadata_gives_no_token():
    from tensorrag.cards.tokens import info_token

    assert info_token({"name": "x", "size": 10, "url": "https://h/x"}) is None  # an HTTP length only
    assert info_token({"size": 10, "ETag": '"abc"'}) == 'etag="abc";size=10'
    assert info_token({"size": 10, "Last-Modified": "Tue, 01 Jan 2030 00:00:00 GMT"}) is not None


def test_http_url_without_validators_is_never_cached(tmp_path):
    import http.server

    class Plain(http.server.BaseHTTPRequestHandler):
        body = b"a\n1\n"

        def do_HEAD(self):
            self.send_response(200)
            self.send_header("Content-Length", str(len(self.body)))
            self.end_headers()

        def do_GET(self):
            self.do_HEAD()
            self.wfile.write(self.body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Plain)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/data.csv"
        p = tr.Pipeline("http")
        p.add("data_load", id="load", source="url", url=url)
        first = run_local(p, tmp_path)
        assert first.status == {"load": "completed"}, first.error("load")
        assert run_local(p, tmp_path).status == {"load": "completed"}  # never cached, never committed
        assert first.manifest()["nodes"]["load"]["key"] is None
    finally:
        server.shutdown()
        server.server_close()


class TokenCard(tr.BaseCard):
    """Reads the file named in its config; its cache token is the file's content, for the test."""

    card_type = "t_token_card"
    config_schema = {"path": {"type": "string", "default": ""}, "mode": {"type": "string", "default": "content"}}
    output_schema = {"out": "json"}

    def execute(self, config, inputs, storage):
        with open(config["path"]) as fh:
            return {"out": storage.save_json("p", "n", "out", {"text": fh.read()})}

    def cache_token(self, config):
        if config["mode"] == "none":
            return None
        if config["mode"] == "raise":
            raise OSError("no such volume")
        if config["mode"] == "bad":
            return 42
        with open(config["path"]) as fh:
            return fh.read()


def test_cache_token_change_reruns_the_node(tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("one")
    p = tr.Pipeline("tok")
    p.add(TokenCard, id="t", path=str(src))
    assert run_local(p, tmp_path / "s").output("t") == {"text": "one"}
    assert run_local(p, tmp_path / "s").status == {"t": "cached"}
    src.write_text("two")
    again = run_local(p, tmp_path / "s")
    assert again.status == {"t": "completed"}
    assert again.output("t") == {"text": "two"}


def test_cache_token_none_always_runs_and_never_commits(tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("one")
    p = tr.Pipeline("tok-none")
    p.add(TokenCard, id="t", path=str(src), mode="none")
    p.add(C.t_double, id="after")
    p.connect("t", "out", "after", "data")
    first = run_local(p, tmp_path / "s")
    assert first.status["t"] == "completed"
    assert first.manifest()["nodes"]["t"]["key"] is None
    assert not [u for u in first.store.list("artifacts") if u.endswith("_meta.json") and "t_token" in u]
    assert run_local(p, tmp_path / "s").status["t"] == "completed"


@pytest.mark.parametrize("mode", ["raise", "bad"])
def test_cache_token_that_fails_fails_the_node_with_a_typed_error(tmp_path, mode):
    p = tr.Pipeline("tok-bad")
    p.add(TokenCard, id="t", path=str(tmp_path / "x"), mode=mode)
    p.add(C.t_double, id="after")
    p.connect("t", "out", "after", "data")
    run = run_local(p, tmp_path)
    assert run.status == {"t": "failed", "after": "skipped"}
    err = run.error("t")
    assert err["type"] == "CacheTokenError"
    assert "'t'" in err["message"] and "cache_token" in err["message"]
    assert issubclass(CacheTokenError, tr.CardExecutionError)


def test_function_card_cache_token_and_version(tmp_path):
    marks = tmp_path / "marks"
    state = {"token": "a"}

    def make(version):
        @tr.card(card_type="t_versioned", cache_token=lambda config: state["token"], version=version)
        def versioned(mark_file: str = "") -> dict:
            C.mark(mark_file, "ran")
            return {"v": 1}

        return versioned

    p = tr.Pipeline("ver")
    p.add(make(1), id="v", mark_file=str(marks))
    run_local(p, tmp_path)
    assert run_local(p, tmp_path).status == {"v": "cached"}
    state["token"] = "b"
    assert run_local(p, tmp_path).status == {"v": "completed"}
    p.register(make(2))
    assert run_local(p, tmp_path).status == {"v": "completed"}
    assert run_local(p, tmp_path).status == {"v": "cached"}
    assert len(read_marks(marks)) == 3


def test_cache_token_must_be_callable():
    with pytest.raises(tr.CardDefinitionError, match="cache_token must be a callable"):
        tr.card(cache_token="x")(lambda: None)


# --------------------------------------------------------------------------- per-node opt-out


def test_node_cache_false_always_runs(tmp_path):
    marks = tmp_path / "marks"
    p = tr.Pipeline("nocache")
    p.add(C.t_source, id="a", mark_file=str(marks), cache=False)
    p.add(C.t_double, id="b", mark_file=str(marks))
    p.connect("a", "b")
    first = run_local(p, tmp_path / "s")
    second = run_local(p, tmp_path / "s")
    assert first.status == {"a": "completed", "b": "completed"}
    assert second.status == {"a": "completed", "b": "cached"}  # same bytes from a: b is still a hit
    assert read_marks(marks) == ["t_source", "t_double", "t_source"]
    assert second.manifest()["nodes"]["a"]["key"] is None


def test_node_cache_flag_round_trips(tmp_path):
    p = tr.Pipeline("rt")
    p.add(C.t_source, id="a", cache=False)
    p.add(C.t_source, id="b")
    doc = p.to_dict()
    assert doc["nodes"][0]["data"]["cache"] is False
    assert "cache" not in doc["nodes"][1]["data"]  # older readers see the same document as before
    back = tr.Pipeline.from_dict(doc, registry=p.registry)
    assert back.node("a").cache is False and back.node("b").cache is True
    assert back.to_dict() == doc
    assert "cache=False" in p.to_python()
    p.set_cache("a", True)
    assert "cache" not in p.to_dict()["nodes"][0]["data"]
    with pytest.raises(SpecError, match=r"nodes\[0\]\.data\.cache"):
        bad = json.loads(json.dumps(doc))
        bad["nodes"][0]["data"]["cache"] = "no"
        tr.Pipeline.from_dict(bad, registry=p.registry)
    with pytest.raises(tr.ConfigError):
        p.add(C.t_source, id="c", cache="no")


# --------------------------------------------------------------------------- helpers of the card's code


HELPER_MODULE = """
    import tensorrag as tr

    def scale(v):
        return v * 2

    @tr.card(card_type="{ctype}")
    def scaled(n: int = 3) -> dict:
        return {{"values": [scale(i) for i in range(n)]}}

    class Scaler:
        def apply(self, v):
            return v + 1

    class ScaleCard(tr.BaseCard):
        card_type = "{ctype}_cls"
        output_schema = {{"out": "json"}}

        def execute(self, config, inputs, storage):
            return {{"out": storage.save_json("p", "n", "out", {{"v": Scaler().apply(1)}})}}
"""


def test_changed_same_module_helper_reruns_a_function_card(tmp_path):
    ctype = unique("t_helper")
    mod = write_module(tmp_path, ctype, HELPER_MODULE.format(ctype=ctype))
    p = tr.Pipeline("helper")
    p.add(mod.scaled, id="s")
    assert run_local(p, tmp_path / "s").output("s") == {"values": [0, 2, 4]}
    assert run_local(p, tmp_path / "s").status == {"s": "cached"}
    exec("def scale(v):\n    return v * 10\n", mod.__dict__)  # a notebook cell redefining the helper
    again = run_local(p, tmp_path / "s")
    assert again.status == {"s": "completed"}
    assert again.output("s") == {"values": [0, 10, 20]}


def test_changed_same_module_class_reruns_a_base_card(tmp_path):
    ctype = unique("t_helper")
    mod = write_module(tmp_path, ctype, HELPER_MODULE.format(ctype=ctype))
    p = tr.Pipeline("helper-cls")
    p.add(mod.ScaleCard, id="c")
    assert run_local(p, tmp_path / "s").output("c") == {"v": 2}
    exec("class Scaler:\n    def apply(self, v):\n        return v + 100\n", mod.__dict__)
    again = run_local(p, tmp_path / "s")
    assert again.status == {"c": "completed"}
    assert again.output("c") == {"v": 101}


def test_fingerprint_is_stable_and_follows_module_constants(tmp_path):
    ctype = unique("t_const")
    mod = write_module(
        tmp_path,
        ctype,
        f"""
        import tensorrag as tr
        FACTOR = 3

        @tr.card(card_type="{ctype}")
        def f(n: int = 1) -> dict:
            return {{"v": n * FACTOR}}
        """,
    )
    cls = mod.f.card_class
    before = cls.fingerprint()
    assert cls.fingerprint() == before
    mod.FACTOR = 4
    assert cls.fingerprint() != before
    # pandas and other modules' code are not followed (docs/cache.md says so)
    assert "pandas" not in cls._code_identity()


# --------------------------------------------------------------------------- abandoned attempts


def test_timed_out_thread_never_commits(tmp_path):
    marks = tmp_path / "marks"
    p = tr.Pipeline("timeout")
    p.add(C.t_sleep, id="slow", seconds=1.5, mark_file=str(marks), resources={"timeout": 0.5})
    exe = LocalExecutor(max_workers=2)
    before = set(threading.enumerate())
    first = p.run(storage=tmp_path / "s", executor=exe)
    assert first.status == {"slow": "failed"}
    assert first.error("slow")["type"] == "TaskTimeoutError"
    join_card_threads(exe, before)  # the abandoned thread finished its card (and, on main, committed it)
    assert read_marks(marks) == ["start ", "end "]
    second = run_local(p, tmp_path / "s")
    assert second.status == {"slow": "failed"}  # not "cached": the abandoned result was never committed


def test_cancelled_thread_never_commits(tmp_path):
    marks = tmp_path / "marks"
    p = tr.Pipeline("cancelled")
    p.add(C.t_sleep, id="slow", seconds=5.0, mark_file=str(marks))
    exe = LocalExecutor(max_workers=2)
    before = set(threading.enumerate())
    run = p.run(storage=tmp_path / "s", executor=exe, wait=False)
    deadline = time.monotonic() + 10
    while read_marks(marks) != ["start "] and time.monotonic() < deadline:
        time.sleep(0.01)
    run.cancel().wait(10)
    assert run.status == {"slow": "failed"}
    C.RELEASE.set()  # the abandoned card returns now
    join_card_threads(exe, before)
    assert read_marks(marks) == ["start ", "end "]
    again = run_local(p, tmp_path / "s")
    assert again.status == {"slow": "completed"}  # recomputed (RELEASE keeps it short), not served


def _task(store, key: str, attempt: str) -> Task:
    return Task(
        run_id="r1",
        node_id="n",
        card={"card_type": "t_source"},
        config={"n": 2},
        inputs={},
        key=attempt,
        cache_key=key,
        card_class=C.t_source.card_class,
        store=store,
    )


def test_commit_after_abandon_is_skipped(tmp_path):
    store = open_store(tmp_path)
    abandon(store, "k1-a")
    result = run_task(_task(store, "k1", "k1-a"))
    assert result.error is None and not result.committed
    assert store.read_entry("k1") is None


def test_commit_racing_an_abandon_is_never_served(tmp_path):
    # An out-of-process worker may commit just before it is killed: the mark written after wins.
    store = open_store(tmp_path)
    result = run_task(_task(store, "k2", "k2-a"))
    assert result.committed and store.read_entry("k2") is not None
    abandon(store, "k2-a")
    assert store.read_entry("k2") is None
    assert commit_entry(store, "k2", "r1", "n", C.t_source.card_class, result, attempt="k2-a") is False


# --------------------------------------------------------------------------- artifacts changed after the run


def _artifact_path(run: tr.Run, node: str) -> str:
    uri = next(iter(run.outputs(node).values()))["uri"]
    return uri.removeprefix("file://")


def test_artifact_changed_on_disk_is_recomputed_with_a_warning(tmp_path):
    p = tr.Pipeline("tamper")
    p.add(C.t_source, id="a", n=3)
    p.add(C.t_double, id="b")
    p.connect("a", "b")
    first = run_local(p, tmp_path)
    path = _artifact_path(first, "a")
    with open(path, "w") as fh:
        fh.write('{"values": [100]}')
    events: list[dict] = []
    again = run_local(p, tmp_path, on_event=events.append)
    assert again.status == {"a": "completed", "b": "cached"}  # a recomputed the same bytes; b is a hit
    assert again.output("a") == {"values": [0, 1, 2]}
    warnings = [e for e in events if e["type"] == "warning"]
    assert [w["node_id"] for w in warnings] == ["a"]
    assert "corrupt" in warnings[0]["message"] and set(warnings[0]) == {
        "type", "node_id", "message", "timestamp", "run_id"
    }


def test_artifact_touched_with_the_same_bytes_is_still_served(tmp_path):
    p = tr.Pipeline("touch")
    p.add(C.t_source, id="a", n=3)
    first = run_local(p, tmp_path)
    path = _artifact_path(first, "a")
    with open(path, "rb") as fh:
        data = fh.read()
    with open(path, "wb") as fh:  # a new mtime, the same content
        fh.write(data)
    assert run_local(p, tmp_path).status == {"a": "cached"}


def test_artifact_changed_in_a_memory_store_is_recomputed(tmp_path):
    store = f"memory://{unique('mem')}"
    p = tr.Pipeline("tamper-mem")
    p.add(C.t_source, id="a", n=2)
    first = run_local(p, store)
    uri = first.outputs("a")["output"]["uri"]
    first.store.write_bytes(uri, b'{"values": [9]}')  # a memory store is private to this process: its API
    again = run_local(p, store)
    assert again.status == {"a": "completed"}
    assert again.output("a") == {"values": [0, 1]}


def test_corrupt_dataframe_artifact_is_recomputed(tmp_path):
    p = tr.Pipeline("tamper-df")
    p.add(C.t_types, id="t")
    first = run_local(p, tmp_path)
    path = first.outputs("t")["frame"]["uri"].removeprefix("file://")
    pd.DataFrame({"x": [42]}).to_parquet(path)
    again = run_local(p, tmp_path)
    assert again.status == {"t": "completed"}
    assert again.output("t", "frame")["x"].tolist() == [0, 1, 2]


def test_reading_a_corrupt_artifact_raises_a_typed_error(tmp_path):
    p = tr.Pipeline("read-corrupt")
    p.add(C.t_types, id="t")
    run = run_local(p, tmp_path)
    refs = run.outputs("t")
    for port in ("frame", "doc", "blob"):
        path = refs[port]["uri"].removeprefix("file://")
        with open(path, "ab") as fh:
            fh.write(b"tampered")
    fresh = open_store(run.store.url)  # a new process's view: nothing memoised
    handle = CardStorage(fresh, "k", {"frame": refs["frame"], "doc": refs["doc"], "blob": refs["blob"]})
    with pytest.raises(ArtifactCorruptError, match="corrupt"):
        handle.load_dataframe(handle.input_refs["frame"])
    with pytest.raises(ArtifactCorruptError):
        handle.load_json(handle.input_refs["doc"])
    with pytest.raises(ArtifactCorruptError):
        handle.load_bytes(handle.input_refs["blob"])
    with pytest.raises(ArtifactCorruptError) as info:
        fresh.get(refs["doc"])
    assert info.value.expected == refs["doc"]["sha256"]
    assert issubclass(ArtifactCorruptError, tr.StorageError)


# --------------------------------------------------------------------------- cards redefined in a notebook


CELL_V1 = """
class Greeter(BaseCard):
    card_type = "{ctype}"
    output_schema = {{"out": "json"}}

    def execute(self, config, inputs, storage):
        raise RuntimeError("v1 is broken")
"""

CELL_V2 = """
class Greeter(BaseCard):
    card_type = "{ctype}"
    output_schema = {{"out": "json"}}

    def execute(self, config, inputs, storage):
        return {{"out": storage.save_json("p", "n", "out", {{"hello": "v2"}})}}
"""


@pytest.fixture
def notebook():
    """A module namespace standing in for a notebook's ``__main__`` (cells are exec'd into it)."""
    name = unique("fake_notebook")
    mod = types.ModuleType(name)
    mod.__dict__["BaseCard"] = tr.BaseCard
    mod.__dict__["tr"] = tr
    sys.modules[name] = mod
    yield mod
    del sys.modules[name]


def test_resume_runs_a_card_redefined_in_a_notebook(tmp_path, notebook):
    ctype = unique("t_greeter")
    exec(CELL_V1.format(ctype=ctype), notebook.__dict__)
    p = tr.Pipeline("nb")
    p.add(notebook.Greeter, id="g")
    first = run_local(p, tmp_path)
    assert first.status == {"g": "failed"}
    exec(CELL_V2.format(ctype=ctype), notebook.__dict__)  # the user fixes the cell and runs it again
    again = first.resume()
    assert again.status == {"g": "completed"}, again.error("g")
    assert again.output("g") == {"hello": "v2"}
    assert p.node("g").card is notebook.Greeter


def test_resume_runs_a_function_card_redefined_in_a_notebook(tmp_path, notebook):
    ctype = unique("t_fn")
    cell = '@tr.card(card_type="{ctype}")\ndef f(n: int = 1) -> dict:\n    return {{"v": n * {k}}}\n'
    exec(cell.format(ctype=ctype, k=1), notebook.__dict__)
    p = tr.Pipeline("nb-fn")
    p.add(notebook.f, id="f", n=2)
    first = run_local(p, tmp_path)
    assert first.output("f") == {"v": 2}
    exec(cell.format(ctype=ctype, k=10), notebook.__dict__)
    again = first.resume()
    assert again.status == {"f": "completed"}
    assert again.output("f") == {"v": 20}


@pytest.mark.parametrize("where", ["local", "memory"])
def test_timed_out_worker_process_never_commits(tmp_path, where):
    # The worker is killed at the deadline (uri mode on local disk; payload mode on memory://,
    # where the engine itself would commit): neither leaves an entry behind.
    from tensorrag.executors.process import ProcessExecutor

    storage = tmp_path if where == "local" else f"memory://{unique('proc')}"
    p = tr.Pipeline("proc-timeout")
    p.add(C.t_sleep, id="slow", seconds=3.0, resources={"timeout": 0.5})
    with ProcessExecutor(max_workers=1) as exe:
        first = p.run(storage=storage, executor=exe)
        assert first.status == {"slow": "failed"}
        second = p.run(storage=storage, executor=exe)
    assert second.status == {"slow": "failed"}
    assert second.error("slow")["type"] == "TaskTimeoutError"
