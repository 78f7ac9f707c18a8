"""Synthetic data at any scale: venues, people and check-ins that look like a
Cao Bằng district in late 2021 (``truyvet synth``, the Hạ Lang demo, and the
tracing and dashboard benchmarks).

What it makes, for an area (a province, default Cao Bằng "04", or a district
such as Hạ Lang "048"; the 2021 administrative map is loaded when missing):

- **Venues** of every type in a plausible rural mix (shops, eateries, offices,
  schools, clinics, markets, checkpoints, ...) spread over the communes, towns
  weighted three to one. Each commune's first venues of a type are its
  institutions ("UBND xã Thắng Lợi", "Trường Tiểu học Thanh Nhật", "Trạm Y tế
  xã An Lạc", "Chợ Thanh Nhật"), the district's sit in its seat; the rest are
  signs ("Tạp hoá Hồng Nhung", "Quán phở Cô Lan", "Nhà văn hoá xóm Nà Lẹng")
  at addresses "Xóm/Thôn <hamlet>" or "Tổ <n>" in towns. Codes come from
  ``venues.qr.venue_code_generate``; status ACTIVE; a valid Vietnamese mobile
  as contact, who is also the venue's OWNER (``VenueStaff``, no account),
  as after an officer's import. No coordinates (they would be made up).
- **People** with Vietnamese (mostly Tày-Nùng) names, sex, birth year, a home
  commune and address, a mobile number (85% of those over 12) and, for 60%
  of those 14 and over, a CCCD number that follows the real layout (province,
  century/sex digit, birth year) with its birth date.
- **Check-ins** over ``days`` days ending at ``until`` (default now). A share
  ``active_share`` of the area's ACTIVE venues (default 7.4%: 419 of 5,677 in
  the brief) scan in the last 7 days and ``lapsed_share`` (default 5%) only
  before them; the rest never scan. Markets, clinics, checkpoints and venues
  whose staff have accounts are likelier to scan. Among scanning venues
  popularity is Zipf-like (a few busy markets, most venues quiet); the
  busiest fifth scan every day, the others only on some days, so fewer
  venues scan in a day than in a week. Arrivals follow each type's hourly
  rhythm in local time (Asia/Ho_Chi_Minh: markets at dawn, offices and
  schools at session starts, eateries at meals, little at night) and
  weekday (offices and schools quiet at the weekend). Visitors mostly live
  in the venue's commune (72%) or district (20%), except that busy venues
  draw from further away (a commune's residents visit one venue at most every
  4 days on average); each person has a lognormal appetite for going out
  (account holders more). Methods follow the venue type (posters at shops,
  controllers scanning cards at offices and checkpoints). ``ends_at`` is
  arrival + the venue's dwell time, except 12% of poster visits that tap
  "leaving" (earlier or later) and 25% of card visits that end with an exit
  scan (later than the merge window, before the dwell time), as
  ``checkins.services`` would record them, and except that a person cannot
  be in two places: an estimated end is cut to the person's next arrival at
  another venue when that comes first (real check-outs stand); a departure
  after ``until`` has
  not happened yet and stays estimated. ``received_at`` is a
  few seconds after arrival, or minutes to 12 hours for 3% (offline syncs),
  never after ``until``. ``recorded_by`` is empty (no controller accounts).
  Repeated scans of one person at one venue are not merged: the rows are
  visits, and a chance repeat within the merge window is left as is.

Defaults: 35 venues per commune (Cao Bằng: 5,635; pass ``--venues 5677``),
20 residents per venue or one per 20 check-ins if that is more, 14 days.
At millions of check-ins over a few hundred scanning venues the busiest get
tens of thousands of visits a day; pass more venues or a larger active
share when per-venue density matters (tracing benchmarks).

Guarantees:

- **Totals, not increments, for venues and people.** ``venues`` and
  ``people`` say how many the area should have; only the missing ones are
  created (counting every venue or resident already there, of any origin).
  Running twice with the same seed therefore never duplicates venues or
  people. **Check-ins are appended** on every run with fresh random UUIDs
  (as phones make them), so 1 M + 9 M gives a 10 M table; the seed is mixed
  with the number of check-ins already stored, so a second run with the same
  seed adds different visits, not copies. To reproduce a data set, start
  from an empty database.
- **Deterministic given a seed, ``until`` and the starting database**: the same
  names, types, communes, people, arrival times, methods and departures.
  Only the random venue codes and check-in ids differ.
- **Exact counts**: exactly ``checkins`` rows between ``until - days`` and
  ``until``. With at least as many check-ins as scanning venues, exactly
  round(active_share x venues) venues (at least one) have a scan in the last
  7 days (rolling, or as the 7 calendar days ending today) and lapsed ones
  only before the calendar day of ``until - 7 days``.
- **Bounded memory and bulk writes**: rows are drawn as numpy columns a
  batch (``batch``, default 50,000) at a time, day by day in time order
  (sorted by arrival within each day); a day is held until the days within
  the longest dwell time after it are drawn (for the cut of estimated ends),
  so memory grows with the check-ins of two days, venues and people, never
  with the whole load. PostgreSQL: binary ``COPY``; a day whose partition is
  missing or empty is loaded into a bare table in one transaction and then
  attached as the partition, which builds its indexes once (decision 0014);
  other days take one transaction per batch. People are drawn as columns
  too, 50,000 at a time, and written by one text ``COPY`` each
  (``people.py``). SQLite: ``executemany`` with
  ``synchronous=OFF`` and a 256 MB page cache during the load (both put
  back afterwards). A thread makes the next batches while the last one is
  written. A failure half-way keeps the days (PostgreSQL, fresh days) or
  batches already committed.
- **Post-load hook**: afterwards (also after a failure, when rows were
  written) ``truyvet.checkins.services.checkins_after_bulk_load(since=,
  until=)`` is called *if it exists*, with the loaded period as aware UTC
  datetimes (half-open, ``since <= arrived_at < until``), so that whoever
  keeps derived data (the reports' daily rollups per venue) rebuilds it for
  that period: bulk loading bypasses ``checkin_record`` and its bookkeeping.
  On PostgreSQL outside a transaction it is called once per day instead, as
  soon as the day is committed, from two threads with a connection each, so
  the database derives days while the next ones load.

``synth_generate(plan=SynthPlan(...))`` is the entry point; ``demo_checkins``
is the demo step (``truyvet.site.demo.DEMO_STEPS``).
"""

from truyvet.checkins.synth.demo import demo_checkins
from truyvet.checkins.synth.generate import (
    SynthError,
    SynthPlan,
    SynthResult,
    synth_area,
    synth_generate,
)

__all__ = [
    "SynthError", "SynthPlan", "SynthResult", "demo_checkins", "synth_area", "synth_generate",
]
