"""The certificates step of the Hạ Lang demo (``DEMO_STEPS``): Cao Bằng's
demo CSCA and DSC, our DSC in the demo trust list, vaccination certificates
for the demo citizen and four Hạ Lang residents (the province officer
taking the three steps), and one of them revoked and re-issued after a
correction of the dose's date approved by the centre.

Idempotent: a second run adds nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

from django.db.models import Count

from truyvet.accounts.models import Person, User
from truyvet.certificates.issuing.selectors import trust_list
from truyvet.certificates.issuing.services import certificate_issue_now, signing_keys_make
from truyvet.certificates.models import (
    IssuedCertificate,
    SigningKey,
    TrustList,
    TrustListKind,
)
from truyvet.certificates.services import trust_list_import
from truyvet.core.errors import ServiceError
from truyvet.places.models import AdministrativeUnit, Level
from truyvet.vaccination.models import CorrectionKind, Dose
from truyvet.vaccination.selectors import doses_under_correction
from truyvet.vaccination.services import (
    CorrectionInput,
    correction_confirm_by_papers,
    correction_file,
    correction_review,
)

ADMIN = "+84901000001"
PROVINCE_OFFICER = "+84901000002"
DISTRICT_OFFICER = "+84901000003"
HEALTH_WORKER = "+84901000006"
CITIZEN = "+84901000009"
TRUST_LIST_NAME = "Việt Nam — chứng chỉ ký của hệ thống (demo)"
CENTRE = "Trung tâm Y tế huyện Hạ Lang"


def demo_certificates(say: Callable[[str], None]) -> None:
    cao_bang = AdministrativeUnit.objects.filter(scheme="2021", level=Level.PROVINCE,
                                                 name="Tỉnh Cao Bằng").first()
    if cao_bang is None:
        return
    if not SigningKey.objects.filter(authority=cao_bang).exists():
        say("Making the demo CSCA and Cao Bằng's signing certificate (DSC)")
    signing_keys_make(provinces=[cao_bang])
    if not TrustList.objects.filter(name=TRUST_LIST_NAME).exists():
        dscs = [e for e in trust_list() if e["certificateType"] == "DSC"]
        trust_list_import(actor=User.objects.get(phone=ADMIN), name=TRUST_LIST_NAME,
                          kind=TrustListKind.DSC, data=json.dumps(dscs).encode())
    if IssuedCertificate.objects.exists():
        return
    say("Issuing vaccination certificates in Hạ Lang (one revoked after a correction)")
    officer = User.objects.get(phone=PROVINCE_OFFICER)
    people: list[Person] = []
    citizen = User.objects.filter(phone=CITIZEN).select_related("person").first()
    if citizen is not None:
        people.append(citizen.person)
    ha_lang = AdministrativeUnit.objects.filter(
        scheme="2021", name="Huyện Hạ Lang", parent=cao_bang).first()
    if ha_lang is None:
        return
    residents = (Person.objects.filter(commune__path__startswith=ha_lang.path,
                                       user__isnull=True, birth_date__isnull=False,
                                       doses__site__name=CENTRE)
                 .exclude(id_number=None).annotate(n=Count("doses"))
                 .order_by("-n", "pk")[:200])
    # One without a phone on file first: the district officer files the
    # correction for them and checks their papers, as in 2021.
    ordered = sorted(residents, key=lambda p: (p.phone != "", -p.n, p.pk))
    for resident in ordered:
        if len(people) >= 5:
            break
        if not doses_under_correction(person=resident):
            people.append(resident)
    issued = []
    for person in people:
        try:
            issued.append(certificate_issue_now(person=person, kind="v", actor=officer))
        except ServiceError:
            continue
    corrected = next((c for c in issued if c.person.phone == ""), None)
    if corrected is None:
        return
    dose = Dose.objects.get(pk=corrected.record_id)
    filer = User.objects.get(phone=DISTRICT_OFFICER)
    request = correction_file(actor=filer, person=corrected.person, data=CorrectionInput(
        kind=CorrectionKind.WRONG_DATE, dose=dose,
        given_on=dose.given_on - timedelta(days=1),
        note="Sổ tiêm ghi sai ngày một ngày."), files=[])
    correction_confirm_by_papers(actor=filer, correction=request)
    correction_review(actor=User.objects.get(phone=HEALTH_WORKER), correction=request,
                      decision="approve", reason="Đối chiếu sổ tiêm của trung tâm")
