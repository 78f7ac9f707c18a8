"""The synthetic data generator (``truyvet synth``) and the demo's check-ins,
at small sizes: what it makes, where, when, how many, and that a seed makes
it again."""

from __future__ import annotations

import io
from collections import Counter
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.db.models import F

from truyvet.accounts.identity import validate_cccd
from truyvet.accounts.models import IdKind, Person
from truyvet.accounts.phones import normalize_phone
from truyvet.checkins.models import CheckIn, CheckInMethod, DepartureKind
from truyvet.checkins.services import recording
from truyvet.checkins.synth import SynthError, SynthPlan, SynthResult, synth_generate
from truyvet.checkins.synth import demo as synth_demo
from truyvet.checkins.synth.bulk import ProgressBar, in_background
from truyvet.checkins.synth.people import PeopleColumns
from truyvet.core.text import fold
from truyvet.places.models import AdministrativeUnit
from truyvet.site.demo import DEMO_STEPS
from truyvet.venues import qr
from truyvet.venues.models import (
    DEFAULT_DWELL_MINUTES,
    StaffRole,
    Venue,
    VenueStaff,
    VenueStatus,
)

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
UNTIL = datetime(2021, 11, 25, 18, 0, tzinfo=VIETNAM)
EXIT_SCAN_METHODS = {CheckInMethod.PERSONAL_QR, CheckInMethod.CCCD_QR, CheckInMethod.NATIONAL_QR}


def ha_lang_plan(**changes: Any) -> SynthPlan:
    values: dict[str, Any] = dict(
        district="048", venues=120, people=400, checkins=3000, days=14, until=UNTIL, seed=7,
        active_share=0.2, lapsed_share=0.1, batch=700,
    )
    values.update(changes)
    return SynthPlan(**values)


def in_area(unit: AdministrativeUnit) -> dict[str, str]:
    return {"venue__commune__path__startswith": unit.path}


@pytest.fixture
def ha_lang(units: Any) -> AdministrativeUnit:
    return units.ha_lang


@pytest.fixture
def generated(ha_lang: AdministrativeUnit) -> SynthResult:
    return synth_generate(plan=ha_lang_plan())


@pytest.mark.django_db
class TestWhatItMakes:
    def test_it_makes_the_asked_numbers_in_the_district(
        self, ha_lang: AdministrativeUnit, generated: SynthResult
    ) -> None:
        assert generated.area == ha_lang
        assert Venue.objects.filter(commune__path__startswith=ha_lang.path).count() == 120
        assert Person.objects.filter(commune__path__startswith=ha_lang.path).count() == 400
        assert CheckIn.objects.count() == 3000
        assert CheckIn.objects.filter(**in_area(ha_lang)).count() == 3000
        assert CheckIn.objects.filter(
            person__commune__path__startswith=ha_lang.path).count() == 3000
        assert (generated.venues_created, generated.people_created,
                generated.checkins_created) == (120, 400, 3000)

    def test_venues_are_active_registered_places_of_many_types_with_an_owner(
        self, ha_lang: AdministrativeUnit, generated: SynthResult
    ) -> None:
        venues = list(Venue.objects.filter(commune__path__startswith=ha_lang.path))
        assert {venue.status for venue in venues} == {VenueStatus.ACTIVE}
        assert len({venue.venue_type for venue in venues}) >= 7
        assert len({venue.commune_id for venue in venues}) >= 8
        for venue in venues:
            assert len(venue.code) == qr.CODE_LENGTH
            assert set(venue.code) <= set(qr.CODE_ALPHABET)
            assert normalize_phone(venue.contact_phone) == venue.contact_phone
            assert venue.name_folded and venue.dedup_key.startswith(venue.name_folded)
            assert venue.street.startswith(("Xóm ", "Thôn ", "Tổ ", "Số "))
            assert venue.created_at < generated.since
        owners = set(VenueStaff.objects.filter(venue__in=venues, role=StaffRole.OWNER)
                     .values_list("venue_id", "phone"))
        assert owners == {(venue.pk, venue.contact_phone) for venue in venues}
        names = {venue.name for venue in venues}
        assert "UBND thị trấn Thanh Nhật" in names or any(
            name.startswith("UBND xã ") for name in names)
        assert len(names) > 100

    def test_people_have_vietnamese_names_valid_phones_and_id_numbers(
        self, ha_lang: AdministrativeUnit, generated: SynthResult
    ) -> None:
        people = list(Person.objects.filter(commune__path__startswith=ha_lang.path))
        assert {person.sex for person in people} == {"male", "female"}
        assert all(len(person.full_name.split()) >= 3 for person in people)
        # Folded word by word when drawn: the same as folding the whole name.
        assert all(person.name_folded == fold(person.full_name) for person in people)
        assert all(1925 <= (person.birth_year or 0) <= 2015 for person in people)
        with_phone = [person for person in people if person.phone]
        assert 0.6 < len(with_phone) / len(people) < 0.95
        for person in with_phone:
            assert normalize_phone(person.phone) == person.phone
        with_id = [person for person in people if person.id_number]
        assert len(with_id) > len(people) / 3
        for person in with_id:
            assert person.id_kind == IdKind.CCCD
            assert person.birth_date is not None and person.birth_date.year == person.birth_year
            assert validate_cccd(person.id_number or "", birth_year=person.birth_year,
                                 sex=person.sex) == person.id_number
            assert (person.id_number or "").startswith("004")  # born in Cao Bằng


