"""Configuration read from the environment, and the refusal to run production insecurely."""

from __future__ import annotations

import importlib

import pytest

import config


@pytest.fixture
def env(monkeypatch, tmp_path):
    monkeypatch.setenv("WANGGE_INSTANCE", str(tmp_path))
    importlib.reload(config)
    yield monkeypatch
    monkeypatch.undo()
    importlib.reload(config)


@pytest.mark.parametrize("key", [None, "", "changeme", "short-but-not-weak", "a" * 40])
def test_production_refuses_a_weak_secret_key(env, key):
    env.setenv("WANGGE_ENV", "production")
    if key is None:
        env.delenv("SECRET_KEY", raising=False)
    else:
        env.setenv("SECRET_KEY", key)
    with pytest.raises(config.ConfigError):
        config.load()


def test_production_accepts_a_strong_secret_key(env):
    env.setenv("WANGGE_ENV", "production")
    env.setenv("SECRET_KEY", "Qm9sZCByYW5kb20ga2V5IGZvciB0ZXN0cyBvbmx5IQ-x7")
    assert config.load()["SECRET_KEY"].startswith("Qm9s")


def test_development_generates_and_keeps_a_secret_key(env, tmp_path):
    env.setenv("WANGGE_ENV", "development")
    env.delenv("SECRET_KEY", raising=False)
    first = config.load()["SECRET_KEY"]
    assert len(first) >= 32 and (tmp_path / "secret_key").read_text().strip() == first
    assert config.load()["SECRET_KEY"] == first


def test_defaults_are_embedded_and_urls_are_normalised(env, tmp_path):
    env.delenv("DATABASE_URL", raising=False)
    env.delenv("REDIS_URL", raising=False)
    cfg = config.load()
    assert cfg["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'wangge.db'}"
    assert cfg["REDIS_URL"] == "embedded"
    env.setenv("DATABASE_URL", "postgres://u@h/db")
    assert config.load()["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h/db"
