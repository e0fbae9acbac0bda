"""The monthly roll-up through a real SMTP server: off by default, switched on by an admin; on
its day, each subscriber who chose it gets one message with the month's notes for their
regions (never a draft, never another month's, never an empty one), once however often the
job runs; per-call digests skip them only while it is on. The admin page, the preference
form and the editors' preview."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.db import utcnow
from app.mail import digests, months, outbox, rollup, services
from app.mail.models import Delivery, MailSettings, Subscriber
from app.mail.services import MailError, Preferences
from app.mail.transport import SMTPTransport
from app.notes.models import Note
from app.scheduler import jobs
from app.security import rate_limits
from app.taxonomy.models import Person, Region

from ..conftest import AuthActions, csrf_token
from .conftest import SENDING, Sink
from .test_digests import NO_GLOBAL, assert_snapshot, parts, publish, send

UTC = ZoneInfo("UTC")
NOVEMBER = dt.date(2026, 11, 1)
# The job's clock: the morning of December 1st, when November's roll-up is due.
DUE = dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC)
SWITCHED_ON = dt.datetime(2026, 10, 15, tzinfo=dt.UTC)
DRAFT_ONLY = "## Kenya\n- A draft nobody may read yet.\n"
SUBJECT = "Justice Coalition: updates of November 2026"


def switch(session: Session, on: bool, day: int = 1, at: dt.datetime = SWITCHED_ON) -> None:
    services.save_mail_settings(session, on, day, now=at)
    session.commit()


def in_november(session: Session) -> list[Note]:
    """Two published notes of November (the first with a global update), plus what must stay
    out: a draft, October's notes and December's."""
    first = publish(session, title="November call", now=dt.datetime(2026, 11, 4, 15, tzinfo=dt.UTC))
    second = publish(session, NO_GLOBAL, title="Late November call",
                     now=dt.datetime(2026, 11, 25, 15, tzinfo=dt.UTC))  # fmt: skip
    publish(session, DRAFT_ONLY, title="Draft", status="draft",
            now=dt.datetime(2026, 11, 26, tzinfo=dt.UTC))  # fmt: skip
    publish(session, "## Kenya\n- October's news.\n", title="October call",
            now=dt.datetime(2026, 10, 31, 23, tzinfo=dt.UTC))  # fmt: skip
    publish(session, "## Kenya\n- December's news.\n", title="December call",
            now=dt.datetime(2026, 12, 1, 0, 30, tzinfo=dt.UTC))  # fmt: skip
    return [first, second]


def rollups(session: Session) -> dict[str, str]:
    """Queued or sent roll-ups: address -> subject."""
    rows = session.execute(
        sa.select(Subscriber.email, Delivery.subject)
        .join(Delivery.subscriber)
        .where(Delivery.kind == "rollup")
    )
    return {email: subject for email, subject in rows}


def digests_of(session: Session, note: Note) -> set[str]:
    query = sa.select(Subscriber.email).join(Delivery.subscriber)
    return set(session.scalars(query.where(Delivery.subject == f"note:{note.id}")))


@pytest.fixture
def monthly(make_subscriber: Callable[..., Subscriber]) -> Callable[..., Subscriber]:
    def make(email: str, *slugs: str, **fields: Any) -> Subscriber:
        return make_subscriber(email, *slugs, digest_frequency="month", **fields)

    return make


# --- when it goes out ------------------------------------------------------------------------


def test_off_by_default_and_nothing_is_queued_while_off(
    session: Session, monthly: Callable[..., Subscriber]
) -> None:
    settings = services.mail_settings(session)
    assert (settings.is_rollup_on, settings.rollup_day) == (False, 1)
    monthly("kenya@example.org", "kenya")
    session.commit()
    in_november(session)
    assert rollup.enqueue_due_rollup(session, DUE, UTC) == 0
    assert jobs.enqueue_rollup(session, DUE) == 0  # the scheduler's job, with the site's zone
    assert rollups(session) == {}


def test_due_on_its_day_for_the_month_before_unless_switched_on_after_it() -> None:
    settings = MailSettings(is_rollup_on=True, rollup_day=5, rollup_switched_on_at=SWITCHED_ON)
    at = dt.datetime(2026, 12, 4, 23, tzinfo=dt.UTC)
    assert rollup.due_month(settings, at, UTC) is None  # the 4th: not yet
    assert rollup.due_month(settings, at + dt.timedelta(hours=1), UTC) == NOVEMBER
    # The day is the site's: 23:00 on the 4th in UTC is already the 5th in Nairobi.
    assert rollup.due_month(settings, at, ZoneInfo("Africa/Nairobi")) == NOVEMBER
    assert rollup.due_month(settings, dt.datetime(2027, 1, 20, tzinfo=dt.UTC), UTC) == dt.date(
        2026, 12, 1
    )
    # Switched on once November was over: its subscribers had its digests after each call.
    settings.rollup_switched_on_at = dt.datetime(2026, 12, 1, 8, tzinfo=dt.UTC)
    assert rollup.due_month(settings, DUE + dt.timedelta(days=4), UTC) is None
    assert rollup.due_month(settings, dt.datetime(2027, 1, 5, tzinfo=dt.UTC), UTC) == dt.date(
        2026, 12, 1
    )
    settings.is_rollup_on = False
    assert rollup.due_month(settings, dt.datetime(2027, 1, 5, tzinfo=dt.UTC), UTC) is None


def test_the_month_follows_the_sites_time_zone(session: Session) -> None:
    # 03:00 UTC on December 1st is still November 30th in New York.
    late = publish(session, title="Late call", now=dt.datetime(2026, 12, 1, 3, tzinfo=dt.UTC))
    new_york = ZoneInfo("America/New_York")
    assert late in rollup.month_notes(session, NOVEMBER, new_york)
    assert late not in rollup.month_notes(session, NOVEMBER, UTC)
    assert late in rollup.month_notes(session, dt.date(2026, 12, 1), UTC)


def test_an_old_call_published_late_is_no_news_in_the_roll_up_either(session: Session) -> None:
    now = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
    publish(session, title="2019 call", call_at=now - dt.timedelta(days=400), now=now)
    assert rollup.month_notes(session, NOVEMBER, UTC) == []


# --- who gets what ---------------------------------------------------------------------------


def test_each_monthly_subscriber_gets_one_message_of_their_regions(
    session: Session,
    smtp: tuple[Sink, SMTPTransport],
    monthly: Callable[..., Subscriber],
    make_subscriber: Callable[..., Subscriber],
) -> None:
    sink = smtp[0]
    switch(session, True)
    kenya = monthly("kenya@example.org", "kenya")
    monthly("europe@example.org", "europe")  # for the global update alone
    monthly("all@example.org")
    make_subscriber("per-call@example.org", "kenya")
    monthly("no-digests@example.org", "kenya", wants_digests=False)
    monthly("pending@example.org", "kenya", status="pending")
    session.commit()
    first, second = in_november(session)
    assert rollup.enqueue_due_rollup(session, DUE, UTC) == 3
    assert rollups(session) == {
        "kenya@example.org": "month:2026-11",
        "europe@example.org": "month:2026-11",
        "all@example.org": "month:2026-11",
    }
    report = send(session, smtp)
    assert report.failed == report.skipped == 0
    for address in ("kenya@example.org", "europe@example.org", "all@example.org"):
        assert len(sink.to(address)) == 1, address
    assert all(r.message["Subject"] != SUBJECT for r in sink.to("per-call@example.org"))

    text, html, received = parts(sink, "kenya@example.org")
    message = received.message
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    assert message["Subject"] == SUBJECT
    for header in ("Message-ID", "Date", "List-Id"):
        assert message[header], header
    raw = received.data.decode()
    (unsubscribe_url,) = re.findall(r"List-Unsubscribe: <([^>]+)>\r\n", raw)
    assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in raw
    assert "=?utf-8?" not in raw
    token = unsubscribe_url.rsplit("/", 1)[1]
    assert services.subscriber_for_unsubscribe(session, token).id == kenya.id
    for part in (text, html):
        assert unsubscribe_url in part and "https://calls.example.org/email/manage/" in part
        assert digests.PLACEHOLDERS.manage_url not in part
    # Both November notes, oldest first; Kenya's updates and the global one, nothing else.
    assert text.index("November call (") < text.index("Late November call (")
    headings = [h for _, h in re.findall(r"^(==|--) (.+) \1$", text, re.M)]
    assert headings == ["Global", "Kenya", "Kenya"]
    assert text.count("Forty paralegals trained in Kisumu.") == 2
    for absent in ("Nigeria", "Indonesia", "draft nobody", "October's", "December's"):
        assert absent not in text and absent not in html, absent
    for note in (first, second):
        base = f"https://calls.example.org/notes/{note.slug}"
        assert f"{base}#kenya" in text and f'href="{base}#kenya"' in html
    assert f"https://calls.example.org/notes/{first.slug}#global-updates" in text
    assert "Speakers: @amina" in text and "Speakers: @ana" in text
    assert "for the regions you chose" in text

    europe = parts(sink, "europe@example.org")[0]
    assert "November call (" in europe and "Late November call" not in europe
    assert [h for _, h in re.findall(r"^(==|--) (.+) \1$", europe, re.M)] == ["Global"]
    everything = parts(sink, "all@example.org")[0]
    assert "Indonesia" in everything and "for every region" in everything


def test_the_html_part_has_its_css_inlined(
    session: Session, smtp: tuple[Sink, SMTPTransport], monthly: Callable[..., Subscriber]
) -> None:
    switch(session, True)
    monthly("africa@example.org", "africa")
    session.commit()
    in_november(session)
    rollup.enqueue_due_rollup(session, DUE, UTC)
    send(session, smtp)
    html = parts(smtp[0], "africa@example.org")[1]
    assert re.search(r'<h2 style="[^"]*font-size: 22px', html)  # each note's title
    assert re.search(r'<h3 style="[^"]*border-bottom: 2px solid #d9e2ec', html)  # regions
    assert re.search(r'<h4 style="[^"]*color: #334e68', html)  # sub-regions
    (style,) = re.findall(r"<style>(.*?)</style>", html, re.S)
    assert style.strip().startswith("@media")


def test_running_the_job_again_sends_nothing_twice(
    session: Session, smtp: tuple[Sink, SMTPTransport], monthly: Callable[..., Subscriber]
) -> None:
    switch(session, True)
    monthly("kenya@example.org", "kenya")
    session.commit()
    in_november(session)
    assert rollup.enqueue_due_rollup(session, DUE, UTC) == 1
    session.commit()
    assert send(session, smtp).sent == 1
    for later in (DUE, DUE + dt.timedelta(minutes=10), DUE + dt.timedelta(days=3)):
        assert rollup.enqueue_due_rollup(session, later, UTC) == 0
    session.commit()
    assert send(session, smtp).sent == 0
    assert len(smtp[0].to("kenya@example.org")) == 1


def test_never_an_empty_roll_up(
    session: Session, smtp: tuple[Sink, SMTPTransport], monthly: Callable[..., Subscriber]
) -> None:
    switch(session, True)
    monthly("europe@example.org", "europe")
    monthly("kenya@example.org", "kenya")
    session.commit()
    assert rollup.enqueue_due_rollup(session, DUE, UTC) == 0  # nothing published in November
    publish(session, NO_GLOBAL, title="November call", now=dt.datetime(2026, 11, 4, tzinfo=dt.UTC))
    assert rollup.enqueue_due_rollup(session, DUE, UTC) == 1
    assert rollups(session) == {"kenya@example.org": "month:2026-11"}
    send(session, smtp)
    assert smtp[0].to("europe@example.org") == []


def test_only_the_day_and_subscribers_of_before_the_month_ended(
    session: Session, monthly: Callable[..., Subscriber]
) -> None:
    switch(session, True, day=5)
    monthly(
        "before@example.org", "kenya", confirmed_at=dt.datetime(2026, 11, 30, 23, tzinfo=dt.UTC)
    )
    monthly("after@example.org", "kenya", confirmed_at=dt.datetime(2026, 12, 1, 1, tzinfo=dt.UTC))
    session.commit()
    in_november(session)
    assert rollup.enqueue_due_rollup(session, DUE, UTC) == 0  # the 1st: not its day
    assert rollup.enqueue_due_rollup(session, DUE + dt.timedelta(days=4), UTC) == 1
    assert rollups(session) == {"before@example.org": "month:2026-11"}


def test_a_subscriber_who_stopped_digests_after_it_was_queued_gets_none(
    session: Session, smtp: tuple[Sink, SMTPTransport], monthly: Callable[..., Subscriber]
) -> None:
    switch(session, True)
    kenya = monthly("kenya@example.org", "kenya")
    session.commit()
    in_november(session)
    rollup.enqueue_due_rollup(session, DUE, UTC)
    kenya.wants_digests = False
    session.commit()
    report = send(session, smtp)
    assert (report.sent, report.skipped) == (0, 1)


# --- per-call digests ------------------------------------------------------------------------


def test_per_call_digests_skip_monthly_subscribers_only_while_it_is_on(
    session: Session,
    monthly: Callable[..., Subscriber],
    make_subscriber: Callable[..., Subscriber],
) -> None:
    """Notes of yesterday's calls, so that their digests are news now."""
    monthly("monthly@example.org", "kenya")
    make_subscriber("per-call@example.org", "kenya")
    session.commit()
    while_off = publish(session, title="First call")  # queued on publish
    assert digests_of(session, while_off) == {"monthly@example.org", "per-call@example.org"}
    switch(session, True, at=utcnow())
    while_on = publish(session, title="Second call")
    assert digests_of(session, while_on) == {"per-call@example.org"}
    assert digests.enqueue_recent_digests(session, utcnow()) == 0  # the sweep agrees
    switch(session, False, at=utcnow())
    assert digests.enqueue_recent_digests(session, utcnow()) == 1
    assert digests_of(session, while_on) == {"monthly@example.org", "per-call@example.org"}


