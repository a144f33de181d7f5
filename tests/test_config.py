from __future__ import annotations

import os

import pytest

from tensorrag.config import Settings, get_settings
from tensorrag.errors import ConfigError


class TestDefaults:
    def test_empty_environment(self):
        s = get_settings(environ={})
        assert s.storage_url == "./.tensorrag"
        assert s.storage_options == {}
        assert s.user == "default"
        assert s.project is None
        assert s.executor == "local"
        assert s.max_workers == max(4, os.cpu_count() or 1)
        assert s.progress == "auto"
        assert s.modal_enabled is True
        assert s.modal_app == "tensorrag"

    def test_settings_are_frozen(self):
        s = get_settings(environ={})
        with pytest.raises(AttributeError):
            s.user = "x"  # type: ignore[misc]

    def test_reads_os_environ_by_default(self, monkeypatch):
        monkeypatch.setenv("TENSORRAG_USER", "from-os")
        assert get_settings().user == "from-os"

    def test_explicit_environ_ignores_os_environ(self, monkeypatch):
        monkeypatch.setenv("TENSORRAG_USER", "from-os")
        assert get_settings(environ={}).user == "default"

    def test_settings_dataclass_defaults(self):
        assert Settings().storage_url == "./.tensorrag"


class TestOriginalNames:
    def test_storage_dir(self):
        assert get_settings(environ={"STORAGE_DIR": "/data/store"}).storage_url == "/data/store"

    def test_default_user_id(self):
        assert get_settings(environ={"DEFAULT_USER_ID": "alice"}).user == "alice"

    def test_s3_enabled_builds_url_and_options(self):
        env = {
            "S3_ENABLED": "true",
            "S3_BUCKET": "my-bucket",
            "S3_ENDPOINT": "http://localhost:9000",
            "S3_REGION": "eu-west-1",
            "S3_ACCESS_KEY": "AKIA",
            "S3_SECRET_KEY": "s3cr3t",
            "STORAGE_DIR": "/ignored/when/s3",
        }
        s = get_settings(environ=env)
        assert s.storage_url == "s3://my-bucket"
        assert s.storage_options == {
            "client_kwargs": {"endpoint_url": "http://localhost:9000", "region_name": "eu-west-1"},
            "key": "AKIA",
            "secret": "s3cr3t",
        }

    def test_s3_default_bucket_and_no_options(self):
        s = get_settings(environ={"S3_ENABLED": "1"})
        assert s.storage_url == "s3://tensorrag"
        assert s.storage_options == {}

    def test_s3_blank_bucket_falls_back(self):
        assert get_settings(environ={"S3_ENABLED": "yes", "S3_BUCKET": "  "}).storage_url == "s3://tensorrag"

    def test_s3_endpoint_only(self):
        s = get_settings(environ={"S3_ENABLED": "on", "S3_ENDPOINT": "http://minio:9000"})
        assert s.storage_options == {"client_kwargs": {"endpoint_url": "http://minio:9000"}}

    def test_s3_disabled_ignores_s3_vars(self):
        s = get_settings(environ={"S3_ENABLED": "false", "S3_BUCKET": "b", "S3_ACCESS_KEY": "k"})
        assert s.storage_url == "./.tensorrag"
        assert s.storage_options == {}

    @pytest.mark.parametrize(("raw", "expected"), [("false", False), ("0", False), ("no", False), ("TRUE", True)])
    def test_modal_enabled(self, raw, expected):
        assert get_settings(environ={"MODAL_ENABLED": raw}).modal_enabled is expected


class TestPrecedence:
    def test_tensorrag_storage_beats_storage_dir(self):
        s = get_settings(environ={"TENSORRAG_STORAGE": "memory://x", "STORAGE_DIR": "/d"})
        assert s.storage_url == "memory://x"

    def test_tensorrag_storage_beats_s3_bucket_but_keeps_options(self):
        env = {"TENSORRAG_STORAGE": "s3://other/prefix", "S3_ENABLED": "true", "S3_BUCKET": "b", "S3_ACCESS_KEY": "k"}
        s = get_settings(environ=env)
        assert s.storage_url == "s3://other/prefix"
        assert s.storage_options == {"key": "k"}

    def test_s3_tensorrag_storage_without_s3_enabled_takes_s3_options(self):
        env = {"TENSORRAG_STORAGE": "s3://b/prefix", "S3_ENDPOINT": "http://minio:9000", "S3_ACCESS_KEY": "k"}
        s = get_settings(environ=env)
        assert s.storage_url == "s3://b/prefix"
        assert s.storage_options == {"client_kwargs": {"endpoint_url": "http://minio:9000"}, "key": "k"}

    def test_configured_s3_root_opens_with_the_options_of_the_same_url(self, monkeypatch):
        from tensorrag.storage import open_store

        for name, value in {"TENSORRAG_STORAGE": "s3://b/prefix", "S3_ENDPOINT": "http://127.0.0.1:9",
                            "S3_ACCESS_KEY": "k", "S3_SECRET_KEY": "s"}.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("S3_ENABLED", raising=False)
        assert open_store().options == open_store("s3://b/prefix").options
        assert open_store().options["key"] == "k"

    def test_tensorrag_user_beats_default_user_id(self):
        assert get_settings(environ={"TENSORRAG_USER": "bob", "DEFAULT_USER_ID": "alice"}).user == "bob"

    def test_other_tensorrag_vars(self):
        env = {
            "TENSORRAG_PROJECT": "proj",
            "TENSORRAG_EXECUTOR": "process",
            "TENSORRAG_MAX_WORKERS": "7",
            "TENSORRAG_PROGRESS": " OFF ",
            "TENSORRAG_MODAL_APP": "my-app",
        }
        s = get_settings(environ=env)
        assert (s.project, s.executor, s.max_workers, s.progress, s.modal_app) == (
            "proj",
            "process",
            7,
            "off",
            "my-app",
        )

    def test_empty_values_mean_default(self):
        env = {"TENSORRAG_PROJECT": "", "TENSORRAG_MAX_WORKERS": "", "TENSORRAG_PROGRESS": "", "DEFAULT_USER_ID": ""}
        s = get_settings(environ=env)
        assert (s.project, s.progress, s.user) == (None, "auto", "default")
        assert s.max_workers >= 4


class TestErrors:
    @pytest.mark.parametrize("name", ["S3_ENABLED", "MODAL_ENABLED"])
    def test_bad_boolean_names_variable(self, name):
        with pytest.raises(ConfigError, match=rf"^{name} must be true or false .*got 'maybe'"):
            get_settings(environ={name: "maybe"})

    def test_bad_integer_names_variable(self):
        with pytest.raises(ConfigError, match=r"TENSORRAG_MAX_WORKERS must be a positive integer; got 'four'"):
            get_settings(environ={"TENSORRAG_MAX_WORKERS": "four"})

    @pytest.mark.parametrize("raw", ["0", "-2"])
    def test_non_positive_integer(self, raw):
        with pytest.raises(ConfigError, match="TENSORRAG_MAX_WORKERS must be a positive integer"):
            get_settings(environ={"TENSORRAG_MAX_WORKERS": raw})

    def test_bad_progress(self):
        with pytest.raises(ConfigError, match=r"TENSORRAG_PROGRESS must be one of auto, on, off; got 'sometimes'"):
            get_settings(environ={"TENSORRAG_PROGRESS": "sometimes"})

    def test_config_error_is_value_error(self):
        with pytest.raises(ValueError):
            get_settings(environ={"MODAL_ENABLED": "perhaps"})
