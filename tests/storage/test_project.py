"""ProjectStore: what ``ArtifactStore.project()`` returns, told apart from plain stores by its type."""

from __future__ import annotations

import pickle

from tensorrag.storage import ArtifactStore, ProjectStore
from tensorrag.storage._backends import FsspecBackend, LocalBackend, MemoryBackend


def test_project_returns_a_project_store(store: ArtifactStore) -> None:
    proj = store.project("demo", user="alice")
    assert isinstance(proj, ProjectStore) and proj.project_name == "demo"
    assert not isinstance(store, ProjectStore) and store.project_name is None
    assert proj == ArtifactStore(proj.url, proj.options)  # same url and options: the same store


def test_folders_inside_a_project_are_plain_stores(store: ArtifactStore) -> None:
    proj = store.project("demo", user="alice")
    child = proj.scoped("artifacts")
    assert type(child) is ArtifactStore and child.project_name is None
    assert child.url == proj.url + "/artifacts"
    assert proj.scoped() is proj
    nested = proj.project("inner", user="bob")  # a project below a project is a project again
    assert isinstance(nested, ProjectStore) and nested.url == proj.url + "/bob/workspace/inner"


def test_pickled_project_store_reopens_as_a_plain_store(store: ArtifactStore) -> None:
    proj = store.project("demo", user="alice")
    back = pickle.loads(pickle.dumps(proj))
    assert back == proj and type(back) is ArtifactStore  # the wire form names no project
    assert type(ArtifactStore.from_wire(proj.to_wire())) is ArtifactStore


def test_one_backend_per_filesystem_kind(local_store: ArtifactStore, memory_store: ArtifactStore) -> None:
    assert type(local_store._backend) is LocalBackend
    assert type(memory_store._backend) is MemoryBackend
    assert type(local_store.project("p", user="u")._backend) is LocalBackend
    assert issubclass(LocalBackend, FsspecBackend) and issubclass(MemoryBackend, FsspecBackend)
