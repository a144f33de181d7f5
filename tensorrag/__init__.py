"""tensorrag: ML pipelines built from cards.

One graph, three faces: build it in code (:class:`Pipeline`, :class:`BaseCard`, :func:`card`),
edit it on a canvas in Jupyter, save it as ``_pipeline.json``; run it on pluggable executors
over any fsspec storage::

    import tensorrag as tr

    p = tr.Pipeline("regression")
    p.add("data_load", id="load", source="sample", sample_name="diabetes")
    p.add("data_split", id="split", test_ratio=0.2)
    p.connect("load", "dataset", "split", "dataset")
    run = p.run()
"""


from tensorrag import executors, storage
from tensorrag._context import report_progress
from tensorrag._version import __version__
from tensorrag.cards import BaseCard, CardFunction, card
from tensorrag.cards.catalog import list_cards, register
from tensorrag.errors import (
    ArgumentError,
    ArtifactCorruptError,
    ArtifactNotFoundError,
    CacheTokenError,
    CardConfigError,
    CardDefinitionError,
    CardError,
    CardExecutionError,
    CardFileTooLargeError,
    ConfigError,
    DuplicateNodeError,
    ExecutorError,
    MissingOutputError,
    NodeFailedError,
    PipelineError,
    PipelineValidationError,
    RegistryError,
    RemoteCardError,
    RunError,
    SpecError,
    StorageError,
    StorageFullError,
    StoragePermissionError,
    StorageUnavailableError,
    SweepError,
    TaskCancelledError,
    TaskTimeoutError,
    TensorragError,
    UnauthorizedError,
    UnknownCardTypeError,
    UnknownNodeError,
    UnknownSweepFieldError,
    UnsafePathError,
    WiringError,
    WorkerLostError,
)
from tensorrag.pipeline import Edge, Node, Pipeline
from tensorrag.run import Run
from tensorrag.sweep import Sweep, SweepResult
from tensorrag.workspace import Project, Workspace

__all__ = [
    "ArgumentError",
    "ArtifactCorruptError",
    "ArtifactNotFoundError",
    "BaseCard",
    "CacheTokenError",
    "CardConfigError",
    "CardDefinitionError",
    "CardError",
    "CardExecutionError",
    "CardFileTooLargeError",
    "CardFunction",
    "ConfigError",
    "DuplicateNodeError",
    "Edge",
    "ExecutorError",
    "MissingOutputError",
    "Node",
    "NodeFailedError",
    "Pipeline",
    "PipelineError",
    "PipelineValidationError",
    "Project",
    "RegistryError",
    "RemoteCardError",
    "Run",
    "RunError",
    "SpecError",
    "StorageError",
    "StorageFullError",
    "StoragePermissionError",
    "StorageUnavailableError",
    "Sweep",
    "SweepError",
    "SweepResult",
    "TaskCancelledError",
    "TaskTimeoutError",
    "TensorragError",
    "UnauthorizedError",
    "UnknownCardTypeError",
    "UnknownNodeError",
    "UnknownSweepFieldError",
    "UnsafePathError",
    "WiringError",
    "WorkerLostError",
    "Workspace",
    "__version__",
    "card",
    "executors",
    "list_cards",
    "register",
    "report_progress",
    "storage",
]
