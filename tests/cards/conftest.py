import pytest

from tests.cards.runner import Runner


@pytest.fixture
def runner() -> Runner:
    """A fresh :class:`Runner` (cards run the engine's way over their own memory:// store)."""
    return Runner()
