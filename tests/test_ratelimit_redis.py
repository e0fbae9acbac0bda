"""Sign-in throttling shared by several workers through Redis (RATELIMIT_STORAGE_URI).

Two apps made by create_app stand for two gunicorn workers: each has its own limits storage
object, and only Redis connects them. Redis runs at 127.0.0.1:6379; with CI=true a Redis that
does not answer fails the tests. Every test counts under a key prefix of its own, removed
afterwards, so runs never see each other's failures.
"""

from __future__ import annotations

from typing import Any

import redis

from .conftest import REDIS_URL, AuthActions


def workers(app_factory: Any, storage: str, prefix: str) -> tuple[AuthActions, AuthActions]:
    settings = {"RATELIMIT_STORAGE_URI": storage, "RATELIMIT_KEY_PREFIX": prefix}
    return (
        AuthActions(app_factory(**settings).test_client()),
        AuthActions(app_factory(**settings).test_client()),
    )


def test_the_sixth_failure_across_two_workers_is_429(app_factory: Any, redis_prefix: str) -> None:
    first, second = workers(app_factory, REDIS_URL, redis_prefix)
    email = "rina@example.org"
    statuses = [
        worker.login(email, "wrong password").status_code
        for worker in (first, second, first, second, first)
    ]
    assert statuses == [401] * 5
    assert second.login(email, "wrong password").status_code == 429
    assert first.login(email, "wrong password").status_code == 429
    keys = redis.Redis.from_url(REDIS_URL).keys(f"{redis_prefix}:*")
    assert any(b"login-failures:account:rina@example.org" in key for key in keys), keys


def test_the_per_address_limit_is_shared_too(app_factory: Any, redis_prefix: str) -> None:
    first, second = workers(app_factory, REDIS_URL, redis_prefix)
    for number in range(5):
        worker = first if number % 2 else second
        assert worker.login(f"person{number}@example.org", "wrong").status_code == 401
    assert first.login("someone-else@example.org", "wrong").status_code == 429


def test_memory_storage_counts_per_worker(app_factory: Any) -> None:
    """The reason for Redis: in memory, each worker counts only its own failures."""
    first, second = workers(app_factory, "memory://", "unused")
    for worker in (first, second, first, second, first):
        assert worker.login("rina@example.org", "wrong").status_code == 401
    assert second.login("rina@example.org", "wrong").status_code == 401  # second's 3rd


def test_prefixes_keep_sites_apart(app_factory: Any, redis_prefix: str) -> None:
    """Two sites sharing one Redis under different prefixes do not count each other's."""
    (site_a, _) = workers(app_factory, REDIS_URL, redis_prefix)
    (site_b, _) = workers(app_factory, REDIS_URL, f"{redis_prefix}:other")
    for _ in range(5):
        assert site_a.login("rina@example.org", "wrong").status_code == 401
    assert site_a.login("rina@example.org", "wrong").status_code == 429
    assert site_b.login("rina@example.org", "wrong").status_code == 401


def test_a_redis_that_does_not_answer_is_a_clear_503(app_factory: Any) -> None:
    """Sign-in and subscribing are refused with a 503 that says so, never let through
    unthrottled, never a 500."""
    app = app_factory(RATELIMIT_STORAGE_URI="redis://127.0.0.1:9/0?socket_connect_timeout=0.5")
    auth = AuthActions(app.test_client())
    response = auth.login("rina@example.org", "wrong password")
    assert response.status_code == 503
    assert "unavailable for a moment" in response.get_data(as_text=True)
    assert response.headers["Retry-After"] == "30"
