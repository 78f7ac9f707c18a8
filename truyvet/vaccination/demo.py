"""The vaccination step of the Hạ Lang demo (``DEMO_STEPS``): the two
vaccination sites (the district health centre in Thị trấn Thanh Nhật, the
commune health station of Xã An Lạc), about 20,000 residents with the doses
of late 2021, the communes' populations, a few open correction requests
(one with a photo of the paper certificate) and the coverage figures.

Idempotent: a second run adds nothing.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date
from typing import Any

from django.db.models import Count, Q

from truyvet.accounts.models import Person, User
from truyvet.checkins.synth.generate import SynthPlan, synth_area, synth_generate
from truyvet.places.models import AdministrativeUnit, Level, Population
from truyvet.places.population import population_import
from truyvet.vaccination.models import CorrectionKind, CorrectionRequest, Dose
from truyvet.vaccination.services import (
    CorrectionInput,
    correction_confirm_by_papers,
    correction_file,
    dose_record,
)
from truyvet.vaccination.synth import doses_synth
from truyvet.venues.models import Venue, VenueStaff, VenueType
from truyvet.venues.services import venue_register, venue_staff_add

DEMO_PEOPLE = 20_000  # Hạ Lang had about 25,700 people (2019 census)
DEMO_DOSES = 60_000  # an upper bound: each resident's own history decides
CENTRE = "Trung tâm Y tế huyện Hạ Lang"
STATION = "Trạm Y tế xã An Lạc"
HEALTH_WORKER = "+84901000006"  # Đàm Thị Thu in core.demo.ACCOUNTS
DISTRICT_OFFICER = "+84901000003"  # Nông Thị Lan
CONTROLLER = "0901000008"  # Hà Thị Mai
COMMUNE_OFFICER = "+84901000005"  # Lục Văn Minh, Thị trấn Thanh Nhật
CITIZEN = "+84901000009"  # Nguyễn Thị Hoa


def _unit(*names: str) -> AdministrativeUnit:
    unit = None
    for name in names:
        unit = AdministrativeUnit.objects.get(scheme="2021", parent=unit, name=name)
    assert unit is not None
    return unit


def _sites(say: Callable[[str], None]) -> tuple[Venue, Venue]:
    thanh_nhat = _unit("Tỉnh Cao Bằng", "Huyện Hạ Lang", "Thị trấn Thanh Nhật")
    an_lac = _unit("Tỉnh Cao Bằng", "Huyện Hạ Lang", "Xã An Lạc")
    officer = User.objects.get(phone=DISTRICT_OFFICER)
    centre = Venue.objects.filter(name=CENTRE, venue_type=VenueType.VACCINATION).first()
    station = Venue.objects.filter(name=STATION, venue_type=VenueType.VACCINATION).first()
    if centre is None or station is None:
        say("Registering Hạ Lang's two vaccination sites")
    if centre is None:
        # The district health worker owns the centre's site: she runs it.
        centre = venue_register(actor=officer, name=CENTRE, venue_type=VenueType.VACCINATION,
                                commune=thanh_nhat, street="Phố Thanh Nhật",
                                contact_phone=HEALTH_WORKER)
    if station is None:
        station = venue_register(actor=officer, name=STATION, venue_type=VenueType.VACCINATION,
                                 commune=an_lac, street="Xóm Bản Thẳm",
                                 contact_phone="0912450101")
        if not VenueStaff.objects.filter(venue=station, phone="+84901000008").exists():
            venue_staff_add(actor=officer, venue=station, phone=CONTROLLER, role="controller",
                            notify=False)
    return centre, station


def _population(ha_lang: AdministrativeUnit) -> None:
    """Each commune's residents as its population (the demo has no census)."""
    communes = AdministrativeUnit.objects.filter(parent=ha_lang, level=Level.COMMUNE)
    if Population.objects.filter(commune__in=communes).exists():
        return
    adult_year = 2021 - 18
    counts = (Person.objects.filter(commune__in=communes).values("commune__code")
              .annotate(total=Count("pk"), adults=Count("pk", filter=Q(
                  birth_year__lte=adult_year))).order_by("commune__code"))
    lines = ["Mã xã,Dân số,Dân số từ 18 tuổi"]
    lines += [f"{row['commune__code']},{row['total']},{row['adults']}" for row in counts]
    population_import(actor=None, file=io.BytesIO("\n".join(lines).encode()),
                      filename="dan-so-ha-lang-2021.csv")


