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


@pytest.mark.parametrize("host,origin", [("127.0.0.1:8000", "http://127.0.0.1:1"),
                                         ("localhost:8000", "http://localhost:8001"),
                                         ("localhost:8000", "https://localhost:8000"),
                                         ("localhost:8000", "http://localhost"),
                                         ("localhost:8000", "ftp://localhost:8000")])
def test_origin_must_match_scheme_host_and_port(host: str, origin: str) -> None:
    """A page on another local port (or served over another scheme) is another origin: its changes are refused."""
    assert "cross-site" in check("POST", host=host, origin=origin)
    assert "cross-site" in check("PATCH", host=host, origin=origin)


@pytest.mark.parametrize("host,origin", [("localhost:8000", "http://localhost:8000"),
                                         ("LOCALHOST:8000", "http://localhost:8000"),
                                         ("localhost", "http://localhost:80"),
                                         ("[::1]:8000", "http://[::1]:8000")])
def test_own_origin_is_accepted(host: str, origin: str) -> None:
    assert check("POST", host=host, origin=origin) is None


def test_https_origin_is_matched_against_the_https_scheme() -> None:
    h = Headers(headers={"host": "localhost:8443", "origin": "https://localhost:8443"})
    assert cross_site_problem(h, "POST", LOOPBACK_HOSTS, scheme="https") is None
    assert "cross-site" in cross_site_problem(h, "POST", LOOPBACK_HOSTS, scheme="http")


def test_referer_of_another_port_is_refused_when_there_is_no_origin() -> None:
    assert "cross-site" in check("POST", host="127.0.0.1:8000", referer="http://127.0.0.1:1/page.html")
    assert check("POST", host="127.0.0.1:8000", referer="http://127.0.0.1:8000/") is None


def test_server_refuses_a_change_from_a_page_on_another_local_port() -> None:
    """Through the middleware, as the issue's curl did: `Origin: http://127.0.0.1:1` on a POST is a 403."""
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from celebface.service.guard import RequestGuard

    app = FastAPI()
    app.post("/api/x")(lambda: {"ok": True})
    app.add_middleware(RequestGuard, token=None, max_body=1024, allowed_hosts=LOOPBACK_HOSTS)
    client = TestClient(app, base_url="http://127.0.0.1:8000")
    assert client.post("/api/x", headers={"Origin": "http://127.0.0.1:1"}).status_code == 403
    assert client.post("/api/x", headers={"Origin": "http://127.0.0.1:8000"}).status_code == 200
    assert client.post("/api/x").status_code == 200  # curl and scripts send no Origin
