"""Canvas benchmark: draw time of big pipelines, and status latency from Python to the node's colour.

1. **Draw time** (headless Chromium, the test page with a stub model, no kernel): a pipeline of N
   nodes (a chain of ``data_split`` cards on a grid, N-1 labelled edges) is rendered by the real
   bundle; the time runs from ``render()`` until every node and every edge is in the DOM and
   shown (after the fit-to-view zoom-out, so all of them are on screen). Target: 1,000 nodes <= 1.0 s.
2. **Status latency** (real JupyterLab 4 + kernel): a cell sends node status changes through the
   canvas's run-event path (the one the engine drives, throttle included), stamping each with
   ``time.time()``; a MutationObserver in the page stamps the moment the node's ``data-status``
   changes. Both clocks are this machine's. Target: p95 <= 100 ms.

Run: ``.venv/bin/python benchmarks/canvas.py`` (needs the bundle, Chromium, playwright, jupyterlab;
``make test`` installs/builds them). Options: ``--sizes 100 500 1000``, ``--repeat 3``,
``--changes 60``, ``--skip-lab``, ``--json out.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tensorrag as tr
from tensorrag.widget import Canvas
from tests.widget.browser import (
    JupyterLab,
    PageServer,
    canvas_state,
    jupyterlab_unavailable,
    launch,
    run_all,
    run_in_new_cell,
    unavailable,
    write_notebook,
)


def chain(n: int) -> tr.Pipeline:
    """``load`` then ``n - 1`` splits, each fed by the previous one, on a grid."""
    p = tr.Pipeline(f"chain-{n}")
    cols = max(1, math.ceil(math.sqrt(n) * 1.6))
    p.add("data_load", id="n0", position={"x": 0, "y": 0})
    for i in range(1, n):
        p.add("data_split", id=f"n{i}", position={"x": (i % cols) * 260, "y": (i // cols) * 170})
        p.connect(f"n{i - 1}", "dataset" if i == 1 else "train_dataset", f"n{i}", "dataset")
    return p


DRAWN = """(n) => {
  const nodes = document.querySelectorAll('.react-flow__node');
  if (nodes.length < n) return false;
  const overlay = document.querySelector('[data-testid="edge-overlay"]');  // big graphs seen from afar
  const edges = overlay ? Number(overlay.dataset.edges) : document.querySelectorAll('.react-flow__edge').length;
  if (edges < n - 1) return false;
  for (const el of nodes) if (el.style.visibility === 'hidden' || !el.offsetWidth) return false;
  window.drawnAt = performance.now();
  return true;
}"""


def draw_times(sizes: list[int], repeat: int) -> dict[int, list[float]]:
    from playwright.sync_api import sync_playwright

    out: dict[int, list[float]] = {}
    server = PageServer()
    try:
        with sync_playwright() as pw:
            browser = launch(pw)
            for n in sizes:
                c = Canvas(chain(n))
                server.set_state({**canvas_state(c), "height": 800})
                c.close()
                times = []
                for _ in range(repeat + 1):  # the first load warms the bundle cache
                    page = browser.new_page(viewport={"width": 1400, "height": 900})
                    page.goto(server.url)
                    page.wait_for_function("window.ready === true")
                    page.wait_for_function(DRAWN, arg=n, polling="raf", timeout=60_000)
                    times.append(page.evaluate("window.drawnAt - window.renderStarted") / 1000)
                    page.close()
                out[n] = times[1:]
                print(f"  {n:>5} nodes: {statistics.median(out[n]):.3f} s (median of {repeat}; "
                      f"{', '.join(f'{t:.3f}' for t in out[n])})", flush=True)
            browser.close()
    finally:
        server.close()
    return out


OBSERVE = """() => {
  window.statusChanges = [];
  const root = document.querySelector('.jp-Notebook .trc-root');
  new MutationObserver((records) => {
    const now = Date.now();
    for (const r of records) {
      if (r.target.dataset.testid === 'node-train') window.statusChanges.push([r.target.dataset.status, now]);
    }
  }).observe(root, { subtree: true, attributes: true, attributeFilter: ['data-status'] });
}"""

SEND = """import time, json
view = canvas._view
stamps = []
for i in range({changes}):
    status = "running" if i % 2 == 0 else "completed"
    stamps.append([status, time.time() * 1000])
    canvas._on_run_event(view, {{"type": "node_status", "node_id": "train", "status": status, "message": ""}})
    time.sleep({gap})
time.sleep(0.5)
print("STAMPS " + json.dumps(stamps))"""


def status_latency(changes: int, gap: float) -> list[float]:
    from playwright.sync_api import expect, sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_notebook(root / "bench.ipynb", [
            "from tensorrag.demo import build\ncanvas = build().canvas(height=560)\ncanvas",
        ])
        with JupyterLab(root, env={"TENSORRAG_STORAGE": str(root / "storage")}) as lab, sync_playwright() as pw:
            browser = launch(pw)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(lab.url("lab/tree/bench.ipynb"))
            expect(page.locator("#jp-main-statusbar")).to_contain_text("Python 3 (ipykernel) | Idle", timeout=60_000)
            run_all(page)
            expect(page.locator(".jp-Notebook .trc-root .react-flow__node")).to_have_count(6, timeout=60_000)
            page.evaluate(OBSERVE)
            text = run_in_new_cell(page, SEND.format(changes=changes, gap=gap))
            stamps = json.loads(text.split("STAMPS ", 1)[1])
            seen = page.evaluate("window.statusChanges")
            browser.close()
    if len(seen) != len(stamps):
        raise RuntimeError(f"{len(stamps)} changes sent, {len(seen)} seen in the page")
    lat = []
    for (sent_status, sent_at), (seen_status, seen_at) in zip(stamps, seen, strict=True):
        assert sent_status == seen_status, (sent_status, seen_status)
        lat.append(seen_at - sent_at)
    return lat


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 500, 1000])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--changes", type=int, default=60)
    ap.add_argument("--gap", type=float, default=0.08, help="seconds between two status changes")
    ap.add_argument("--skip-lab", action="store_true", help="draw times only")
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args(argv)
    why = unavailable()
    if why:
        print(f"cannot run: {why}")
        return 1
    result: dict[str, object] = {}
    print("Draw time in headless Chromium (render() -> every node and edge drawn):")
    draws = draw_times(args.sizes, args.repeat)
    result["draw_seconds"] = {str(n): statistics.median(t) for n, t in draws.items()}
    if not args.skip_lab:
        why = jupyterlab_unavailable()
        if why:
            print(f"status latency skipped: {why}")
        else:
            print(f"Status latency in JupyterLab ({args.changes} changes, {args.gap * 1000:.0f} ms apart):")
            t0 = time.perf_counter()
            lat = status_latency(args.changes, args.gap)
            p50, p95, worst = pct(lat, 50), pct(lat, 95), max(lat)
            print(f"  p50 {p50:.0f} ms, p95 {p95:.0f} ms, max {worst:.0f} ms ({time.perf_counter() - t0:.0f} s in all)")
            result["status_latency_ms"] = {"p50": p50, "p95": p95, "max": worst, "n": len(lat)}
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
