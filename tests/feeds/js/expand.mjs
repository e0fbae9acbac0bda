// Reads a feed the way Thunderbird does, with Mozilla ical.js: registers the feed's own
// VTIMEZONEs (ical.js knows no zone but UTC), relates each series' overrides to its master,
// expands every event and prints the occurrences that start in [from, to) as JSON lines:
// {"start": UTC ISO, "end": UTC ISO, "summary": ..., "status": ...}.
// Usage: node expand.mjs URL FROM TO   (FROM and TO: UTC ISO instants)
import ICAL from "ical.js";

const [url, fromText, toText] = process.argv.slice(2);
const response = await fetch(url);
if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
const root = new ICAL.Component(ICAL.parse(await response.text()));

for (const vtimezone of root.getAllSubcomponents("vtimezone")) {
  ICAL.TimezoneService.register(vtimezone);
}

const utc = ICAL.Timezone.utcTimezone;
const from = ICAL.Time.fromJSDate(new Date(fromText), true);
const to = ICAL.Time.fromJSDate(new Date(toText), true);
const iso = (time) => time.convertToZone(utc).toJSDate().toISOString();

const byUid = new Map();
for (const vevent of root.getAllSubcomponents("vevent")) {
  const uid = vevent.getFirstPropertyValue("uid");
  if (!byUid.has(uid)) byUid.set(uid, []);
  byUid.get(uid).push(new ICAL.Event(vevent));
}

const out = [];
for (const events of byUid.values()) {
  const master = events.find((event) => !event.isRecurrenceException()) ?? events[0];
  for (const event of events) {
    if (event !== master && event.isRecurrenceException()) master.relateException(event);
  }
  if (!master.isRecurring()) {
    if (master.startDate.compare(from) >= 0 && master.startDate.compare(to) < 0) {
      out.push({ start: iso(master.startDate), end: iso(master.endDate),
                 summary: master.summary, status: master.component.getFirstPropertyValue("status") });
    }
    continue;
  }
  const iterator = master.iterator();
  let next;
  let guard = 0;
  while ((next = iterator.next()) && guard++ < 5000) {
    const details = master.getOccurrenceDetails(next);
    if (details.startDate.compare(to) >= 0 && next.compare(to) >= 0) break;
    if (details.startDate.compare(from) < 0 || details.startDate.compare(to) >= 0) continue;
    out.push({ start: iso(details.startDate), end: iso(details.endDate),
               summary: details.item.summary,
               status: details.item.component.getFirstPropertyValue("status") });
  }
}
for (const item of out) console.log(JSON.stringify(item));
