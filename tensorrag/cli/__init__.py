"""The ``tensorrag`` command: run pipelines, validate card files, list cards, projects and runs.

::

    tensorrag run PIPELINE.json [--executor local|process|modal|auto] [--storage URL] [--project NAME]
    tensorrag run --project NAME            # the project's saved pipeline (the project must exist)
        [--param NODE.FIELD=VALUE ...]      # config overrides for this run only (VALUE parsed as JSON)
        [--module NAME ...]                 # import a module of @card functions / BaseCard classes
        [--from NODE ...]                   # re-run NODE and everything downstream (the rest may be cached)
        [--target NODE ...] [--no-cache] [--create]
    tensorrag sweep PIPELINE.json SPACE.json [--metric NODE.PORT.KEY] [--mode max|min]
        [--search grid|random --n N --seed S] [--executor NAME] [--max-parallel N]   # results table + best
    tensorrag validate CARD.py [...]        # AST validation: errors with line numbers, exit 1 if invalid
    tensorrag cards [--project NAME]        # built-in cards (+ the project's own)
    tensorrag projects                      # the projects of --user in --storage
    tensorrag runs PROJECT [--limit N]      # a project's runs, newest first
    tensorrag serve [--host 127.0.0.1] [--port 8000] [--storage URL]   # the REST + WebSocket server
    tensorrag demo

Every command but ``demo``, ``serve`` and ``modal deploy`` takes ``--json`` (machine-readable results on
stdout). Progress and diagnostics go to stderr, results to stdout (``run`` prints the node table,
then the outputs of the last nodes: JSON values such as metrics in full, dataframes as rows x cols).
Exit codes: 0 success, 1 a run failed (the failing nodes and their errors are named on stderr) or a
card file is invalid, 2 bad input (unknown project, node or module, a config override that does not
fit, unsafe name, missing file, malformed pipeline). ``--storage`` and ``--user`` default to the
configured ones (``TENSORRAG_STORAGE`` / ``S3_*``, ``TENSORRAG_USER``); an ``s3://`` ``--storage``
gets the endpoint and keys of the ``S3_*`` variables.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from tensorrag.cards.catalog import list_cards
from tensorrag.cards.validate import validate_card_file
from tensorrag.cli._run import apply_params, import_card_modules, parse_param, print_sinks, sink_outputs
from tensorrag.cli._sweep import add_parser as add_sweep_parser
from tensorrag.cli._sweep import sweep as sweep_command
from tensorrag.config import get_settings
from tensorrag.errors import ArtifactNotFoundError, TensorragError
from tensorrag.pipeline import Pipeline
from tensorrag.storage import open_store
from tensorrag.workspace import Workspace

if TYPE_CHECKING:
    from tensorrag.storage import ArtifactStore
    from tensorrag.workspace import Project

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``tensorrag`` command; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "run":
            return _run(args, parser)
        if args.command == "sweep":
            return sweep_command(args, lambda: _root(args))
        if args.command == "validate":
            return _validate(args)
        if args.command == "cards":
            return _cards(args)
        if args.command == "projects":
            return _projects(args)
        if args.command == "runs":
            return _runs(args)
        if args.command == "modal":
            return _modal(args)
        if args.command == "serve":
            return _serve(args)
        from tensorrag.demo import main as demo

        return demo([])
    except (TensorragError, OSError) as exc:  # bad input or a missing file: a message, not a traceback
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tensorrag", description="ML pipelines built from cards.")
    sub = parser.add_subparsers(dest="command", required=True)

    def where(p: argparse.ArgumentParser) -> None:
        p.add_argument("--storage", default=None, help="storage root URL or path (default: env / ./.tensorrag)")
        p.add_argument("--user", default=None, help="user folder (default: TENSORRAG_USER / 'default')")

    def as_json(p: argparse.ArgumentParser, what: str) -> None:
        p.add_argument("--json", action="store_true", help=f"print {what} as JSON")

    run_p = sub.add_parser("run", help="run a _pipeline.json file, or a project's saved pipeline")
    run_p.add_argument("pipeline", nargs="?", help="path or fsspec URL of a _pipeline.json file")
    run_p.add_argument("--executor", default=None, help="local (default), process, modal, auto or a plugin")
    where(run_p)
    run_p.add_argument(
        "--project", default=None,
        help="an existing workspace project: its cards are available and runs are stored there",
    )
    run_p.add_argument("--create", action="store_true", help="create the --project when it does not exist")
    run_p.add_argument("--target", action="append", help="run only this node and what it needs (repeatable)")
    run_p.add_argument(
        "--from", dest="rerun", action="append", metavar="NODE",
        help="re-run this node and everything downstream, ignoring their cache (repeatable)",
    )
    run_p.add_argument(
        "--param", action="append", default=[], metavar="NODE.FIELD=VALUE",
        help="override a config field for this run only (VALUE as JSON, else text; null = default; repeatable)",
    )
    run_p.add_argument(
        "--module", action="append", default=[], metavar="NAME",
        help="import this module (from the current directory too) so its cards can be used (repeatable)",
    )
    run_p.add_argument("--no-cache", action="store_true", help="execute every node even if cached")
    as_json(run_p, "the run manifest plus 'sink_outputs'")

    add_sweep_parser(sub, where)

    val_p = sub.add_parser("validate", help="validate card files by reading their syntax tree (never run)")
    val_p.add_argument("files", nargs="+", metavar="CARD.py", help="card file(s) to validate")
    as_json(val_p, "{success, errors: [{line, message, severity}], extracted_schema} per file")

    cards_p = sub.add_parser("cards", help="list the available card types")
    cards_p.add_argument("--project", default=None, help="also list this project's cards")
    where(cards_p)
    as_json(cards_p, "CardSchema JSON")

    proj_p = sub.add_parser("projects", help="list the projects")
    where(proj_p)
    as_json(proj_p, "the projects")

    runs_p = sub.add_parser("runs", help="list a project's runs, newest first")
    runs_p.add_argument("project", help="project name")
    runs_p.add_argument("--limit", type=int, default=None, help="show at most this many runs")
    where(runs_p)
    as_json(runs_p, "the run summaries")

    serve_p = sub.add_parser("serve", help="serve the REST + WebSocket API (needs 'tensorrag[server]')")
    serve_p.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: 127.0.0.1)")
    serve_p.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    where(serve_p)
    serve_p.add_argument("--executor", default=None, help="executor of every run (default: TENSORRAG_EXECUTOR / local)")
    serve_p.add_argument(
        "--cors-origin", action="append", default=[], metavar="ORIGIN",
        help="allow browser calls from this origin (repeatable; default: TENSORRAG_CORS_ORIGINS)",
    )
    serve_p.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])

    sub.add_parser("demo", help="run the demo pipeline")

    modal_p = sub.add_parser("modal", help="manage the Modal worker app (needs 'tensorrag[modal]')")
    modal_sub = modal_p.add_subparsers(dest="modal_command", required=True)
    deploy_p = modal_sub.add_parser("deploy", help="deploy the worker app (CPU and GPU images) to Modal")
    deploy_p.add_argument("--app", default=None, help="app name (default: TENSORRAG_MODAL_APP or 'tensorrag')")
    deploy_p.add_argument("--module", action="append", default=[], help="a module of your cards to add to the images")
    deploy_p.add_argument("--secret", action="append", default=[],
                          help="a modal.Secret the workers get (object store, Hugging Face token); repeatable")
    deploy_p.add_argument("--hf-volume", default=None, help="a modal.Volume for the Hugging Face cache (HF_HOME)")
    return parser


# --------------------------------------------------------------------------- helpers


def _serve(args: argparse.Namespace) -> int:
    from tensorrag.cli._serve import serve

    return serve(_root(args), host=args.host, port=args.port, user=args.user, executor=args.executor,
                 cors=args.cors_origin, log_level=args.log_level)


def _modal(args: argparse.Namespace) -> int:
    from tensorrag.cli._modal import deploy

    return deploy(args.app, args.module, args.secret, args.hf_volume)


def _root(args: argparse.Namespace) -> ArtifactStore:
    """The storage root: ``--storage`` (with the configured S3 options for an s3:// URL) or the configured one."""
    if args.storage is None:
        return open_store(None)
    settings = get_settings()
    scheme = args.storage.split("://", 1)[0] if "://" in args.storage else "file"
    configured = settings.storage_url.split("://", 1)[0] if "://" in settings.storage_url else "file"
    options = settings.storage_options if scheme in ("s3", "s3a") and configured == scheme else {}
    return open_store(args.storage, **options)


def _workspace(args: argparse.Namespace) -> Workspace:
    return Workspace(_root(args), user=args.user)


def _print_json(obj: Any) -> None:
    print(json.dumps(obj, indent=2, default=str))


def _report_card_errors(project: Project) -> None:
    for path, result in project.card_errors.items():
        for issue in result.errors:
            if issue.severity == "error":
                line = f"{issue.line}:" if issue.line is not None else ""
                print(f"warning: card file {path}:{line} not registered: {issue.message}", file=sys.stderr)


# --------------------------------------------------------------------------- commands


def _run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if args.pipeline is None and args.project is None:
        parser.error("run needs a PIPELINE.json file or --project NAME (to run its saved pipeline)")
    params = [parse_param(text) for text in args.param]  # bad syntax: refused before anything is opened
    project = None
    if args.project is not None:
        ws = _workspace(args)
        existed = args.project in ws
        if not existed and not args.create:
            try:
                ws.project(args.project)  # raises: unsafe name, or no such project with did-you-mean
            except ArtifactNotFoundError as exc:
                raise ArtifactNotFoundError(f"{exc} Or pass --create to create it with this run.") from None
        project = ws.project(args.project, create=True)
        if not existed:
            print(f"created project {project.name!r} in {ws.url}", file=sys.stderr)
        _report_card_errors(project)
    cards = import_card_modules(args.module)
    if args.pipeline is not None:
        p = Pipeline.load(args.pipeline, project=project)
    else:
        assert project is not None
        p = project.load_pipeline()
        if not len(p):
            print(f"error: project {project.name!r} has no saved pipeline to run", file=sys.stderr)
            return 2
    for cls in cards:
        p.register(cls, clobber=True)  # asked for by name on the command line: it wins over same-type cards
    apply_params(p, params)

    def progress(event: dict[str, Any]) -> None:
        if event["type"] == "node_status" and event["status"] not in ("pending",):
            print(f"{event['node_id']}: {event['status']} {event.get('message') or ''}".rstrip(), file=sys.stderr)

    storage = None if project is not None else _root(args)
    run = p.run(executor=args.executor, storage=storage, user=args.user, targets=args.target, rerun=args.rerun,
                cache=not args.no_cache, on_event=progress, progress=False, echo=not args.json,
                save_pipeline=not params)
    sinks = sink_outputs(run)
    if args.json:
        print(json.dumps({**run.manifest(), "sink_outputs": sinks}, default=str))
    else:
        print(run.summary())
        print_sinks(sinks)
        print(f"run {run.run_id}: {run.state}")
    if not run.ok:
        failed = [nid for nid, s in run.status.items() if s == "failed"]
        for nid in failed if args.json else ():  # else the run printed them (echo)
            err = run.error(nid) or {}
            print(f"node {nid!r} failed: {err.get('type')}: {err.get('message')}", file=sys.stderr)
        if not failed:
            print(f"run {run.run_id} ended {run.state}", file=sys.stderr)
        return 1
    return 0


def _validate(args: argparse.Namespace) -> int:
    results = [(path, validate_card_file(path)) for path in args.files]
    if args.json:
        docs = [{"path": path, **result.to_dict()} for path, result in results]
        _print_json(docs[0] if len(docs) == 1 else docs)
    else:
        for path, result in results:
            for issue in result.errors:
                line = f"{issue.line}:" if issue.line is not None else ""
                print(f"{path}:{line} {issue.severity}: {issue.message}")
            if result.success:
                print(f"{path}: ok (card_type {result.card_type!r})")
            else:
                count = sum(1 for i in result.errors if i.severity == "error")
                print(f"{path}: invalid ({count} error{'s' if count != 1 else ''})")
    return 0 if all(result.success for _, result in results) else 1


def _cards(args: argparse.Namespace) -> int:
    if args.project is None:
        schemas = list_cards()
    else:
        project = _workspace(args).project(args.project)
        _report_card_errors(project)
        schemas = list_cards(project.registry)
        own = project.cards
        for s in schemas:
            if s["card_type"] in own:
                s["path"] = own[s["card_type"]]
    if args.json:
        _print_json(schemas)
        return 0
    for s in schemas:
        ins = ", ".join(f"{k}:{v}" for k, v in s["input_schema"].items()) or "-"
        outs = ", ".join(f"{k}:{v}" for k, v in s["output_schema"].items()) or "-"
        origin = f"  [{s['path']}]" if "path" in s else ""
        print(f"{s['category']:<11} {s['card_type']:<16} {ins} -> {outs}{origin}")
    return 0


def _projects(args: argparse.Namespace) -> int:
    ws = _workspace(args)
    names = ws.list_projects()
    if args.json:
        _print_json([{"name": n, "url": ws.store.project(n, ws.user).url} for n in names])
    elif names:
        print("\n".join(names))
    else:
        print(f"no projects for user {ws.user!r} in {ws.url}", file=sys.stderr)
    return 0


def _runs(args: argparse.Namespace) -> int:
    project = _workspace(args).project(args.project)
    runs = project.runs(limit=args.limit)
    if args.json:
        _print_json(runs)
        return 0
    if not runs:
        print(f"no runs in project {project.name!r}", file=sys.stderr)
        return 0
    print(f"{'run_id':<30}  {'status':<10}  {'seconds':>8}  {'nodes':>5}  failed")
    for r in runs:
        secs = r.get("execution_time")
        shown = f"{secs:.2f}" if isinstance(secs, (int, float)) else "-"
        nodes = r.get("nodes") or {}
        failed = ", ".join(r.get("failed") or []) or "-"
        why = r.get("error") or r.get("reason")  # unreadable / interrupted: why, on the same line
        tail = f"{failed}  ({' '.join(str(why).split())})" if why else failed
        print(f"{r['run_id']:<30}  {r.get('status') or '-':<10}  {shown:>8}  {len(nodes):>5}  {tail}")
    return 0

