"""Digest throughput: enqueue, render and deliver one note's digests to 10,000 subscribers.

    .venv/bin/python bench/digest.py [--subscribers N] [--postgres URL]

On a fresh migrated database (SQLite in a temporary directory; also PostgreSQL with --postgres)
with the region tree seeded, N active subscribers (default 10,000) each choose 0 to 3 of 14
regions; one note with 8 updates (global, then 7 regions) is published, which queues its
digests, and the outbox is drained by `outbox.send_due` over SMTP to a sink in another process
on loopback (aiosmtpd, counting messages), as the scheduler does.

Reference, same run: the same digests, rendered and built beforehand, sent over one SMTP
connection to the same sink with smtplib's `sendmail` (the sink's rate for pre-built messages).
The figure is our messages/s (publish-and-enqueue plus sending) over the reference's; the target
is >= 0.5. Nothing is asserted about time; exit status 1 means a message went missing or twice.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import sqlalchemy as sa

# bench/common.py, beside this file (the script's directory is first on sys.path).
from common import ROOT, dispose, make_app, migrate, print_banner, temporary_postgres_database

from app.db import db, utcnow
from app.mail import outbox
from app.mail.message import build
from app.mail.models import Delivery, Subscriber, subscriber_regions
from app.mail.transport import SMTPTransport
from app.notes.services import NoteInput, save_note
from app.taxonomy.models import Region
from app.taxonomy.services import seed_regions

REGIONS = [
    "global", "africa", "west-africa", "east-and-horn-of-africa", "kenya", "nigeria", "asia",
    "southeast-asia", "indonesia", "latin-america", "brazil", "europe", "oceania", "americas",
]  # fmt: skip
NOTE = """## Global updates (@marta)
The global campaign published its annual report on access to justice.

## West Africa (@kofi_m)
- The paralegal summit in Accra drew 120 participants.

## Kenya (@wanjiru)
Community courts resumed hearings in Kisumu.

## Indonesia (@rina)
A workshop in Bandung trained legal aid volunteers.

## Brazil (@luiza)
Environmental defenders met in Belém.

## Europe (@sam)
A coalition of bar associations joined the campaign.

## Oceania (@tui)
Fiji's legal aid commission opened two new offices.