def test_switched_off_after_the_roll_up_went_out_no_digest_repeats_it(
    session: Session, monthly: Callable[..., Subscriber]
) -> None:
    subscriber = monthly("monthly@example.org", "kenya")
    session.commit()
    switch(session, True, at=utcnow() - dt.timedelta(days=60))
    note = publish(session, title="Last call")
    assert note.published_at is not None
    month = months.month_of(note.published_at, months.site_zone())
    outbox.enqueue(session, "rollup", months.month_subject(month), [subscriber.id])
    switch(session, False, at=utcnow())
    assert digests.enqueue_note_digests(session, note, utcnow()) == 0
    assert digests_of(session, note) == set()


# --- rendering -------------------------------------------------------------------------------


def test_rollup_text_snapshot(session: Session, regions: dict[str, Region]) -> None:
    publish(session, title="November call", call_at=dt.datetime(2026, 11, 10, 15, tzinfo=dt.UTC),
            now=dt.datetime(2026, 11, 11, tzinfo=dt.UTC))  # fmt: skip
    publish(session, NO_GLOBAL, title="Late November call",
            call_at=dt.datetime(2026, 11, 24, 15, tzinfo=dt.UTC),
            now=dt.datetime(2026, 11, 25, tzinfo=dt.UTC))  # fmt: skip
    amina = session.scalar(sa.select(Person).where(Person.handle == "amina"))
    amina.display_name = "Amina Yusuf"
    links = digests.Links(
        "https://calls.example.org/email/manage/TOKEN", "https://calls.example.org/u/TOKEN"
    )
    rendered = rollup.rollup_for(session, NOVEMBER, [regions["africa"].id], "en", SENDING, links,
                                 UTC)  # fmt: skip
    assert rendered is not None
    assert_snapshot("rollup_africa.txt", f"Subject: {rendered.subject}\n\n{rendered.text}")
    assert rollup.rollup_for(session, NOVEMBER, [regions["europe"].id], "en", SENDING, links,
                             UTC) is not None  # fmt: skip
    assert rollup.rollup_for(session, dt.date(2026, 9, 1), [], "en", SENDING, links, UTC) is None


