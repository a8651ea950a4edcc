"""Cross-site requests and DNS rebinding are refused: Host must be one the server answers to, and a change
(POST, DELETE...) from a page of another origin is refused."""
from __future__ import annotations

import pytest
from starlette.datastructures import Headers

from celebface.service.guard import LOOPBACK_HOSTS, cross_site_problem


def check(method: str, **headers: str):
    return cross_site_problem(Headers(headers={k.replace("_", "-"): v for k, v in headers.items()}), method,
                              LOOPBACK_HOSTS)


@pytest.mark.parametrize("host", ["localhost:8000", "127.0.0.1:8000", "[::1]:8000", "localhost"])
def test_loopback_hosts_are_served(host: str) -> None:
    assert check("GET", host=host) is None
    assert check("POST", host=host, origin=f"http://{host}") is None
    assert check("POST", host=host) is None  # curl and scripts send no Origin


def test_rebinding_host_is_refused() -> None:
    assert "evil.example" in check("GET", host="evil.example:8000")


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://127.0.0.1.evil.example:8000"])
def test_cross_site_change_is_refused(origin: str) -> None:
    assert "cross-site" in check("POST", host="localhost:8000", origin=origin)
    assert "cross-site" in check("DELETE", host="localhost:8000", origin=origin)
    assert check("GET", host="localhost:8000", origin=origin) is None  # reading is what CORS already guards


def test_fetch_metadata_cross_site_is_refused() -> None:
    assert "cross-site" in check("POST", host="localhost:8000", sec_fetch_site="cross-site")


def test_allow_list_and_wildcard() -> None:
    h = Headers(headers={"host": "faces.lan:8000"})
    assert cross_site_problem(h, "GET", ("faces.lan",)) is None
    assert cross_site_problem(h, "GET", ("*",)) is None
    assert cross_site_problem(h, "GET", None) is None
