"""The notebook canvas's card editor, kernel side: card-file requests that arrive as custom messages.

The browser's editor (widget/src/components/CardEditor.tsx, through widget/src/kernelApi.ts) sends
``{"type": "cards", "id", "op", ...}`` and gets one ``{"type": "cards_reply", "id", "ok", "result" |
"error"}`` back. Every operation is the workspace's own (:class:`~tensorrag.workspace.Project`,
:func:`~tensorrag.cards.validate.validate_card_source`), the very functions the server's card routes
call, so the answers match the web page's: a card file is read as a syntax tree and **never executed
in the kernel**; it runs only when a node of its type runs, in the worker.

Which card files: those of the pipeline's workspace project (``Pipeline(name, project=proj)``).
A pipeline in no project edits the cards of the project folder the canvas already saves to and
runs in (``{storage}/{user}/workspace/{project}``, from the canvas's ``storage``/``project``/``user``
run options; the project defaults to the pipeline's name); those card types are registered on the
pipeline. After every change the palette is sent again and nodes of a changed card type are bound
to the new class.

=============  ====================================  ==========================================
op             request fields                        result
=============  ====================================  ==========================================
list           —                                     ``{project, url, entries: [{path, type}]}``
read           ``path``                              ``{path, source_code}``
validate       ``source_code``, ``path``?            ``{success, errors, extracted_schema}``
save           ``path``, ``source_code``             ``{success, card_type, errors}``
folder         ``path``                              ``{success, path}``
delete         ``path``                              ``{success}``
delete_folder  ``path``                              ``{success}``
=============  ====================================  ==========================================

An error answer is ``{"type": <error class>, "message": <the library's message>}``; a card file that
is not valid adds ``errors`` (``[{line, message, severity}]``) and is not saved.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from tensorrag.cards.base import card_class_of
from tensorrag.cards.validate import validate_card_source
from tensorrag.errors import ArgumentError, CardDefinitionError, TensorragError
from tensorrag.workspace import Project, Workspace
from tensorrag.workspace._project import card_rejection

if TYPE_CHECKING:
    from tensorrag.widget._canvas import Canvas

__all__ = ["OPS", "CardEditor", "CardRejectedError"]

log = logging.getLogger(__name__)

#: The operations a ``cards`` message may ask for.
OPS = ("list", "read", "validate", "save", "folder", "delete", "delete_folder")
_CHANGES = frozenset({"save", "delete", "delete_folder"})


class CardRejectedError(CardDefinitionError):
    """A card file the editor did not save because it is invalid; ``body`` lists every issue with its line."""

    def __init__(self, body: dict[str, Any]) -> None:
        super().__init__(body["message"])
        self.body = body


class CardEditor:
    """Answers one canvas's card-editor requests (see the module docstring).

    Args:
        canvas: the canvas whose pipeline, palette and project the editor works on.
    """

    def __init__(self, canvas: Canvas) -> None:
        self._canvas = canvas
        self._lock = threading.RLock()
        self._project: Project | None = None
        self._bound: dict[str, type[Any]] = {}  # card types this editor registered on a project-less pipeline
        self._synced = False

    @property
    def project(self) -> Project:
        """The project whose card files the editor edits (opened on first use; nothing is written to open it)."""
        own = self._canvas.pipeline.project
        if isinstance(own, Project):
            return own
        if self._project is None:
            root, name, user = self._canvas._project_target()
            self._project = Project(Workspace(root, user=user), name)
        return self._project

    # ------------------------------------------------------------------ messages

    def handle(self, content: dict[str, Any]) -> None:
        """Answer one ``cards`` message with one ``cards_reply`` (errors included: the comm never sees them)."""
        reply: dict[str, Any] = {"type": "cards_reply", "id": content.get("id"), "op": content.get("op")}
        try:
            reply["result"], reply["ok"] = self.request(content.get("op"), content), True
        except CardRejectedError as exc:
            reply["error"], reply["ok"] = exc.body, False
        except TensorragError as exc:
            reply["error"], reply["ok"] = {"type": type(exc).__name__, "message": str(exc)}, False
        except Exception as exc:  # a bug must not kill the comm: say what happened, keep the traceback in the log
            log.exception("card editor request %r failed", content.get("op"))
            reply["error"], reply["ok"] = {"type": type(exc).__name__, "message": f"{type(exc).__name__}: {exc}"}, False
        self._canvas.send(reply)

    def request(self, op: Any, args: dict[str, Any] | None = None) -> Any:
        """Do one operation and return its result (what :meth:`handle` sends back).

        Raises:
            ArgumentError: an unknown operation, or a missing or mistyped field.
            CardRejectedError: ``save`` of a card file that is not valid (nothing saved).
            TensorragError: what the workspace raises (unsafe path, no such file, storage errors).
        """
        args = args or {}
        if op not in OPS:
            raise ArgumentError(f"Unknown card editor operation {op!r}; expected one of: {', '.join(OPS)}.")
        with self._lock:
            project = self.project
            if not self._synced:
                self._sync()  # the project's existing cards reach the palette when the editor first asks
            result = getattr(self, f"_op_{op}")(project, args)
            if op in _CHANGES:
                self._sync()
        return result

    # ------------------------------------------------------------------ operations

    def _op_list(self, project: Project, _args: dict[str, Any]) -> dict[str, Any]:
        return {"project": project.name, "url": project.url, "entries": project.card_entries()}

    def _op_read(self, project: Project, args: dict[str, Any]) -> dict[str, Any]:
        path = _field(args, "path", "read")
        return {"path": path, "source_code": project.read_card(path)}

    def _op_validate(self, _project: Project, args: dict[str, Any]) -> dict[str, Any]:
        source = _field(args, "source_code", "validate")
        path = args.get("path")
        filename = path if isinstance(path, str) and path else "<source_code>"
        return validate_card_source(source, filename=filename).to_dict()

    def _op_save(self, project: Project, args: dict[str, Any]) -> dict[str, Any]:
        path, source = _field(args, "path", "save"), _field(args, "source_code", "save")
        result = project.write_card(path, source)
        if not result.success:
            raise CardRejectedError(card_rejection(path, result))
        return {"success": True, "card_type": result.card_type, "errors": [i.to_dict() for i in result.errors]}

    def _op_folder(self, project: Project, args: dict[str, Any]) -> dict[str, Any]:
        return {"success": True, "path": project.create_card_folder(_field(args, "path", "folder"))}

    def _op_delete(self, project: Project, args: dict[str, Any]) -> dict[str, Any]:
        project.delete_card(_field(args, "path", "delete"))
        return {"success": True}

    def _op_delete_folder(self, project: Project, args: dict[str, Any]) -> dict[str, Any]:
        project.delete_folder(_field(args, "path", "delete_folder"))
        return {"success": True}

    # ------------------------------------------------------------------ the pipeline follows the files

    def _sync(self) -> None:
        """Make the pipeline, its nodes and the palette match the project's card files."""
        pipeline = self._canvas.pipeline
        if not isinstance(pipeline.project, Project):
            self._bind(pipeline.registry)
        self._synced = True
        registry = pipeline.registry
        if any(_resolve(registry, node.card_type) is not node.card for node in pipeline):
            pipeline.replace(pipeline.to_dict())  # nodes are bound to a card class when made: make them again
        self._canvas._refresh_palette()

    def _bind(self, registry: Any) -> None:
        project = self.project
        cards = {card_type: project.card(card_type) for card_type in project.cards}
        for card_type, cls in list(self._bound.items()):
            if cards.get(card_type) is not cls:
                del self._bound[card_type]
                if registry.view.get(card_type) is cls:
                    registry.unregister(card_type)
        for card_type, cls in cards.items():
            if card_type not in self._bound and card_type not in registry.view:  # one registered in code wins
                registry.register(card_type, cls)
                self._bound[card_type] = cls


def _resolve(registry: Any, card_type: str) -> Any:
    try:
        return card_class_of(registry.get(card_type))
    except TensorragError:
        return None


def _field(args: dict[str, Any], name: str, op: str) -> str:
    value = args.get(name)
    if not isinstance(value, str) or (name == "path" and not value.strip()):
        example = "'data/my_card.py'" if name == "path" else "the card file's text"
        raise ArgumentError(
            f"Card editor operation {op!r} needs {name!r} (a string: {example}); got {type(value).__name__} {value!r}."
        )
    return value
