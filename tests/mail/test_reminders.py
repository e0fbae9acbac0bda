"""Call reminders and cancellation notices, through the outbox and a real SMTP server: due at
each offset and never after the start, for the right regions, moved with the call, replaced by a
notice when it is cancelled; each message parsed back."""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.calls import services as calls
from app.calls.models import Call
from app.mail import outbox, reminders
from app.mail.models import Delivery, Subscriber
from app.mail.transport import SMTPTransport
from app.taxonomy.models import Region
from app.taxonomy.services import ancestors, find_region

from ..conftest import coalition_series
from .conftest import SENDING, Received, Sink

SNAPSHOTS = Path(__file__).parent / "snapshots"
NEW_YORK = ZoneInfo("America/New_York")
# Sunday 8 March 2026, 10:00 in New York: the first day of US summer time (Europe's starts on
# the 29th), so the day-before reminder goes out on winter time for a call on summer time.
SUNDAY = dt.datetime(2026, 3, 8, 10, tzinfo=NEW_YORK).astimezone(dt.UTC)


class Clock:
    """The time reminders.py sees (its renderers check that the call has not started)."""

    def __init__(self) -> None:
        self.now = SUNDAY - dt.timedelta(days=2)

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(reminders, "utcnow", clock)
    return clock


def minutes_before(call: Call, minutes: int) -> dt.datetime:
    return call.start_at - dt.timedelta(minutes=minutes)


def extra_call(session: Session, start: dt.datetime = SUNDAY, **options: str) -> Call:
    options.setdefault("join_url", "https://meet.example.org/coalition")
    call = calls.add_extra_call(
        session,
        title=options.pop("title", "Coalition call"),
        start=start.astimezone(NEW_YORK).replace(tzinfo=None).isoformat(),
        timezone="America/New_York",
        now=start - dt.timedelta(days=30),
        **options,
    )
    session.commit()
    return call


def subscriber(
    session: Session,
    email: str,
    *regions: str,
    timezone: str = "UTC",
    language: str = "en",
    **fields: object,
) -> Subscriber:
    found = [find_region(session, slug) for slug in regions]
    assert all(found), regions
    fields.setdefault("status", "active")
    person = Subscriber(
        email=email,
        timezone=timezone,
        language=language,
        regions=found,
        **fields,
    )
    session.add(person)
    session.commit()
    return person


def queued(session: Session, kind: str = "reminder") -> list[tuple[str, str]]:
    """(subject, address) of each delivery of `kind`, with the call's id and start left out."""
    session.expire_all()
    rows = session.execute(
        sa.select(Delivery.subject, Subscriber.email)
        .join(Subscriber)
        .where(Delivery.kind == kind)
        .order_by(Delivery.id)
    )
    return [(subject.split(":")[-1], email) for subject, email in rows]


def send(session: Session, smtp: tuple[Sink, SMTPTransport]) -> outbox.Report:
    return outbox.send_due(session, smtp[1], SENDING, "sender-1")


def text_of(received: Received) -> str:
    return received.message.get_body(("plain",)).get_content().replace("\r\n", "\n")


# --- when -------------------------------------------------------------------------------------


def test_reminders_are_due_at_each_offset_and_never_once_the_call_started(
    session: Session, clock: Clock
) -> None:
    call = extra_call(session)  # no series: a day and half an hour before
    subscriber(session, "amina@example.org")
    for moment, expected in [
        (minutes_before(call, 1441), []),
        (minutes_before(call, 1440), [("1440", "amina@example.org")]),
        (minutes_before(call, 1000), [("1440", "amina@example.org")]),  # idempotent
        (minutes_before(call, 31), [("1440", "amina@example.org")]),
        (minutes_before(call, 30), [("1440", "amina@example.org"), ("30", "amina@example.org")]),
        (minutes_before(call, 1), [("1440", "amina@example.org"), ("30", "amina@example.org")]),
        (call.start_at, [("1440", "amina@example.org"), ("30", "amina@example.org")]),
    ]:
        reminders.enqueue_due_reminders(session, moment)
        assert queued(session) == expected, moment
    assert reminders.enqueue_due_reminders(session, minutes_before(call, 10)) == 0


def test_a_late_run_sends_the_latest_reminder_only(session: Session, clock: Clock) -> None:
    call = extra_call(session)
    subscriber(session, "amina@example.org")
    assert reminders.enqueue_due_reminders(session, minutes_before(call, 20)) == 1
    assert queued(session) == [("30", "amina@example.org")]