@pytest.mark.django_db
class TestVisits:
    def test_every_visit_lies_in_the_period_and_ends_after_it_began(
        self, generated: SynthResult
    ) -> None:
        since, until = generated.since, generated.until
        assert until == UNTIL and since == UNTIL - timedelta(days=14)
        for visit in CheckIn.objects.all():
            assert since <= visit.arrived_at < until
            assert visit.ends_at >= visit.arrived_at
            assert visit.arrived_at <= visit.received_at <= until

    def test_ends_follow_dwell_times_check_outs_and_exit_scans(
        self, generated: SynthResult, settings: Any
    ) -> None:
        merge = timedelta(minutes=settings.CHECKIN_MERGE_MINUTES)
        kinds: Counter[str] = Counter()
        visits = list(CheckIn.objects.select_related("venue").order_by("person_id", "arrived_at"))
        cut = 0
        for index, visit in enumerate(visits):
            kinds[visit.departure_kind] += 1
            dwell = timedelta(minutes=visit.venue.effective_dwell_minutes)
            if visit.departure_kind == DepartureKind.ESTIMATED:
                # A person cannot be in two places: their next arrival at
                # another venue ends an estimated visit (issue 19).
                later = (v for v in visits[index + 1:] if v.person_id == visit.person_id
                         and v.venue_id != visit.venue_id)
                elsewhere = next(later, None)
                expected = visit.arrived_at + dwell
                if elsewhere is not None and elsewhere.arrived_at < expected:
                    expected = elsewhere.arrived_at
                    cut += 1
                assert visit.ends_at == expected, visit
            elif visit.departure_kind == DepartureKind.EXIT_SCAN:
                assert visit.method in EXIT_SCAN_METHODS
                assert visit.arrived_at + merge < visit.ends_at < visit.arrived_at + dwell
            else:
                assert visit.method in {CheckInMethod.CITIZEN_SCAN, CheckInMethod.GUEST_FORM}
                assert visit.ends_at <= generated.until
        assert kinds[DepartureKind.ESTIMATED] > kinds[DepartureKind.CITIZEN] > 0
        assert kinds[DepartureKind.EXIT_SCAN] > 0
        assert cut > 0  # the data set has people who moved on before their dwell time

    def test_methods_are_mixed_and_some_scans_arrive_late(self, generated: SynthResult) -> None:
        methods = Counter(CheckIn.objects.values_list("method", flat=True))
        assert set(methods) == set(CheckInMethod.values)
        assert methods.most_common(1)[0][0] == CheckInMethod.CITIZEN_SCAN
        delays = [
            (received - arrived).total_seconds()
            for arrived, received in CheckIn.objects.values_list("arrived_at", "received_at")
        ]
        assert sorted(delays)[len(delays) // 2] <= 15  # most reach the server at once
        assert 0 < sum(1 for delay in delays if delay >= 300) < len(delays) * 0.1

    def test_arrivals_follow_the_local_day_with_quiet_nights(
        self, generated: SynthResult
    ) -> None:
        hours = Counter(
            arrived.astimezone(VIETNAM).hour
            for arrived in CheckIn.objects.values_list("arrived_at", flat=True)
        )
        night = sum(hours[hour] for hour in (0, 1, 2, 3))
        morning = sum(hours[hour] for hour in (6, 7, 8, 9))
        evening = sum(hours[hour] for hour in (17, 18, 19))
        assert night < 0.03 * 3000
        assert morning > 10 * night and evening > 3 * night
        assert max(hours, key=lambda hour: hours[hour]) in range(5, 10)

    def test_visitors_mostly_live_in_the_venues_commune_unless_it_is_busy(
        self, generated: SynthResult
    ) -> None:
        visits = Counter(CheckIn.objects.values_list("venue_id", flat=True))
        quiet = [venue for venue, count in visits.items() if count < 60]
        local = CheckIn.objects.filter(person__commune=F("venue__commune"))
        quiet_visits = sum(visits[venue] for venue in quiet)
        assert quiet_visits > 300
        assert local.filter(venue__in=quiet).count() / quiet_visits > 0.6
        # Busy venues draw from the whole district, yet locals still stand out:
        # a random resident of Hạ Lang lives in a given commune 1 time in 13.
        assert local.count() / 3000 > 0.3

    def test_popularity_is_skewed_a_few_busy_venues_many_quiet(
        self, generated: SynthResult
    ) -> None:
        per_venue = sorted(Counter(CheckIn.objects.values_list("venue_id", flat=True))
                           .values(), reverse=True)
        assert per_venue[0] > 5 * per_venue[len(per_venue) // 2]
        assert sum(per_venue[:3]) > 0.25 * 3000


@pytest.mark.django_db
class TestActiveShare:
    def test_the_asked_share_of_venues_scanned_in_the_last_7_days(
        self, ha_lang: AdministrativeUnit, generated: SynthResult
    ) -> None:
        week_ago = generated.until - timedelta(days=7)
        recent = set(CheckIn.objects.filter(**in_area(ha_lang), arrived_at__gte=week_ago)
                     .values_list("venue_id", flat=True))
        ever = set(CheckIn.objects.filter(**in_area(ha_lang)).values_list("venue_id",
                                                                           flat=True))
        assert len(recent) == round(0.2 * 120) == generated.active_venues
        assert len(ever - recent) == round(0.1 * 120) == generated.lapsed_venues
        # The same venues count as active over the 7 calendar days ending today.
        today = generated.until.astimezone(VIETNAM).replace(hour=0, minute=0, second=0)
        calendar = set(CheckIn.objects.filter(
            **in_area(ha_lang), arrived_at__gte=today - timedelta(days=6)
        ).values_list("venue_id", flat=True))
        assert calendar == recent

    def test_the_default_share_is_the_brief_s_7_percent(self, ha_lang: AdministrativeUnit) -> None:
        result = synth_generate(plan=ha_lang_plan(venues=300, people=100, checkins=1000,
                                                  active_share=SynthPlan().active_share))
        assert result.active_venues == round(0.074 * 300) == 22

    def test_venues_whose_staff_use_the_system_are_likelier_to_scan(
        self, personas: Any, market: Venue
    ) -> None:
        synth_generate(plan=ha_lang_plan(venues=200, active_share=0.05, lapsed_share=0.0))
        assert CheckIn.objects.filter(venue=market).exists()


@pytest.mark.django_db
class TestSeedsAndReruns:
    @staticmethod
    def fingerprint(area: AdministrativeUnit) -> tuple[list[Any], list[Any], list[Any]]:
        venues = list(Venue.objects.filter(commune__path__startswith=area.path).order_by("pk"))
        people = list(Person.objects.filter(commune__path__startswith=area.path)
                      .order_by("pk"))
        venue_index = {venue.pk: i for i, venue in enumerate(venues)}
        person_index = {person.pk: i for i, person in enumerate(people)}
        visits = sorted(
            (venue_index[v], person_index[p], arrived, received, ends, kind, method)
            for v, p, arrived, received, ends, kind, method in CheckIn.objects.values_list(
                "venue_id", "person_id", "arrived_at", "received_at", "ends_at",
                "departure_kind", "method")
        )
        return (
            [(v.name, v.street, v.venue_type, v.commune_id, v.contact_phone, v.created_at)
             for v in venues],
            [(p.full_name, p.birth_year, p.sex, p.id_number, p.phone, p.commune_id, p.street)
             for p in people],
            visits,
        )

    @staticmethod
    def wipe(area: AdministrativeUnit) -> None:
        CheckIn.objects.all().delete()
        Venue.objects.filter(commune__path__startswith=area.path).delete()
        Person.objects.filter(commune__path__startswith=area.path).delete()

    def test_the_same_seed_makes_the_same_data_again(self, ha_lang: AdministrativeUnit) -> None:
        plan = ha_lang_plan(venues=50, people=150, checkins=800)
        synth_generate(plan=plan)
        first = self.fingerprint(ha_lang)
        self.wipe(ha_lang)
        synth_generate(plan=plan)
        assert self.fingerprint(ha_lang) == first
        self.wipe(ha_lang)
        synth_generate(plan=ha_lang_plan(venues=50, people=150, checkins=800, seed=8))
        other = self.fingerprint(ha_lang)
        assert other[0] != first[0] and other[1] != first[1] and other[2] != first[2]

    def test_a_second_run_adds_check_ins_but_no_venues_or_people(
        self, ha_lang: AdministrativeUnit
    ) -> None:
        plan = ha_lang_plan(venues=50, people=150, checkins=800)
        synth_generate(plan=plan)
        first = set(CheckIn.objects.values_list("venue_id", "person_id", "arrived_at"))
        again = synth_generate(plan=plan)
        assert (again.venues_created, again.people_created) == (0, 0)
        assert Venue.objects.filter(commune__path__startswith=ha_lang.path).count() == 50
        assert Person.objects.filter(commune__path__startswith=ha_lang.path).count() == 150
        assert CheckIn.objects.count() == 1600
        both = set(CheckIn.objects.values_list("venue_id", "person_id", "arrived_at"))
        assert len(both - first) > 700  # new visits, not copies of the first run's

    def test_asking_for_more_tops_up_with_different_names(
        self, ha_lang: AdministrativeUnit
    ) -> None:
        synth_generate(plan=ha_lang_plan(venues=40, people=100, checkins=0))
        more = synth_generate(plan=ha_lang_plan(venues=90, people=250, checkins=0))
        assert (more.venues_created, more.people_created) == (50, 150)
        keys = list(Venue.objects.filter(commune__path__startswith=ha_lang.path)
                    .values_list("commune_id", "dedup_key"))
        assert len(keys) == len(set(keys)) == 90
        ids = [n for n in Person.objects.values_list("id_number", flat=True) if n]
        assert len(ids) == len(set(ids))

    def test_an_id_number_someone_already_holds_is_left_off_not_refused(
        self, ha_lang: AdministrativeUnit
    ) -> None:
        synth_generate(plan=ha_lang_plan(checkins=0))
        drawn = {number for number in Person.objects.values_list("id_number", flat=True)
                 if number}
        Person.objects.all().delete()
        taken = min(drawn)
        Person.objects.create(full_name="Người ở tỉnh khác", id_kind=IdKind.CCCD,
                              id_number=taken)
        again = synth_generate(plan=ha_lang_plan(checkins=0))  # the same people drawn
        assert again.people_created == 400
        holders = Person.objects.filter(commune__path__startswith=ha_lang.path)
        assert {number for number in holders.values_list("id_number", flat=True)
                if number} == drawn - {taken}
        assert holders.filter(id_number=None, id_kind="", birth_date=None).count() > 0


def test_an_id_number_drawn_twice_in_a_chunk_stays_with_its_first_holder() -> None:
    people = PeopleColumns(
        full_name=["A", "B", "C", "D"], name_folded=["a", "b", "c", "d"],
        birth_year=["1990"] * 4, sex=["male"] * 4, commune_id=["1"] * 4, street=[""] * 4,
        phone=[""] * 4, created_at=["2021-11-01 00:00:00"] * 4,
        id_number=np.array([4090000001, 0, 4090000001, 4090000002], dtype=np.int64),
        birth_date=["1990-01-02", None, "1990-03-04", "1990-05-06"],
    )
    assert people.ids() == ["004090000001", "004090000001", "004090000002"]
    assert people.drop_ids({"004090000002"}) == 2
    text = people.as_text(now="2021-11-01 00:00:00")
    assert text["id_number"] == ["004090000001", None, None, None]
    assert text["id_kind"] == ["cccd", "", "", ""]
    assert text["birth_date"] == ["1990-01-02", None, None, None]


@pytest.mark.django_db
class TestBadPlans:
    @pytest.mark.parametrize("changes", [
        {"active_share": 1.5}, {"active_share": 0.7, "lapsed_share": 0.5}, {"days": 0},
        {"checkins": -1}, {"until": datetime(2021, 11, 25)},  # noqa: DTZ001 - naive on purpose
    ])
    def test_it_refuses_impossible_numbers_and_writes_nothing(
        self, units: Any, changes: dict[str, Any]
    ) -> None:
        with pytest.raises(SynthError):
            synth_generate(plan=ha_lang_plan(**changes))
        assert not Venue.objects.exists() and not CheckIn.objects.exists()

    def test_it_refuses_an_unknown_district_or_one_outside_the_province(
        self, units: Any
    ) -> None:
        with pytest.raises(SynthError, match="no district"):
            synth_generate(plan=ha_lang_plan(province="04", district="999"))
        with pytest.raises(SynthError, match="not in province"):
            synth_generate(plan=ha_lang_plan(province="01", district="048"))

    def test_check_ins_need_somebody_to_make_them(self, units: Any) -> None:
        with pytest.raises(SynthError, match="people"):
            synth_generate(plan=ha_lang_plan(people=0))


@pytest.mark.django_db
class TestAfterLoadHook:
    def test_the_hook_rebuilds_derived_data_for_the_loaded_period(
        self, units: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        calls: list[dict[str, Any]] = []

        def rebuild(*, since: datetime, until: datetime) -> None:
            calls.append({"since": since, "until": until,
                          "rows": CheckIn.objects.filter(arrived_at__gte=since,
                                                         arrived_at__lt=until).count()})

        monkeypatch.setattr(recording, "checkins_after_bulk_load", rebuild, raising=False)
        result = synth_generate(plan=ha_lang_plan(checkins=500))
        assert result.hook_called
        assert calls == [{"since": result.since, "until": result.until, "rows": 500}]
        assert result.since.tzinfo is not None

    def test_without_a_hook_the_load_still_works(
        self, units: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.delattr(recording, "checkins_after_bulk_load", raising=False)
        result = synth_generate(plan=ha_lang_plan(checkins=200))
        assert not result.hook_called and result.checkins_created == 200

    def test_no_check_ins_no_hook(self, units: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        calls: list[Any] = []
        monkeypatch.setattr(recording, "checkins_after_bulk_load",
                            lambda **kw: calls.append(kw), raising=False)
        synth_generate(plan=ha_lang_plan(checkins=0))
        assert calls == []


@pytest.mark.django_db
class TestCommand:
    def test_truyvet_synth_generates_and_reports(self, units: Any) -> None:
        out, err = io.StringIO(), io.StringIO()
        call_command("synth", "--district", "048", "--venues", "60", "--people", "200",
                     "--checkins", "1_000", "--until", "2021-11-25T18:00", "--seed", "3",
                     "--active-share", "0.1", stdout=out, stderr=err)
        assert CheckIn.objects.count() == 1000
        text = out.getvalue()
        assert "Huyện Hạ Lang" in text and "Venues: 60 (60 new" in text
        assert "Check-ins: 1,000 new from 2021-11-11 18:00 to 2021-11-25 18:00" in text
        assert "Venues scanning in this run: 6 in the last 7 days" in text
        assert "1,000/1,000" in err.getvalue() and "ETA" in err.getvalue()

    @pytest.mark.parametrize("arguments", [
        ["--active-share", "1.5"], ["--checkins", "many"], ["--until", "yesterday"],
        ["--active-share", "0.8", "--lapsed-share", "0.5"],
        ["--province", "04", "--district", "999"],
    ])
    def test_bad_arguments_are_refused(self, units: Any, arguments: list[str]) -> None:
        with pytest.raises(CommandError):
            call_command("synth", "--district", "048", *arguments,
                         stdout=io.StringIO(), stderr=io.StringIO())
        assert not CheckIn.objects.exists()


@pytest.mark.django_db
class TestDemoStep:
    @pytest.fixture(autouse=True)
    def _small_demo(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(synth_demo, "DEMO_CHECKINS", 600)
        monkeypatch.setattr(synth_demo, "DEMO_PEOPLE", 120)
        monkeypatch.setattr(synth_demo, "DEMO_VENUES", 40)

    def test_the_demo_runs_it_after_the_venues_and_before_the_cases(self) -> None:
        names = [step.__name__ for step in DEMO_STEPS]
        assert names.count("demo_checkins") == 1
        position = names.index("demo_checkins")
        assert position > names.index("demo_accounts")
        for before in ("demo_venues",):
            assert before not in names or names.index(before) < position
        for after in ("demo_cases",):
            assert after not in names or position < names.index(after)

    def test_it_generates_venues_when_no_step_made_any_and_runs_once(
        self, ha_lang: AdministrativeUnit
    ) -> None:
        said: list[str] = []
        synth_demo.demo_checkins(said.append)
        assert Venue.objects.filter(commune__path__startswith=ha_lang.path).count() == 40
        assert CheckIn.objects.filter(**in_area(ha_lang)).count() == 600
        assert len(said) == 1
        synth_demo.demo_checkins(said.append)
        assert CheckIn.objects.count() == 600 and len(said) == 1

    def test_it_uses_the_venues_already_registered(
        self, personas: Any, market: Venue, ha_lang: AdministrativeUnit
    ) -> None:
        synth_demo.demo_checkins(lambda message: None)
        assert list(Venue.objects.filter(commune__path__startswith=ha_lang.path)) == [market]
        assert CheckIn.objects.filter(venue=market).count() == 600
        assert Person.objects.filter(commune__path__startswith=ha_lang.path).count() == 120


class TestPlumbing:
    def test_the_progress_bar_shows_rate_and_eta_and_ends_at_100_percent(self) -> None:
        stream = io.StringIO()
        bar = ProgressBar(label="checkins", total=1000, stream=stream, every=0.0)
        for _ in range(4):
            bar.advance(250)
        bar.finish()
        lines = stream.getvalue().splitlines()
        assert lines[0].startswith("checkins [") and "250/1,000" in lines[0]
        assert "/s" in lines[0] and "ETA" in lines[0]
        assert "100%" in lines[-1] and "1,000/1,000" in lines[-1]

    def test_background_batches_come_in_order_and_errors_come_through(self) -> None:
        assert list(in_background(iter(range(50)), depth=2)) == list(range(50))

        def failing() -> Any:
            yield 1
            raise RuntimeError("generator broke")

        with pytest.raises(RuntimeError, match="generator broke"):
            list(in_background(failing()))


def test_default_dwell_times_cover_every_type() -> None:
    from truyvet.checkins.synth import vocabulary

    assert set(vocabulary.HOURLY) == set(DEFAULT_DWELL_MINUTES)
    assert set(vocabulary.NAME_TEMPLATES) == set(DEFAULT_DWELL_MINUTES)
