"""A sweep's fan-out on the Modal executor, through its transport seam: bounded spawns, and cancel cancels them all."""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

import pytest

pytest.importorskip("modal")

import tensorrag as tr
from tensorrag.executors.modal import ModalExecutor
from tensorrag.executors.runtime import run_wire
from tensorrag.executors.worker import dumps, loads
from tests.sweep import cards as C


class ThreadTransport:
    """A ModalTransport whose calls run the real worker entry on the real payload bytes, in threads.

    It counts calls live (spawned, not yet returned or cancelled), the most at once, and cancels.
    """

    same_host = True

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(64)
        self._lock = threading.Lock()
        self.spawned, self.live, self.most = 0, 0, 0
        self.cancelled: list[str] = []
        self.finished: list[str] = []

    def check(self, app_name: str) -> None:
        pass

    def spawn(self, app_name: str, function: str, payload: dict[str, Any], options: dict[str, Any],
              expect: dict[str, Any] | None = None) -> Call:
        wire = dumps(payload)  # what would go over the network
        with self._lock:
            self.spawned += 1
            self.live += 1
            self.most = max(self.most, self.live)
        return Call(self, str(payload["node_id"]), self._pool.submit(lambda: run_wire(loads(wire))))

    def ended(self, call: Call, how: list[str]) -> None:
        with self._lock:
            if not call.over:
                call.over = True
                self.live -= 1
                how.append(call.node_id)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


class Call:
    call_id = ""

    def __init__(self, transport: ThreadTransport, node_id: str, fut: Future) -> None:
        self.transport, self.node_id, self.fut, self.over = transport, node_id, fut, False

    def poll(self, timeout: float) -> dict[str, Any] | None:
        try:
            result = self.fut.result(timeout=timeout)
        except FutureTimeout:
            return None
        self.transport.ended(self, self.transport.finished)
        return result

    def cancel(self) -> None:
        self.transport.ended(self, self.transport.cancelled)


@pytest.fixture
def transport():
    C.reset()
    t = ThreadTransport()
    yield t
    C.RELEASE.set()
    t.close()


def modal(transport: ThreadTransport) -> ModalExecutor:
    return ModalExecutor(transport=transport, ephemeral=True, poll=0.01, startup_timeout=0, max_workers=64)


def pipe(**score: Any) -> tr.Pipeline:
    p = tr.Pipeline("fan-out")
    p.add(C.source, id="src")
    p.add(C.score, id="fit", **score)
    p.connect("src", "data", "fit", "data")
    return p


def test_50_branches_spawn_with_bounded_concurrency(tmp_path, transport):
    sweep = pipe(sleep=0.03).sweep({"fit.lr": [i / 50 for i in range(50)]}, metric=("fit", "report", "loss"),
                                   mode="min")
    result = sweep.run(executor=modal(transport), max_parallel=8, storage=tmp_path, echo=False)
    assert result.ok and set(result.table["status"]) == {"completed"}
    assert transport.spawned == 51  # the shared source once, then one call per branch
    assert 1 < transport.most <= 8 and transport.live == 0
    assert result.best.config["fit.lr"] == 0.3


def test_cancel_cancels_every_spawned_call(tmp_path, transport):
    sweep = pipe(hold=True).sweep({"fit.lr": [i / 50 for i in range(50)]})
    result = sweep.run(executor=modal(transport), max_parallel=8, storage=tmp_path, echo=False, wait=False)
    deadline = time.monotonic() + 60
    while transport.live < 8 and time.monotonic() < deadline:  # 8 branch calls held in their containers
        time.sleep(0.01)
    assert transport.live == 8 and transport.most == 8
    result.cancel().wait(60)
    assert result.run.state == "cancelled"
    deadline = time.monotonic() + 30  # each call's poll thread cancels it when it next looks (hang bound only)
    while transport.live and time.monotonic() < deadline:
        time.sleep(0.01)
    assert transport.spawned == 9 and transport.live == 0  # nothing new started after the cancel
    assert len(transport.cancelled) == 8 and set(transport.cancelled) < {f"fit:{i}" for i in range(50)}
    assert transport.finished == ["src"]  # every branch call was cancelled, none finished
    assert set(result.table["status"]) == {"cancelled"}
