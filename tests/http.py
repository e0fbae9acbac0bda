"""A visitor of a live server (gunicorn in a subprocess), for the deployment and fault tests:
urllib with cookies, no redirects followed, one connection per request, so that requests spread
over the server's workers."""

from __future__ import annotations

import dataclasses
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from email.message import Message
from typing import Any


@dataclasses.dataclass
class Reply:
    status: int
    headers: Message
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")

    def json(self) -> Any:
        return json.loads(self.body)


class _KeepRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # a 3xx comes back as it is


class Visitor:
    """Keeps cookies, follows no redirect; HTTP errors come back as replies, connection errors
    propagate."""

    def __init__(self, base_url: str, timeout: float = 30) -> None:
        self.base_url, self.timeout = base_url, timeout
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(), _KeepRedirects()
        )

    def open(
        self, path: str, form: dict[str, str] | None = None, headers: dict[str, str] | None = None
    ) -> Reply:
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        request = urllib.request.Request(self.base_url + path, data, headers or {})
        try:
            with self.opener.open(request, timeout=self.timeout) as response:
                return Reply(response.status, response.headers, response.read())
        except urllib.error.HTTPError as error:
            with error:
                return Reply(error.code, error.headers, error.read())

    def submit(self, path: str, form: dict[str, str]) -> Reply:
        """POST a form to `path` with the CSRF token of the form that `path` serves."""
        page = self.open(path).text
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        assert token, f"no form on {path}"
        return self.open(path, form | {"csrf_token": token[1]})

    def login(self, email: str, password: str) -> Reply:
        return self.submit("/login", {"email": email, "password": password})
