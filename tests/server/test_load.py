"""Load on loopback: 20 concurrent runs through the API, and 100 WebSocket subscribers on one run.

The figures are printed (``-s``), never asserted: the shared CI machine is too noisy for timings.
"""

from __future__ import annotations

import asyncio
import json
import os
import time

import httpx
import pytest
from websockets.asyncio.client import connect

from tensorrag.server import create_app
from tests.server.conftest import serve, setup_project

RUNS, SUBSCRIBERS = 20, 100


async def _until_completion(url: str, opened: asyncio.Event | None = None) -> list[dict]:
    async with connect(url, open_timeout=60, max_size=None) as ws:
        if opened is not None:
            opened.set()
        events = []
        while True:
            event = json.loads(await asyncio.wait_for(ws.recv(), timeout=120))
            if event["type"] == "heartbeat":
                continue
            events.append(event)
            if event["type"] == "pipeline_completion":
                return events


async def _poll(client: httpx.AsyncClient, project: str, run_id: str) -> dict:
    deadline = time.monotonic() + 240  # hang bound
    while True:
        manifest = (await client.get(f"/api/v2/projects/{project}/runs/{run_id}")).json()
        if manifest["status"] != "running":
            return manifest
        assert time.monotonic() < deadline, manifest
        await asyncio.sleep(0.1)


@pytest.mark.slow
def test_20_concurrent_runs_and_100_subscribers_on_one(tmp_path):
    with serve(create_app(tmp_path, heartbeat_s=5)) as base_url:
        with httpx.Client(base_url=base_url, timeout=120) as c:
            setup_project(c, "demo", sleep=0.2)
        ws_base = base_url.replace("http://", "ws://")

        async def main() -> tuple[list[dict], list[list[dict]], dict, float, float]:
            async with httpx.AsyncClient(base_url=base_url, timeout=120) as client:
                # 100 subscribers on the one run's channel, half of them before it starts, half during.
                watched = "watched"
                opened = [asyncio.Event() for _ in range(SUBSCRIBERS // 2)]
                url = f"{ws_base}/ws/pipeline/{watched}"
                early = [asyncio.create_task(_until_completion(url, ev)) for ev in opened]
                await asyncio.gather(*(ev.wait() for ev in opened))
                t0 = time.perf_counter()
                starts = [client.post("/api/v2/projects/demo/runs",
                                      json={"pipeline_id": watched if i == 0 else f"load-{i}", "cache": False})
                          for i in range(RUNS)]
                started = [r.json() for r in await asyncio.gather(*starts)]
                late = [asyncio.create_task(_until_completion(f"{ws_base}/ws/pipeline/{watched}"))
                        for _ in range(SUBSCRIBERS - len(early))]
                manifests = await asyncio.gather(*(_poll(client, "demo", s["run_id"]) for s in started))
                runs_s = time.perf_counter() - t0
                streams = await asyncio.gather(*early, *late)
                fan_s = time.perf_counter() - t0
                return manifests, streams, started[0], runs_s, fan_s

        manifests, streams, watched_run, runs_s, fan_s = asyncio.run(main())
    assert [m["status"] for m in manifests] == ["completed"] * RUNS
    assert len({m["run_id"] for m in manifests}) == RUNS
    expected = manifests[0]["events"]
    assert manifests[0]["run_id"] == watched_run["run_id"]
    assert len(streams) == SUBSCRIBERS
    assert all(stream == expected for stream in streams)  # every subscriber got every event, in order
    print(f"\nload: {RUNS} concurrent runs done in {runs_s:.2f} s; {SUBSCRIBERS} subscribers x {len(expected)} events "
          f"all received by {fan_s:.2f} s; load average {os.getloadavg()}")