def _certificate_photo() -> bytes:
    """A photographed paper certificate, as a citizen would send it."""
    from PIL import Image, ImageDraw

    picture = Image.new("RGB", (900, 640), (248, 244, 232))
    draw = ImageDraw.Draw(picture)
    lines = ["GIẤY XÁC NHẬN ĐÃ TIÊM VẮC XIN PHÒNG COVID-19", "", "Họ và tên: ...",
             "Mũi 2: AstraZeneca, ngày 28/10/2021", "Số lô: ABV5811", "",
             "Trung tâm Y tế huyện Hạ Lang"]
    for index, text in enumerate(lines):
        draw.text((60, 60 + 60 * index), text, fill=(40, 40, 40))
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()


def _requests(say: Callable[[str], None], centre: Venue) -> None:
    if CorrectionRequest.objects.filter(review_site=centre).exists():
        return
    officer = User.objects.get(phone=COMMUNE_OFFICER)
    thanh_nhat = _unit("Tỉnh Cao Bằng", "Huyện Hạ Lang", "Thị trấn Thanh Nhật")
    # Residents without a phone on file: the commune officer files for them
    # and checks their papers, as the commune office did in 2021.
    people = list(Person.objects.filter(commune=thanh_nhat, phone="", user__isnull=True)
                  .annotate(n=Count("doses")).filter(n__gte=2).order_by("pk")[:3])
    if len(people) < 3:
        return
    say("Filing three correction requests in Thị trấn Thanh Nhật (one with a photo)")
    plans: list[tuple[Person, str, int | None, dict[str, Any], bool]] = [
        (people[0], CorrectionKind.WRONG_LOT, 2, {"lot_number": "ABV5811"}, True),
        (people[1], CorrectionKind.WRONG_DATE, 1, {"given_on": None}, False),
        (people[2], CorrectionKind.MISSING, None, {}, False),
    ]
    for person, kind, number, extra, with_photo in plans:
        dose = Dose.objects.filter(person=person, dose_number=number).first() if number else None
        if kind == CorrectionKind.WRONG_DATE and dose is not None:
            extra = {"given_on": dose.given_on.replace(day=min(dose.given_on.day + 1, 28))}
        data = CorrectionInput(
            kind=kind, dose=dose, note="Người dân mang giấy xác nhận đến UBND thị trấn.",
            **({"given_on": date(2021, 12, 15), "vaccine": "Pfizer",
                "site_name": "Bệnh viện Đa khoa tỉnh Cao Bằng"} if kind == CorrectionKind.MISSING
               else extra))
        files = [("giay-xac-nhan.jpg", io.BytesIO(_certificate_photo()))] if with_photo else []
        request = correction_file(actor=officer, person=person, data=data, files=files)
        correction_confirm_by_papers(actor=officer, correction=request)


def _citizen(centre: Venue) -> None:
    """The demo citizen's own two doses, for her page."""
    user = User.objects.filter(phone=CITIZEN).select_related("person").first()
    if user is None or Dose.objects.filter(person=user.person).exists():
        return
    worker = User.objects.get(phone=HEALTH_WORKER)
    for day in (date(2021, 8, 12), date(2021, 10, 28)):
        dose_record(actor=worker, site=centre, person=user.person, vaccine="AstraZeneca",
                    given_on=day, lot_number="ABV5811")


def demo_vaccination(say: Callable[[str], None]) -> None:
    ha_lang = synth_area(province="04", district="048")
    centre, station = _sites(say)
    _citizen(centre)
    residents = Dose.objects.filter(person__commune__path__startswith=ha_lang.path)
    if residents.count() < DEMO_PEOPLE:
        say(f"Vaccinating Hạ Lang: {DEMO_PEOPLE:,} residents with their late-2021 doses")
        synth_generate(plan=SynthPlan(province="04", district="048", venues=0,
                                      people=DEMO_PEOPLE, checkins=0, seed=20211125))
        station_communes = {station.commune_id: station.pk}
        doses_synth(area=ha_lang, doses=DEMO_DOSES, seed=20211125,
                    sites_by_commune={**station_communes, 0: centre.pk})
    _population(ha_lang)
    _requests(say, centre)
