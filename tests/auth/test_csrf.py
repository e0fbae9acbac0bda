"""Every form needs its CSRF token."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from ..conftest import csrf_token


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/login", {"email": "a@example.org", "password": "whatever-it-is"}),
        ("/logout", {}),
    ],
)
def test_form_without_its_token_is_400(client: FlaskClient, path: str, data: dict) -> None:
    response = client.post(path, data=data)
    assert response.status_code == 400
    assert "Reload the page" in response.get_data(as_text=True)


def test_form_with_a_forged_token_is_400(client: FlaskClient) -> None:
    csrf_token(client)
    response = client.post("/logout", data={"csrf_token": "forged"})
    assert response.status_code == 400
