"""One user's legacy custom cards (``/api/cards/custom``): a card folder handled like a project's card files.

The original kept them in ``{user}/custom_cards/{filename}`` and registered them in the process's
global registry, shared by every user. Here they are ``{root}/{user}/custom_cards/cards/{filename}``,
validated by the syntax tree only (never run in the server) by the same code as a project's card
files, visible in that user's ``/api/cards`` and usable by that user's pipelines of the original's
run routes (a project's own card of the same type wins).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tensorrag.storage import safe_name
from tensorrag.workspace import Project, Workspace
from tensorrag.workspace._cards import ProjectCardFiles

if TYPE_CHECKING:
    from tensorrag.pipeline import Pipeline
    from tensorrag.storage import ArtifactStore

__all__ = ["CUSTOM_CARDS", "CustomCards"]

#: The user folder holding the legacy custom cards (the original's name).
CUSTOM_CARDS = "custom_cards"


class CustomCards(Project):
    """One user's legacy custom cards: a card folder with a project's card-file handling, but no project.

    Not a project of the workspace (it is not listed, has no pipeline or runs); only the card
    methods of :class:`~tensorrag.workspace.Project` are meant for it.
    """

    def __init__(self, root: ArtifactStore, user: str) -> None:  # no Project.__init__: there is no project folder
        self.workspace = Workspace(root, user=user)
        self.name = CUSTOM_CARDS
        self.store = root.scoped(safe_name(user, "user"), CUSTOM_CARDS)
        self._cards = ProjectCardFiles(self.store, f"{CUSTOM_CARDS} of user {user}")

    def __repr__(self) -> str:
        return f"CustomCards({self.store.url!r})"

    def lend(self, pipeline: Pipeline) -> Pipeline:
        """Register on ``pipeline`` the custom cards its registry lacks (nodes of those types resolve); returns it."""
        for card_type in self.cards:
            if card_type not in pipeline.registry:
                pipeline.register(self.card(card_type))
        return pipeline
