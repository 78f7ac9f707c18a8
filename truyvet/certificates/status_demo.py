"""The card-colour step of the Hạ Lang demo (``truyvet.site.demo.DEMO_STEPS``):
a testing site at the district health centre with the demo controller on
its staff, negative PCRs for a few unvaccinated residents (yellow for three
days), a positive rapid test (red), a resident who recovered from a case
closed through tracing (green), and Cao Bằng's own rule from next week
(rapid tests count for 24 hours), so the rules page has a dated change.
Every other resident's colour follows from their doses. Idempotent.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from django.db.models import Exists, OuterRef
from django.utils import timezone

from truyvet.accounts.models import Person, User
from truyvet.certificates import status_services as services
from truyvet.certificates.models import ColourRule, TestResult
from truyvet.certificates.status_selectors import person_colour
from truyvet.core.errors import ServiceError
from truyvet.places.models import AdministrativeUnit
from truyvet.tracing import services as tracing
from truyvet.tracing.models import Case, Classification, Diagnostic
from truyvet.vaccination.models import Dose
from truyvet.venues.models import Venue, VenueStaff, VenueType
from truyvet.venues.services import venue_register, venue_staff_accept, venue_staff_add

SITE = "Điểm xét nghiệm Trung tâm Y tế huyện Hạ Lang"
DISTRICT_OFFICER = "+84901000003"
PROVINCE_OFFICER = "+84901000002"
HEALTH_WORKER = "+84901000006"
CONTROLLER = "+84901000008"
CITIZEN = "+84901000009"
RECOVERED = ("Đinh Văn Khỏi", "0904000016")  # (name, phone) of the demo's recovered resident


def _unit(*names: str) -> AdministrativeUnit | None:
    unit = None
    for name in names:
        unit = AdministrativeUnit.objects.filter(scheme="2021", parent=unit, name=name).first()
        if unit is None:
            return None
    return unit


def _site(officer: User, town: AdministrativeUnit) -> Venue:
    site = Venue.objects.filter(name=SITE, venue_type=VenueType.TESTING).first()
    if site is None:
        site = venue_register(actor=officer, name=SITE, venue_type=VenueType.TESTING,
                              commune=town, street="Phố Thanh Nhật", contact_phone=HEALTH_WORKER)
    controller = User.objects.filter(phone=CONTROLLER).first()
    if controller is not None and not VenueStaff.objects.filter(
            venue=site, user=controller).exists():
        staff = venue_staff_add(actor=officer, venue=site, phone=CONTROLLER, role="controller",
                                notify=False)
        venue_staff_accept(user=controller, staff=staff)
    return site


def _when(hours_ago: float) -> str:
    return timezone.localtime(timezone.now() - timedelta(hours=hours_ago)).strftime(
        "%d/%m/%Y %H:%M")


def _data(person: Person, kind: str, result: str, hours_ago: float) -> dict[str, str]:
    birth = (person.birth_date.strftime("%d/%m/%Y") if person.birth_date
             else str(person.birth_year or ""))
    return {"full_name": person.full_name, "birth": birth, "id_number": person.id_number or "",
            "phone": person.phone, "kind": kind, "result": result,
            "sampled_at": _when(hours_ago)}


def demo_card_colours(say: Callable[[str], None]) -> None:
    town = _unit("Tỉnh Cao Bằng", "Huyện Hạ Lang", "Thị trấn Thanh Nhật")
    province = _unit("Tỉnh Cao Bằng")
    officer = User.objects.filter(phone=DISTRICT_OFFICER).first()
    controller = User.objects.filter(phone=CONTROLLER).first()
    worker = User.objects.filter(phone=HEALTH_WORKER).first()
    if town is None or province is None or officer is None or controller is None \
            or worker is None:
        say("Skipping card colours: the demo accounts or Hạ Lang are missing")
        return
    site = _site(officer, town)
    if not TestResult.objects.filter(facility=site).exists():
        say("Entering test results at Hạ Lang's testing site")
        district = town.parent
        unvaccinated = (Person.objects.filter(commune__parent=district)
                        .exclude(Exists(Dose.objects.filter(person=OuterRef("pk"))))
                        .exclude(phone="").exclude(birth_date=None).order_by("pk"))
        chosen = list(unvaccinated[:6])
        citizen = User.objects.filter(phone=CITIZEN).select_related("person").first()
        if citizen is not None and citizen.person not in chosen:
            chosen.insert(0, citizen.person)
        for index, tested in enumerate(chosen):
            positive = index == len(chosen) - 1 and len(chosen) > 2
            try:
                services.test_result_enter(
                    actor=controller, site=site,
                    data=_data(tested, "rapid" if positive else "pcr",
                               "positive" if positive else "negative", 3 + index))
            except ServiceError as error:  # a synthetic record the site cannot match
                say(f"  (skipped one resident: {error.message})")
    if not Person.objects.filter(phone="+84" + RECOVERED[1][1:], recoveries__isnull=False).exists():
        say("Closing a resident's case as recovered (a recovery, green for 180 days)")
        found = Person.objects.filter(phone="+84" + RECOVERED[1][1:]).first()
        if found is None:
            from truyvet.accounts.services import PersonInput, person_create

            found = person_create(data=PersonInput(full_name=RECOVERED[0], commune=town,
                                                    phone=RECOVERED[1]))
        person = found
        if not Case.objects.filter(person=person, status="open").exists():
            case = tracing.case_register(
                actor=worker, person=person,
                data=tracing.CaseInput(classification=Classification.CONFIRMED,
                                       test_date=timezone.localdate() - timedelta(days=13),
                                       test_type=Diagnostic.PCR))
        else:
            case = Case.objects.get(person=person, status="open")
        tracing.case_close(actor=worker, case=case, outcome="recovered")
    if not ColourRule.objects.filter(province=province).exists():
        say("Cao Bằng's own colour rule from next week: rapid tests count for 24 hours")
        admin_or_officer = User.objects.filter(phone=PROVINCE_OFFICER).first()
        if admin_or_officer is not None:
            services.colour_rule_add(
                actor=admin_or_officer, province=province, data={
                    "effective_from": (timezone.localdate() + timedelta(days=7)).isoformat(),
                    "full_course_days": 14, "recovery_days": 180, "first_dose_days": 14,
                    "pcr_hours": 72, "rapid_hours": 24, "positive_days": 14,
                    "reason": "Công văn số 2150/UBND-VX (demo)"})
    sample = list(Person.objects.filter(commune__parent=town.parent).order_by("pk")[:200])
    counts: dict[str, int] = {}
    for person in sample:
        colour = person_colour(person).colour
        counts[colour] = counts.get(colour, 0) + 1
    say("Card colours of the first {n} Hạ Lang residents: {c}".format(
        n=len(sample), c=", ".join(f"{k} {v}" for k, v in sorted(counts.items()))))
