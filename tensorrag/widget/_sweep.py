"""``SweepCanvas``: a sweep on the canvas, drawn as the pipeline it sweeps (docs/sweeps.md, "On the canvas").

The canvas shows the ORIGINAL graph, not the expanded one. One more synced trait, ``sweep``,
carries what the front end needs to draw the sweep on it:

* ``nodes`` — per original node: ``copies`` (N for the swept part, 1 for shared nodes), the swept
  ``values`` of its fields, and its run status aggregated over its copies (``counts``, ``status``,
  ``message``: "4/6 done · 1 failed");
* ``branches`` — per branch: its ``config`` and the status of each original node in it;
* ``table`` — ``SweepResult.table`` as ``{columns, rows}``, and ``best`` (the best branch so far).

The ``status`` / ``previews`` / ``logs`` traits are the engine's events as for any run (branch
nodes keyed ``{node}:{i}``); ``sweep`` is recomputed from the same events on every run push.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import traitlets

from tensorrag.cards.previews import json_safe
from tensorrag.errors import RunError, TensorragError
from tensorrag.widget._canvas import Canvas, _changed, _on_run_event
from tensorrag.widget._runs import RunView

if TYPE_CHECKING:
    from tensorrag.run import Listener, Run
    from tensorrag.sweep import Sweep, SweepResult

__all__ = ["SweepCanvas", "aggregate", "best_index", "describe", "table_payload"]

#: Statuses after which a branch's table row no longer changes (its metrics are read once).
_FINAL = frozenset({"completed", "cached", "failed", "skipped", "cancelled"})
#: Node statuses that count as done in the "k/N done" summary.
_DONE = ("completed", "cached", "failed", "skipped")


def describe(sweep: Sweep) -> dict[str, Any]:
    """What does not change while the sweep runs: keys, metrics, mode, and per node its copies and swept values."""
    values: dict[str, dict[str, list[Any]]] = {}
    for key, field in sweep.fields.items():
        seen: list[Any] = []
        for config in sweep.configs:
            if config[key] not in seen:  # a list, not a set: values may be unhashable (lists, dicts)
                seen.append(config[key])
        values.setdefault(field.node_id, {})[key] = json_safe(seen)
    return {
        "keys": sweep.keys,
        "size": len(sweep),
        "search": sweep.search,
        "mode": sweep.mode,
        "objective": sweep.metrics[0].name if sweep.metrics else None,
        "metrics": [m.name for m in sweep.metrics],
        "nodes": {nid: {"copies": n, "swept": nid in values, "values": values.get(nid, {})}
                  for nid, n in sweep.swept_nodes.items()},
    }


def aggregate(sweep: Sweep, statuses: dict[str, str]) -> tuple[dict[str, dict[str, Any]], list[dict[str, str]]]:
    """Per original node, its copies' statuses summed up; and per branch, each original node's status.

    Args:
        sweep: the sweep.
        statuses: expanded node id -> status (``run.status`` or the canvas's run view).

    Returns:
        ``({node: {counts, status, message}}, [{node: status} per branch])``; an unseen node is ``""``.
    """
    per_branch = [{nid: statuses.get(rid, "") for nid, rid in sweep.node_ids(i).items()} for i in range(len(sweep))]
    nodes: dict[str, dict[str, Any]] = {}
    for nid, copies in sweep.swept_nodes.items():
        if copies == 1:
            status = statuses.get(nid, "")
            nodes[nid] = {"counts": {status: 1} if status else {}, "status": status, "message": ""}
            continue
        counts: dict[str, int] = {}
        for branch in per_branch:
            if branch[nid]:
                counts[branch[nid]] = counts.get(branch[nid], 0) + 1
        nodes[nid] = {"counts": counts, "status": _overall(counts, copies), "message": _summary(counts, copies)}
    return nodes, per_branch


def _overall(counts: dict[str, int], copies: int) -> str:
    """One status for N copies: running while any runs, failed once all ended with a failure, else the common one."""
    if not counts:
        return ""
    if counts.get("running"):
        return "running"
    done = sum(counts.get(s, 0) for s in _DONE)
    if done < copies:
        return "running" if done else "pending"
    if counts.get("failed"):
        return "failed"
    if counts.get("cached") == copies:
        return "cached"
    if counts.get("skipped") == copies:
        return "skipped"
    return "completed"


def _summary(counts: dict[str, int], copies: int) -> str:
    done = sum(counts.get(s, 0) for s in _DONE)
    parts = [f"{done}/{copies} done"]
    parts += [f"{counts[s]} {s}" for s in ("running", "failed", "skipped", "cached") if counts.get(s)]
    return " · ".join(parts)


def best_index(rows: list[dict[str, Any]], objective: str | None, mode: str) -> int | None:
    """The best row's branch (as :attr:`SweepResult.best`: max or min objective, ties the lower branch), or None."""
    if objective is None:
        return None
    scored = [r for r in rows if isinstance(r.get(objective), (int, float)) and not math.isnan(r[objective])]
    if not scored:
        return None
    sign = 1.0 if mode == "max" else -1.0
    return int(max(scored, key=lambda r: (sign * r[objective], -r["branch"]))["branch"])


def table_payload(result: SweepResult, cache: dict[int, dict[str, Any]] | None = None) -> dict[str, Any]:
    """``result.table`` as JSON: ``{columns, rows, best}``; every row has ``branch`` (its number).

    Args:
        result: the sweep's result (done or running).
        cache: branch -> row of branches that ended (filled here): their metrics are read once.
    """
    sweep = result.sweep
    cache = {} if cache is None else cache
    columns = ["branch", *sweep.keys, *(m.name for m in sweep.metrics), "status", "time", "error"]
    rows = []
    for i, config in enumerate(sweep.configs):
        row = cache.get(i)
        if row is None:
            b = result.branches[i] if result.done else result._branch(i, config)
            row = json_safe({"branch": i, **b.config, **b.metrics, "status": b.status, "time": b.time,
                             "error": b.error})
            row = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
            if b.status in _FINAL:
                cache[i] = row
        rows.append(row)
    objective = sweep.metrics[0].name if sweep.metrics else None
    return {"columns": columns, "rows": rows, "best": best_index(rows, objective, sweep.mode)}


class SweepCanvas(Canvas):
    """The canvas of a sweep: its pipeline with the swept part badged ×N, run status per node, the results table.

    Made by :meth:`tensorrag.sweep.Sweep.canvas` or :meth:`tensorrag.sweep.SweepResult.canvas`. The Run
    button (and :meth:`run`) runs the whole sweep; a sweep run from code follows on every open canvas
    of the sweep too.

    Args:
        sweep: the sweep to show.
        result: a result to show at once (from ``sweep.run``).
        height: the canvas height in pixels.
        **run_options: defaults for :meth:`run` (as for :meth:`tensorrag.sweep.Sweep.run`).

    Raises:
        TypeError: an unknown run option.
    """

    sweep = traitlets.Dict().tag(sync=True)
    """``{keys, size, mode, objective, metrics, nodes, branches, table, state}`` (see the module docstring)."""

    def __init__(self, sweep: Sweep, *, result: SweepResult | None = None, height: int = 560,
                 **run_options: Any) -> None:
        import inspect

        from tensorrag.sweep import Sweep as _Sweep

        allowed = set(inspect.signature(_Sweep.run).parameters) - {"self", "wait"}
        unknown = sorted(set(run_options) - allowed)
        if unknown:
            raise TypeError(f"Unknown sweep run option(s) {', '.join(map(repr, unknown))} for the sweep canvas; "
                            f"expected some of: {', '.join(sorted(allowed))}.")
        self._sweep = sweep
        self._description = describe(sweep)
        self.result: SweepResult | None = None
        self._rows: dict[int, dict[str, Any]] = {}
        super().__init__(sweep.pipeline.copy(), height=height)  # a copy: an edit here must not change the sweep
        self.run_options = dict(run_options)  # where Save and Load go, and the defaults of run()
        sweep._canvases.add(self)
        if result is not None:
            self._show_result(result)
        self._push_sweep()

    # ------------------------------------------------------------------ Python API

    def run(self, **run_options: Any) -> Run:  # type: ignore[override]
        """Run the whole sweep in the background (what the Run button does); returns its Run at once.

        The result is :attr:`result`. Options override the canvas defaults (``Sweep.run``'s).

        Raises:
            RunError: a run from this canvas is still going, or ``targets`` was given (a sweep runs whole).
        """
        if "targets" in run_options:
            raise RunError("A sweep canvas runs the whole sweep: 'Run to here' is for a pipeline's canvas "
                           "(open result.best_pipeline.canvas() to run part of one branch).")
        current = self._view.run
        if current is not None and not current.done:
            raise RunError(f"Sweep run {current.run_id} is still going; cancel it first (canvas.cancel()).")
        options = {"echo": False, **self.run_options, **run_options}
        return self._sweep.run(**options, wait=False).run

    def sync(self) -> None:
        """Send the whole state again now, the sweep too."""
        super().sync()
        self._push_sweep()
        with self._sync_lock:
            self.send_state(["sweep"])

    # ------------------------------------------------------------------ following a sweep run

    def _begin(self) -> Listener:
        """A sweep of this canvas starts: a fresh view, and the listener that feeds it."""
        view = RunView(self._view.previews)
        hub = self._hub
        hub.view = view
        self._rows = {}
        return lambda e: _on_run_event(hub, view, e)

    def _attach(self, result: SweepResult | None, error: str | None = None) -> None:
        """The sweep's run started (or could not start: ``result`` None, and why)."""
        view = self._view
        with view.lock:
            if result is None:
                view.state, view.error = "invalid", error
            else:
                self.result = result
                view.run = result.run
                if view.state == "starting":
                    view.state = "running"
            view.touch("status")
        _changed(self._hub, final=True)

    def _show_result(self, result: SweepResult) -> None:
        """Show a result that ran before this canvas opened: its run's node statuses as events would have set them."""
        view = RunView()
        view.run, self.result = result.run, result
        view.state = result.run.state if result.done else "running"
        for nid, status in result.run.status.items():
            view.nodes[nid] = {"status": status, "message": "", "progress": None}
            if status in ("completed", "cached", "failed"):
                view.pending.add(nid)
        self._hub.view = view
        self._run_throttle.flush()

    def _push_run(self) -> None:
        super()._push_run()
        if getattr(self, "_description", None) is not None:  # not while Canvas.__init__ pushes first
            self._push_sweep()

    def _push_sweep(self) -> None:
        view = self._view
        with view.lock:
            statuses = {nid: rec["status"] for nid, rec in view.nodes.items()}
            state = view.state
        nodes, per_branch = aggregate(self._sweep, statuses)
        doc = dict(self._description)
        doc["nodes"] = {nid: {**info, **nodes[nid]} for nid, info in self._description["nodes"].items()}
        configs = self._sweep.configs
        doc["branches"] = [{"config": json_safe(c), "nodes": b} for c, b in zip(configs, per_branch, strict=True)]
        doc["state"] = state
        result = self.result if self.result is not None and self.result.run is view.run else None
        try:
            doc["table"] = table_payload(result, self._rows) if result is not None else None
        except TensorragError as exc:  # a result whose records are gone: say so, keep the rest
            doc["table"], doc["error"] = None, str(exc)
        with self._sync_lock:
            self.sweep = doc

    def _preview_entry(self, run: Run, node_id: str, status: str) -> dict[str, Any]:
        entry = super()._preview_entry(run, node_id, status)
        original = node_id.rpartition(":")[0]
        if node_id not in self.pipeline.nodes and original in self.pipeline.nodes:
            node = self.pipeline.node(original)  # a branch copy previews as its node does
            entry["view"] = node.card.output_view_type if node.card is not None else "json"
        return entry
