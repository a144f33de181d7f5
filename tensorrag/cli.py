"""The ``tensorrag`` command: run a saved pipeline, list cards, run the demo.

Progress goes to stderr, results to stdout (``--json`` for machines); the exit code is non-zero
when a run fails, and the failing node is named.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from tensorrag.cards.catalog import list_cards
from tensorrag.errors import TensorragError
from tensorrag.pipeline import Pipeline

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``tensorrag`` command; returns the exit code."""
    parser = argparse.ArgumentParser(prog="tensorrag", description="ML pipelines built from cards.")
    sub = parser.add_subparsers(dest="command", required=True)
    run_p = sub.add_parser("run", help="run a _pipeline.json file")
    run_p.add_argument("pipeline", help="path or fsspec URL of a _pipeline.json file")
    run_p.add_argument("--executor", default=None, help="executor name (default: local)")
    run_p.add_argument("--storage", default=None, help="storage root URL or path (default: env / ./.tensorrag)")
    run_p.add_argument("--project", default=None, help="project folder (default: the pipeline's name)")
    run_p.add_argument("--target", action="append", help="run only this node and what it needs (repeatable)")
    run_p.add_argument("--no-cache", action="store_true", help="execute every node even if cached")
    run_p.add_argument("--json", action="store_true", help="print the run manifest as JSON")
    cards_p = sub.add_parser("cards", help="list the available card types")
    cards_p.add_argument("--json", action="store_true", help="print CardSchema JSON")
    sub.add_parser("demo", help="run the demo pipeline")
    args = parser.parse_args(argv)
    try:
        if args.command == "run":
            return _run(args)
        if args.command == "cards":
            return _cards(args)
        from tensorrag.demo import main as demo

        return demo([])
    except (TensorragError, OSError) as exc:  # bad input or a missing file: a message, not a traceback
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    p = Pipeline.load(args.pipeline)

    def progress(event: dict[str, Any]) -> None:
        if event["type"] == "node_status" and event["status"] not in ("pending",):
            print(f"{event['node_id']}: {event['status']} {event.get('message') or ''}".rstrip(), file=sys.stderr)

    run = p.run(executor=args.executor, storage=args.storage, project=args.project, targets=args.target,
                cache=not args.no_cache, on_event=progress, progress=False)
    if args.json:
        print(json.dumps(run.manifest(), default=str))
    else:
        print(run.summary())
        print(f"run {run.run_id}: {run.state}")
    if not run.ok:
        failed = [nid for nid, s in run.status.items() if s == "failed"]
        for nid in failed:
            err = run.error(nid) or {}
            print(f"node {nid!r} failed: {err.get('type')}: {err.get('message')}", file=sys.stderr)
        return 1
    return 0


def _cards(args: argparse.Namespace) -> int:
    schemas = list_cards()
    if args.json:
        print(json.dumps(schemas, indent=2))
        return 0
    for s in schemas:
        ins = ", ".join(f"{k}:{v}" for k, v in s["input_schema"].items()) or "-"
        outs = ", ".join(f"{k}:{v}" for k, v in s["output_schema"].items()) or "-"
        print(f"{s['category']:<11} {s['card_type']:<16} {ins} -> {outs}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
