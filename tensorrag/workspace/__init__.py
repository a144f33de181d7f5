"""Workspaces and projects: saved pipelines, custom card files and run history in one store.

A :class:`Workspace` is a storage root plus a user; a :class:`Project` is one folder in it
(design.md §5)::

    {root}/{user}/workspace/{project}/_pipeline.json        the saved graph (+ _history/ versions)
    {root}/{user}/workspace/{project}/cards/**.py            the project's card files
    {root}/{user}/workspace/{project}/runs/{run_id}.json     run manifests
    {root}/{user}/workspace/{project}/artifacts/{key}/...    outputs and cache entries

::

    ws = tr.Workspace("s3://bucket/tensorrag", user="default")   # or a path; None = configured store
    proj = ws.create_project("image-classification")
    proj.write_card("data/load_images.py", source)               # validated by reading its AST
    p = tr.Pipeline("train", project=proj)                         # built-in + this project's cards
    run = p.run()                                                  # artifacts and manifest under the project
    proj.save_pipeline(p); proj.history(); proj.runs()

**Card files are never executed to register them.** Each file under ``cards/`` is validated by
:func:`~tensorrag.cards.validate.validate_card_source` (which only reads the syntax tree); a valid
file becomes a generated :class:`ProjectCard` subclass that carries the literal attributes read
from the file (``card_type``, ports, ``config_schema``, ``resources``, ...) and the file's source.
The source runs only when a node of that type executes — in the worker, in a module namespace of
its own (:func:`tensorrag.executors.runtime.resolve_card`). The card's fingerprint is a hash of
the source, so editing a card file invalidates the cached results of the old code.

Every project has its own registry (a child of the global one), so two projects may define the
same ``card_type`` differently and both work in one process. Every name and path a user gives
(user, project, card path, run id, history version) is checked before it touches storage
(:class:`~tensorrag.errors.UnsafePathError`): nothing typed can escape the project folder.
"""

from tensorrag.storage.paths import MAX_CARD_PATH, check_card_path
from tensorrag.workspace._cards import ProjectCard, card_class_from_source
from tensorrag.workspace._project import Project
from tensorrag.workspace._workspace import Workspace

__all__ = ["MAX_CARD_PATH", "Project", "ProjectCard", "Workspace", "card_class_from_source", "check_card_path"]
