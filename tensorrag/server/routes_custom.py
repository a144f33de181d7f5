"""The original's legacy ``/api/cards/custom`` routes: card files a user uploads outside any project.

Request and response shapes are the original's; the files are one user's
:class:`~tensorrag.server.custom.CustomCards` (listed from storage, not only those uploaded since
the process started, as the original did).
"""

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from tensorrag.errors import ArtifactNotFoundError
from tensorrag.server.custom import CustomCards
from tensorrag.server.models import CustomCardUpload
from tensorrag.server.responses import ERROR_RESPONSES
from tensorrag.server.state import State, User
from tensorrag.workspace._project import card_rejection

__all__ = ["router"]

router = APIRouter(prefix="/api/cards/custom", responses=ERROR_RESPONSES)


def _entry(cards: CustomCards, card_type: str, path: str) -> dict[str, Any]:
    return {"filename": path, "source_code": cards.read_card(path), "card_type": card_type}


@router.post("", response_model=None)
def upload(body: CustomCardUpload, user: User, state: State) -> dict[str, Any] | JSONResponse:
    """Validate (syntax tree only) and save: ``{success: true, card_type}``; 400 ``{detail: {errors}}``."""
    result = state.custom_cards(user).write_card(body.filename, body.source_code)
    if not result.success:
        return JSONResponse({"detail": card_rejection(body.filename, result)}, status_code=400)
    return {"success": True, "card_type": result.card_type}


@router.get("")
def list_custom(user: User, state: State) -> list[dict[str, Any]]:
    """``[{filename, source_code, card_type}]``: every registered custom card of the user, by card type."""
    cards = state.custom_cards(user)
    return [_entry(cards, card_type, path) for card_type, path in cards.cards.items()]


@router.delete("/{card_type}")
def delete_custom(card_type: str, user: User, state: State) -> dict[str, Any]:
    """Delete the file defining ``card_type``: ``{success: true}``; 404 when no custom card has that type."""
    cards = state.custom_cards(user)
    path = cards.cards.get(card_type)
    if path is None:
        known = ", ".join(map(repr, cards.cards)) or "none"
        raise ArtifactNotFoundError(
            f"No custom card of type {card_type!r} for user {user!r}. Custom cards: {known}. "
            "Upload one with POST /api/cards/custom {filename, source_code}."
        )
    cards.delete_card(path)
    return {"success": True}
