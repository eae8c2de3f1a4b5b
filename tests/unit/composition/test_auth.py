"""Protected writes: [api.auth] bearer tokens and basic credentials, 401/403, reads optional."""

from __future__ import annotations

import base64
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest

from composition.http import create_app
from indexer.backends import open_index
from seedpipe.errors import ConfigError
from seedpipe.settings import Settings

TOKEN = "a-long-bearer-token-0123456789"


def basic(user: str, password: str) -> dict[str, str]:
    raw = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def settings(tmp_path: Path, **auth: Any) -> Settings:
    return Settings.model_validate(
        {"data_dir": str(tmp_path), "api": {"auth": auth}, "config_dir": str(tmp_path)}
    )


async def call(s: Settings, method: str, path: str, **kw: Any) -> httpx.Response:
    async with open_index(s.index) as index:
        app = create_app(s, index=index)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return await client.request(method, path, **kw)


async def test_without_auth_settings_writes_are_open_as_before(tmp_path: Path) -> None:
    resp = await call(settings(tmp_path), "POST", "/jobs/nope/cancel")
    assert resp.status_code == 404


async def test_a_write_without_credentials_is_401_with_a_challenge(tmp_path: Path) -> None:
    s = settings(tmp_path, tokens=[TOKEN])
    for path in ("/jobs/x/cancel", "/recipes", "/jobs", "/batches", "/files/x/purge"):
        resp = await call(s, "POST", path, json={})
        assert resp.status_code == 401, path
        assert "Bearer" in resp.headers["www-authenticate"]
        assert "authentication required" in resp.json()["detail"]


async def test_a_wrong_token_is_403_and_never_echoed_or_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    s = settings(tmp_path, tokens=[TOKEN])
    wrong = "guess-guess-guess-guess"
    resp = await call(s, "POST", "/jobs/x/cancel", headers={"Authorization": f"Bearer {wrong}"})
    assert resp.status_code == 403
    assert wrong not in resp.text and TOKEN not in resp.text
    assert wrong not in caplog.text and TOKEN not in caplog.text


async def test_the_right_token_or_basic_credentials_pass(tmp_path: Path) -> None:
    s = settings(tmp_path, tokens=[TOKEN], username="ops", password="pw-very-secret")
    ok = await call(s, "POST", "/jobs/x/cancel", headers={"Authorization": f"Bearer {TOKEN}"})
    assert ok.status_code == 404  # past the guard: there is no such job
    ok = await call(s, "POST", "/jobs/x/cancel", headers=basic("ops", "pw-very-secret"))
    assert ok.status_code == 404
    bad = await call(s, "POST", "/jobs/x/cancel", headers=basic("ops", "nope"))
    assert bad.status_code == 403
    garbled = await call(s, "POST", "/jobs/x/cancel", headers={"Authorization": "Basic ***"})
    assert garbled.status_code == 401
    odd = await call(s, "POST", "/jobs/x/cancel", headers={"Authorization": "Digest x"})
    assert odd.status_code == 401


async def test_reads_stay_open_unless_protected_and_health_always(tmp_path: Path) -> None:
    s = settings(tmp_path, tokens=[TOKEN])
    assert (await call(s, "GET", "/jobs")).status_code == 200
    assert (await call(s, "POST", "/search", json={})).status_code == 200  # a read
    locked = settings(tmp_path, tokens=[TOKEN], protect_reads=True)
    assert (await call(locked, "GET", "/jobs")).status_code == 401
    assert (await call(locked, "GET", "/files")).status_code == 401
    assert (await call(locked, "GET", "/healthz")).status_code == 200
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert (await call(locked, "GET", "/jobs", headers=auth)).status_code == 200


@pytest.mark.parametrize(
    ("auth", "field"),
    [
        ({"username": "ops"}, "password"),
        ({"password": "x"}, "username"),
        ({"tokens": ["short"]}, "tokens[0]"),
        ({"protect_reads": True}, "protect_reads"),
    ],
)
def test_bad_auth_settings_are_refused_naming_the_setting(
    tmp_path: Path, auth: dict[str, Any], field: str
) -> None:
    config = tmp_path / "seedpipe.toml"
    lines = ["[api.auth]"]
    for key, value in auth.items():
        rendered = str(value).lower() if isinstance(value, bool) else repr(value)
        lines.append(f"{key} = {rendered}".replace("'", '"'))
    config.write_text("\n".join(lines) + "\n")
    with pytest.raises(ConfigError) as info:
        Settings.load(config)
    assert "api.auth" in str(info.value) and field in str(info.value)
    assert "short" not in str(info.value)