## Nigeria (@ade)
Lagos State passed a new legal aid bill.
"""
SENDING = outbox.Sending(
    name="Justice Coalition",
    sender="Justice Coalition <calls@example.org>",
    list_id="Justice Coalition calls <calls.example.org>",
    domain="example.org",
    base_url="https://calls.example.org",
)


# --- the sink, in a process of its own ---------------------------------------------------------


def serve_sink(port: int) -> None:
    """Accept mail on `port` and count it; "COUNT" on a line of standard input prints the counts
    (messages, and recipients that got more than one) and "QUIT" stops."""
    from aiosmtpd.controller import Controller

    counts: Counter[str] = Counter()

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            for recipient in envelope.rcpt_tos:
                counts[recipient] += 1
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    print("READY", flush=True)
    for line in sys.stdin:
        if line.strip() == "COUNT":
            twice = sum(1 for n in counts.values() if n > 1)
            print(f"{sum(counts.values())} {twice}", flush=True)
        elif line.strip() == "RESET":
            counts.clear()
            print("OK", flush=True)
        else:
            break
    controller.stop()
    asyncio.set_event_loop(None)


class Sink:
    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--sink", str(self.port)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None and self.process.stdout.readline().strip() == "READY"

    def ask(self, command: str) -> str:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return self.process.stdout.readline().strip()

    def counts(self) -> tuple[int, int]:
        messages, twice = self.ask("COUNT").split()
        return int(messages), int(twice)

    def close(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.write("QUIT\n")
            self.process.stdin.close()
            self.process.wait(10)


# --- the runs ----------------------------------------------------------------------------------


def populate(count: int) -> None:
    seed_regions(db.session)
    ids = {slug: id_ for slug, id_ in db.session.execute(sa.select(Region.slug, Region.id))}
    region_ids = [ids[slug] for slug in REGIONS]
    rng = random.Random(7)
    now = utcnow()
    db.session.execute(
        sa.insert(Subscriber),
        [
            {
                "email": f"member{n}@example.org",
                "status": "active",
                "created_at": now - dt.timedelta(days=30),
                "confirmed_at": now - dt.timedelta(days=30),
                "timezone": rng.choice(["UTC", "Africa/Nairobi", "Asia/Jakarta"]),
                "language": "en",
            }
            for n in range(count)
        ],
    )
    subscriber_ids = db.session.scalars(sa.select(Subscriber.id)).all()
    db.session.execute(
        sa.insert(subscriber_regions),
        [
            {"subscriber_id": sid, "region_id": rid}
            for sid in subscriber_ids
            for rid in rng.sample(region_ids, rng.randint(0, 3))
        ],
    )
    db.session.commit()


def reference(sink: Sink) -> float:
    """Seconds to send the same digests, rendered and built beforehand, over one connection."""
    ids = list(db.session.scalars(sa.select(Delivery.id).order_by(Delivery.id)))
    messages = [
        (item.recipient, build(item.mail, SENDING.sender, item.recipient,
                               list_id=SENDING.list_id, domain=SENDING.domain)[1])
        for item in outbox.prepare(db.session, ids, SENDING)
        if item.mail is not None
    ]  # fmt: skip
    start = time.perf_counter()
    client = smtplib.SMTP("127.0.0.1", sink.port)
    for recipient, data in messages:
        client.sendmail(SENDING.sender, [recipient], data)
    client.quit()
    return time.perf_counter() - start


def ours(sink: Sink) -> tuple[float, float, int]:
    """Seconds to publish the note (which queues its digests), seconds to send them; digests."""
    start = time.perf_counter()
    save_note(db.session, NoteInput(title="Coalition call notes", body=NOTE, status="published"))
    db.session.commit()  # the digests are queued after the commit
    queued = db.session.scalar(sa.select(sa.func.count()).select_from(Delivery))
    enqueued = time.perf_counter()
    transport = SMTPTransport("127.0.0.1", sink.port)
    while outbox.send_due(db.session, transport, SENDING, "bench", 500).sent:
        pass
    return enqueued - start, time.perf_counter() - enqueued, queued


def run(name: str, url: str, subscribers: int) -> bool:
    app = make_app(url)
    migrate(app)
    sink = Sink()
    try:
        with app.app_context():
            populate(subscribers)
            enqueue_s, send_s, queued = ours(sink)
            sent, twice = sink.counts()
            sink.ask("RESET")
            reference_s = reference(sink)
    finally:
        sink.close()
        dispose(app)
    rate = queued / (enqueue_s + send_s)
    reference_rate = queued / reference_s
    ratio = rate / reference_rate
    verdict = "PASS" if ratio >= 0.5 else "BELOW"
    print(f"  {name}")
    print(
        f"    {subscribers:,} subscribers; {queued:,} digests queued (the others matched nothing)"
    )
    print(f"    publish and enqueue: {enqueue_s:.2f} s; render and send: {send_s:.2f} s")
    print(f"    ours: {rate:,.0f} messages/s; reference (pre-built, one connection): "
          f"{reference_rate:,.0f} messages/s")  # fmt: skip
    print(f"    ratio ours/reference: {ratio:.2f} (target >= 0.5: {verdict})")
    ok = sent == queued and twice == 0
    if not ok:
        print(f"    CHECK FAILED: the sink received {sent} messages, {twice} recipients twice")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--postgres", metavar="URL", help="also run on this PostgreSQL server")
    parser.add_argument("--sink", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sink:
        serve_sink(args.sink)
        return 0
    print_banner("digests")
    ok = True
    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite:///{Path(directory) / 'digest.sqlite3'}"
        ok &= run("sqlite", url, args.subscribers)
    if args.postgres:
        with temporary_postgres_database(args.postgres) as url:
            ok &= run("postgresql", url, args.subscribers)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
