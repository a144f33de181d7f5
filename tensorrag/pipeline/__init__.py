"""``Pipeline``: a mutable, observable DAG of card nodes.

Build it in code, load it from ``_pipeline.json``, or let the canvas edit it — every edit goes
through the methods of :class:`Pipeline`, so all three get the same checks and the same errors::

    p = Pipeline("regression")
    p.add("data_load", id="load", source="sample", sample_name="diabetes")
    p.add("data_split", id="split", test_ratio=0.2)
    p.connect("load", "dataset", "split", "dataset")
    p.validate()                      # raises PipelineValidationError listing every problem
    run = p.run()

The package, one job per module:

* ``_pipeline``: :class:`Pipeline` (reading, observing, editing, and the hand-offs to run, canvas
  and codegen); ``_node``: :class:`Node`.
* ``_checks``: what ``validate`` and ``connect`` refuse, and how they word it.
* ``_graph``: pure graph algorithms over node ids and edges (one adjacency builder).
* ``_document``: the ``_pipeline.json`` document, files, and ``replace`` staging.
* ``_bypass``: disabled nodes (``disable``/``enable``) and what a run skips because of them.
"""

from tensorrag.pipeline._node import Node
from tensorrag.pipeline._pipeline import Edge, Pipeline
from tensorrag.pipeline._pipeline import Listener as Listener  # importable as before, not in __all__

__all__ = ["Edge", "Node", "Pipeline"]
