"""Expands a feed with recurring-ical-events over icalendar, as a Python subscriber would.

Prints the occurrences starting in [FROM, TO) as JSON lines (start, end in UTC ISO, summary,
status). Usage: python expand_ric.py URL FROM TO. Runs in the feed-clients virtualenv.
"""

import datetime as dt
import json
import sys
import urllib.request

import icalendar
import recurring_ical_events

url, start, end = sys.argv[1:4]
with urllib.request.urlopen(url) as response:
    calendar = icalendar.Calendar.from_ical(response.read())
begin, until = dt.datetime.fromisoformat(start), dt.datetime.fromisoformat(end)
for event in recurring_ical_events.of(calendar).between(begin, until):
    first, last = event.decoded("dtstart"), event.decoded("dtend")
    if first < begin:
        continue
    print(
        json.dumps(
            {
                "start": first.astimezone(dt.UTC).isoformat(),
                "end": last.astimezone(dt.UTC).isoformat(),
                "summary": str(event.get("summary")),
                "status": str(event.get("status", "")),
            }
        )
    )