def test_series_offsets_and_what_gets_no_reminder(session: Session, clock: Clock) -> None:
    now = SUNDAY - dt.timedelta(days=1)
    series = coalition_series(session, "2026-03-01", now=now, horizon_months=1)
    series.reminder_minutes = [120]
    private = extra_call(session, SUNDAY + dt.timedelta(days=1), title="Private")
    private.is_public = False
    cancelled = extra_call(session, SUNDAY + dt.timedelta(days=1, hours=1), title="Cancelled")
    calls.cancel_call(session, cancelled, now=now)
    session.commit()
    subscriber(session, "amina@example.org")
    subscriber(session, "no-reminders@example.org", wants_reminders=False)
    subscriber(session, "pending@example.org", status="pending")
    tuesday = series.calls[0]  # 10 March, 10:00 in New York
    assert tuesday.start_at == dt.datetime(2026, 3, 10, 14, tzinfo=dt.UTC)
    assert reminders.enqueue_due_reminders(session, minutes_before(tuesday, 121)) == 0
    for call in (private, cancelled):
        assert reminders.enqueue_due_reminders(session, minutes_before(call, 30)) == 0
    assert reminders.enqueue_due_reminders(session, minutes_before(tuesday, 120)) == 1
    assert queued(session) == [("120", "amina@example.org")]


# --- who --------------------------------------------------------------------------------------


def test_regions_match_above_and_below_and_everyone_hears_of_coalition_calls(
    session: Session, clock: Clock
) -> None:
    kenya = find_region(session, "kenya")
    assert kenya is not None
    middle: Region = ancestors(kenya)[-1]  # the sub-region Kenya is in
    top: Region = ancestors(kenya)[0]  # its continent
    regional = extra_call(session, region=middle.slug)
    worldwide = extra_call(session, SUNDAY + dt.timedelta(hours=3), title="Everyone")
    subscriber(session, "below@example.org", "kenya")
    subscriber(session, "above@example.org", top.slug)
    subscriber(session, "same@example.org", middle.slug)
    subscriber(session, "elsewhere@example.org", "europe")
    subscriber(session, "both@example.org", "europe", "kenya")
    subscriber(session, "everything@example.org")
    reminders.enqueue_due_reminders(session, minutes_before(regional, 1440))
    hearing = {email for _, email in queued(session)}
    assert hearing == {
        "below@example.org",
        "above@example.org",
        "same@example.org",
        "both@example.org",
        "everything@example.org",
    }
    reminders.enqueue_due_reminders(session, minutes_before(worldwide, 1440))
    session.expire_all()
    worldwide_subject = reminders.reminder_subject(worldwide, 1440)
    assert len(session.scalars(sa.select(Delivery).filter_by(subject=worldwide_subject)).all()) == 6