def test_rendered_once_per_set_of_regions_and_language(
    session: Session,
    smtp: tuple[Sink, SMTPTransport],
    monthly: Callable[..., Subscriber],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    done: list[str] = []
    original = rollup._render_rollup

    def counting(r: rollup.Rollup, language: str, *args: Any) -> digests.Rendered:
        done.append(language)
        return original(r, language, *args)

    monkeypatch.setattr(rollup, "_render_rollup", counting)
    switch(session, True)
    for n in range(3):
        monthly(f"kenya{n}@example.org", "kenya")
    monthly("kenya-es@example.org", "kenya", language="es")
    session.commit()
    in_november(session)
    rollup.enqueue_due_rollup(session, DUE, UTC)
    assert send(session, smtp).sent == 4
    assert sorted(done) == ["en", "es"]
    spanish = parts(smtp[0], "kenya-es@example.org")[2].message["Subject"]
    assert "noviembre de 2026" in spanish


# --- the admin page --------------------------------------------------------------------------


@pytest.fixture
def admin(make_user: Callable[..., Any], auth: AuthActions) -> Iterator[None]:
    make_user("admin@example.org", role="admin")
    auth.login("admin@example.org")
    yield


def test_the_settings_page_is_for_admins(
    client: FlaskClient, make_user: Callable[..., Any], auth: AuthActions
) -> None:
    assert client.get("/admin/mail").status_code == 302  # to the sign-in page
    assert client.post("/admin/mail", data={"is_rollup_on": "y"}).status_code == 400
    make_user("editor@example.org", role="editor")
    auth.login("editor@example.org")
    assert client.get("/admin/mail").status_code == 403
    token = csrf_token(client, "/")
    data = {"is_rollup_on": "y", "rollup_day": "1", "csrf_token": token}
    assert client.post("/admin/mail", data=data).status_code == 403


def test_admins_switch_it_on_and_off(client: FlaskClient, session: Session, admin: None) -> None:
    page = client.get("/")
    assert 'href="/admin/mail"' in page.get_data(as_text=True)  # in the admin menu
    form = client.get("/admin/mail").get_data(as_text=True)
    assert "Mail settings" in form and 'name="rollup_day"' in form
    data = {"is_rollup_on": "y", "rollup_day": "3", "csrf_token": csrf_token(client, "/admin/mail")}
    response = client.post("/admin/mail", data=data)
    assert response.status_code == 302
    session.expire_all()
    settings = services.mail_settings(session)
    assert (settings.is_rollup_on, settings.rollup_day) == (True, 3)
    assert settings.rollup_switched_on_at is not None
    assert "The mail settings are saved." in client.get("/admin/mail").get_data(as_text=True)
    data.pop("is_rollup_on")
    assert client.post("/admin/mail", data=data).status_code == 302
    session.expire_all()
    settings = services.mail_settings(session)
    assert not settings.is_rollup_on and settings.rollup_switched_on_at is None


@pytest.mark.parametrize("day", ["0", "29", "abc", "", "1e9"])
def test_a_bad_day_is_422_and_changes_nothing(
    client: FlaskClient, session: Session, admin: None, day: str
) -> None:
    data = {"is_rollup_on": "y", "rollup_day": day, "csrf_token": csrf_token(client, "/admin/mail")}
    response = client.post("/admin/mail", data=data)
    assert response.status_code == 422
    assert 'aria-invalid="true"' in response.get_data(as_text=True)
    session.expire_all()
    assert not services.mail_settings(session).is_rollup_on


def test_a_form_without_its_csrf_token_is_400(
    client: FlaskClient, session: Session, admin: None
) -> None:
    for token in (None, "forged"):
        data = {"is_rollup_on": "y", "rollup_day": "1"} | ({"csrf_token": token} if token else {})
        response = client.post("/admin/mail", data=data)
        assert response.status_code == 400
        assert "did not come from this site" in response.get_data(as_text=True)
    session.expire_all()
    assert not services.mail_settings(session).is_rollup_on


def test_settings_refuse_days_not_in_every_month(session: Session) -> None:
    for day in (0, 29, 31):
        with pytest.raises(MailError) as error:
            services.save_mail_settings(session, True, day)
        assert error.value.field == "rollup_day"


# --- the subscribers' choice -----------------------------------------------------------------


@pytest.fixture(autouse=True)
def fresh_limits() -> None:
    rate_limits().reset()


def subscribe(client: FlaskClient, email: str, **fields: object) -> Any:
    data = {
        "email": email,
        "wants_digests": "y",
        "timezone": "UTC",
        "language": "en",
        "csrf_token": csrf_token(client, "/email"),
        **fields,
    }
    return client.post("/email", data=data)


def stored(session: Session, email: str) -> Subscriber:
    session.expire_all()
    return session.scalars(sa.select(Subscriber).where(Subscriber.email == email)).one()


def test_monthly_is_offered_only_while_the_roll_up_is_on(
    client: FlaskClient, session: Session
) -> None:
    assert "Once a month" not in client.get("/email").get_data(as_text=True)
    # Without the field, a value sent anyway is not read.
    assert subscribe(client, "off@example.org", digest_frequency="month").status_code == 200
    assert stored(session, "off@example.org").digest_frequency == "call"
    switch(session, True)
    assert "Once a month" in client.get("/email").get_data(as_text=True)
    assert subscribe(client, "on@example.org", digest_frequency="month").status_code == 200
    assert stored(session, "on@example.org").digest_frequency == "month"
    assert subscribe(client, "default@example.org").status_code == 200
    assert stored(session, "default@example.org").digest_frequency == "call"


@pytest.mark.parametrize("value", ["weekly", "MONTH", "month\r\nBcc: x", "x" * 500])
def test_the_forms_refuse_other_frequencies(
    client: FlaskClient, session: Session, value: str
) -> None:
    switch(session, True)
    response = subscribe(client, "amina@example.org", digest_frequency=value)
    assert response.status_code == 422 and 'aria-invalid="true"' in response.get_data(as_text=True)
    assert session.scalar(sa.select(sa.func.count()).select_from(Subscriber)) == 0
    subscriber = services.subscribe(session, "kenya@example.org", Preferences())
    session.commit()
    token = services.manage_token(subscriber)
    data = {"wants_digests": "y", "timezone": "UTC", "language": "en", "digest_frequency": value,
            "csrf_token": csrf_token(client, f"/email/manage/{token}")}  # fmt: skip
    assert client.post(f"/email/manage/{token}", data=data).status_code == 422
    assert stored(session, "kenya@example.org").digest_frequency == "call"


def test_the_service_refuses_monthly_while_off(session: Session) -> None:
    for frequency in ("month", "weekly"):
        with pytest.raises(MailError) as error:
            services.subscribe(session, "a@example.org", Preferences(digest_frequency=frequency))
        assert error.value.field == "digest_frequency"


def test_a_monthly_choice_is_kept_while_the_roll_up_is_paused(
    client: FlaskClient, session: Session, monthly: Callable[..., Subscriber]
) -> None:
    token = services.manage_token(monthly("amina@example.org", "kenya"))
    session.commit()
    page = client.get(f"/email/manage/{token}").get_data(as_text=True)
    assert "It is paused for now" in page and "Once a month" not in page
    data = {"wants_digests": "y", "timezone": "UTC", "language": "fr",
            "csrf_token": csrf_token(client, f"/email/manage/{token}")}  # fmt: skip
    assert client.post(f"/email/manage/{token}", data=data).status_code == 200
    amina = stored(session, "amina@example.org")
    assert (amina.language, amina.digest_frequency) == ("fr", "month")
    switch(session, True)
    page = client.get(f"/email/manage/{token}").get_data(as_text=True)
    assert re.search(r'<input checked[^>]*value="month"', page)
    data["digest_frequency"] = "call"
    assert client.post(f"/email/manage/{token}", data=data).status_code == 200
    assert stored(session, "amina@example.org").digest_frequency == "call"


# --- the editors' preview --------------------------------------------------------------------


@pytest.fixture
def editor(make_user: Callable[..., Any], auth: AuthActions) -> Iterator[None]:
    make_user("editor@example.org")
    auth.login("editor@example.org")
    yield


def test_the_preview_is_for_editors(client: FlaskClient) -> None:
    response = client.get("/digests/monthly?month=2026-11")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_editors_preview_a_month_for_any_regions(
    client: FlaskClient, session: Session, editor: None
) -> None:
    in_november(session)
    url = "/digests/monthly?month=2026-11"
    response = client.get(f"{url}&region=kenya")
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert "style-src 'unsafe-inline'" in response.headers["Content-Security-Policy"]
    html = response.get_data(as_text=True)
    assert "Late November call" in html and "Nigeria" not in html and "draft nobody" not in html
    text = client.get(f"{url}&region=africa&format=text").get_data(as_text=True)
    assert text.startswith("Subject: ") and "updates of November 2026" in text
    assert "Nigeria" in text and "Indonesia" not in text
    nothing = client.get("/digests/monthly?month=2026-09")
    assert nothing.status_code == 200
    assert "Nothing published that month" in nothing.get_data(as_text=True)
    assert client.get("/digests/monthly").status_code == 200  # last month, whatever it holds
    for bad in ("month=2026-13", "month=nov", "month=0000-01", "month=99999-01", "region=atlantis",
                "lang=xx"):  # fmt: skip
        assert client.get(f"/digests/monthly?{bad}").status_code == 400, bad


def test_the_scheduler_runs_the_job(app: Flask) -> None:
    assert "enqueue-rollup" in [job.name for job in jobs.jobs(5)]