def test_each_zone_and_language_is_rendered_once(
    session: Session,
    clock: Clock,
    smtp: tuple[Sink, SMTPTransport],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    call = extra_call(session)
    for number in range(3):
        subscriber(session, f"berlin{number}@example.org", timezone="Europe/Berlin")
    subscriber(session, "paris@example.org", timezone="Europe/Paris", language="fr")
    rendered: list[str] = []
    original = reminders.render_templates

    def counting(name: str, context: dict[str, object]) -> reminders.Rendered:
        rendered.append(name)
        return original(name, context)

    monkeypatch.setattr(reminders, "render_templates", counting)
    clock.now = minutes_before(call, 1440)
    reminders.enqueue_due_reminders(session, clock.now)
    assert send(session, smtp).sent == 4
    assert rendered == ["reminder", "reminder"]
    sink = smtp[0]
    (paris,) = sink.to("paris@example.org")
    assert "dimanche 8 mars 2026" in text_of(paris)  # formatted in the subscriber's language
    links = {re.search(r"/u/(\S+)", text_of(r)).group(1) for r in sink.received}  # type: ignore[union-attr]
    assert len(links) == 4  # but every subscriber has links of their own


def test_preferences_changed_after_queueing_are_honoured(
    session: Session, clock: Clock, smtp: tuple[Sink, SMTPTransport]
) -> None:
    call = extra_call(session, region="kenya")
    amina = subscriber(session, "amina@example.org")
    rina = subscriber(session, "rina@example.org", "kenya")
    subscriber(session, "wanjiru@example.org", "kenya")
    clock.now = minutes_before(call, 30)
    assert reminders.enqueue_due_reminders(session, clock.now) == 3
    amina.wants_reminders = False
    rina.regions = [find_region(session, "europe")]  # type: ignore[list-item]
    session.commit()
    report = send(session, smtp)
    assert (report.sent, report.skipped) == (1, 2)
    assert [r.recipients for r in smtp[0].received] == [["wanjiru@example.org"]]


@pytest.mark.parametrize(
    "subject", ["call:x:1:30", "call:999999:1:30", "call:1", "series:1:2:3", "call:99999999999:1:2"]
)
def test_a_subject_that_names_no_call_renders_nothing(session: Session, subject: str) -> None:
    (amina,) = [subscriber(session, "amina@example.org")]
    assert reminders.render_reminders(session, subject, [amina], SENDING) == {}
    assert reminders.render_cancellations(session, subject, [amina], SENDING) == {}


# --- moved and cancelled ----------------------------------------------------------------------


def test_a_rescheduled_call_moves_its_reminders(
    session: Session, clock: Clock, smtp: tuple[Sink, SMTPTransport]
) -> None:
    sink = smtp[0]
    call = extra_call(session)
    subscriber(session, "amina@example.org", timezone="America/New_York")
    clock.now = minutes_before(call, 30)
    reminders.enqueue_due_reminders(session, clock.now)
    calls.reschedule_call(session, call, "2026-03-08T13:00", now=clock.now)  # three hours later
    session.commit()
    report = send(session, smtp)
    assert (report.sent, report.skipped) == (0, 1)  # the reminder for 10:00 is void
    # Now a day-before reminder is due for 13:00 (it is 9:30): sent at once, with the new time.
    reminders.enqueue_due_reminders(session, clock.now)
    assert send(session, smtp).sent == 1
    assert "1:00 PM, New York time" in text_of(sink.received[0])
    assert reminders.enqueue_due_reminders(session, clock.now + dt.timedelta(hours=2)) == 0
    clock.now = minutes_before(call, 30)
    assert reminders.enqueue_due_reminders(session, clock.now) == 1
    assert send(session, smtp).sent == 1
    assert [subject for subject, _ in queued(session)] == ["30", "1440", "30"]


def test_a_cancelled_call_gets_notices_for_the_reminded_and_those_in_its_window(
    session: Session, clock: Clock, smtp: tuple[Sink, SMTPTransport]
) -> None:
    sink = smtp[0]
    kenya = find_region(session, "kenya")
    call = extra_call(session, region=ancestors(kenya)[-1].slug)  # type: ignore[arg-type]
    later = extra_call(session, SUNDAY + dt.timedelta(days=7), title="Next week")
    amina = subscriber(session, "amina@example.org", "kenya")
    moved = subscriber(session, "moved@example.org", "kenya")
    subscriber(session, "elsewhere@example.org", "europe")
    subscriber(session, "no-reminders@example.org", wants_reminders=False)
    clock.now = minutes_before(call, 1440)
    reminders.enqueue_due_reminders(session, clock.now)
    assert send(session, smtp).sent == 2  # amina and moved
    moved.regions = [find_region(session, "europe")]  # type: ignore[list-item]
    late = subscriber(session, "late@example.org")
    clock.now = minutes_before(call, 100)
    reminders.enqueue_due_reminders(session, clock.now)  # late's day-before reminder, queued
    calls.cancel_call(session, call, "The facilitators are travelling.", now=clock.now)
    calls.cancel_call(session, later, now=clock.now)  # a week away: nobody was told of it yet
    session.commit()

    sink.received.clear()
    report = send(session, smtp)
    assert (report.sent, report.skipped) == (3, 1)  # late's reminder is void
    assert sorted(r.recipients[0] for r in sink.received) == [
        "amina@example.org",  # reminded, and in the window
        "late@example.org",  # in the window
        "moved@example.org",  # reminded, though it no longer follows the region
    ]
    assert queued(session, "cancellation") == [
        (str(call.sequence), address) for address in (amina.email, moved.email, late.email)
    ]
    notice = sink.to("late@example.org")[0]
    assert notice.message["Subject"] == "Cancelled: Coalition call, Mar 8, 2026 at 2:00 PM"
    text = text_of(notice)
    assert "This call is cancelled:" in text and "The facilitators are travelling." in text
    event = calendar_of(notice).walk("VEVENT")[0]
    assert event["STATUS"] == "CANCELLED"
    assert reminders.enqueue_due_reminders(session, minutes_before(call, 30)) == 0


def test_a_call_restored_before_its_notices_went_out_sends_none(
    session: Session, clock: Clock, smtp: tuple[Sink, SMTPTransport]
) -> None:
    call = extra_call(session)
    subscriber(session, "amina@example.org")
    clock.now = minutes_before(call, 60)
    calls.cancel_call(session, call, now=clock.now)
    calls.restore_call(session, call, now=clock.now)
    session.commit()
    assert len(queued(session, "cancellation")) == 1
    report = send(session, smtp)
    assert (report.sent, report.skipped) == (0, 1)


# --- the message ------------------------------------------------------------------------------


def calendar_of(received: Received) -> icalendar.Calendar:
    (part,) = [p for p in received.message.iter_attachments()]
    assert part.get_content_type() == "text/calendar"
    assert part.get_param("method") == "PUBLISH"
    assert part.get_filename() == "call.ics"
    return icalendar.Calendar.from_ical(part.get_content())


def test_a_reminder_arrives_whole_and_its_unsubscribe_link_works(
    session: Session, clock: Clock, smtp: tuple[Sink, SMTPTransport], client: FlaskClient
) -> None:
    sink = smtp[0]
    call = extra_call(session, agenda="1. Updates\n2. <b>Next steps</b>")
    amina = subscriber(session, "amina@example.org", timezone="Africa/Nairobi")
    subscriber(session, "rina@example.org")
    clock.now = minutes_before(call, 1440)
    reminders.enqueue_due_reminders(session, clock.now)
    assert send(session, smtp).sent == 2
    (received,) = sink.to("amina@example.org")
    message = received.message
    assert message.get_content_type() == "multipart/mixed"
    body, attachment = message.iter_parts()
    assert [p.get_content_type() for p in body.iter_parts()] == ["text/plain", "text/html"]
    assert attachment.get_content_type() == "text/calendar"
    for header in ("Message-ID", "Date", "List-Id", "List-Unsubscribe-Post"):
        assert message[header], header
    text = text_of(received)
    html = message.get_body(("html",)).get_content()
    assert "Sunday, March 8, 2026 at 5:00 PM, Nairobi time (UTC+3)" in text
    assert "Join the call: https://meet.example.org/coalition" in text
    assert "&lt;b&gt;Next steps&lt;/b&gt;" in html and "<b>" not in html  # the agenda is text
    assert 'style="' in html and "<style" not in html  # CSS inlined
    (unsubscribe,) = re.findall(r"Unsubscribe: (\S+)", text)
    assert unsubscribe in html and f"/calls/{call.id}" in text and "/email/manage/" in text
    raw = received.data.decode()
    assert f"List-Unsubscribe: <{unsubscribe}>\r\n" in raw and "=?utf-8?" not in raw

    event = calendar_of(received).walk("VEVENT")[0]
    assert event.decoded("DTSTART") == dt.datetime(2026, 3, 8, 10, tzinfo=NEW_YORK)
    assert event["DTSTART"].params["TZID"] == "America/New_York"
    assert str(event["UID"]) == f"call-{call.id}@calls.example.org"

    response = client.post(unsubscribe.removeprefix(SENDING.base_url))
    assert response.status_code == 200
    session.expire_all()
    assert amina.status == "unsubscribed"
    assert session.scalar(sa.select(Subscriber.status).filter_by(email="rina@example.org")) == (
        "active"
    )


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        # Sent on Saturday at 9:00 winter time, for a call at 10:00 summer time.
        ("America/New_York", "Sunday, March 8, 2026 at 10:00 AM, New York time (UTC-4)"),
        # Europe is still on winter time: 15:00, not the usual 16:00.
        ("Europe/Berlin", "Sunday, March 8, 2026 at 3:00 PM, Berlin time (UTC+1)"),
    ],
)
def test_the_time_is_on_the_subscriber_clock_across_a_change_of_time(
    session: Session, clock: Clock, smtp: tuple[Sink, SMTPTransport], zone: str, expected: str
) -> None:
    call = extra_call(session)
    subscriber(session, "amina@example.org", timezone=zone)
    clock.now = minutes_before(call, 1440)
    assert clock.now.astimezone(NEW_YORK).strftime("%a %H:%M %Z") == "Sat 09:00 EST"
    reminders.enqueue_due_reminders(session, clock.now)
    send(session, smtp)
    text = text_of(smtp[0].received[0])
    assert expected in text
    assert "This week Brussels is 5 hours ahead of New York, not the usual 6 hours" in text


def test_the_reminder_text_matches_its_snapshot(
    session: Session, clock: Clock, smtp: tuple[Sink, SMTPTransport]
) -> None:
    """To accept a deliberate change of the text, run
    `UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/mail/test_reminders.py -k snapshot`
    and review the diff of tests/mail/snapshots/reminder.txt."""
    call = extra_call(
        session,
        agenda="1. Updates by region\n2. Next steps",
        registration_url="https://forms.example.org/register",
    )
    subscriber(session, "amina@example.org", timezone="Europe/Berlin")
    clock.now = minutes_before(call, 30)
    reminders.enqueue_due_reminders(session, clock.now)
    send(session, smtp)
    received = smtp[0].received[0]
    text = f"Subject: {received.message['Subject']}\n\n{text_of(received)}"
    text = re.sub(r"/calls/\d+", "/calls/ID", text)
    text = re.sub(r"/(email/manage|u)/\S+", r"/\1/TOKEN", text)
    snapshot = SNAPSHOTS / "reminder.txt"
    if os.environ.get("UPDATE_SNAPSHOTS"):
        snapshot.parent.mkdir(exist_ok=True)
        snapshot.write_text(text, encoding="utf-8")
    assert text == snapshot.read_text(encoding="utf-8")
