"""Registering cases, their infectious window, isolation, reclassification
and closing."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from truyvet.core.errors import NotFound, ServiceError
from truyvet.core.models import AuditEvent
from truyvet.tracing import services
from truyvet.tracing.models import Case, CaseOutcome, CaseWindowEdit, Classification, Diagnostic


def local_midnight(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=timezone.get_default_timezone())


def register(personas: Any, person: Any = None, **fields: Any) -> Case:
    data: dict[str, Any] = {"classification": Classification.CONFIRMED,
                            "test_date": timezone.localdate(),
                            "test_type": Diagnostic.PCR} | fields
    return services.case_register(
        actor=personas.health_worker, person=person or personas.citizen.person,
        data=services.CaseInput(**data),
    )


@pytest.mark.django_db
class TestRegistering:
    def test_the_window_starts_two_days_before_symptom_onset_and_runs_until_now(
        self, personas: Any
    ) -> None:
        onset = timezone.localdate() - timedelta(days=3)
        case = register(personas, symptom_onset=onset)

        assert case.window_start == local_midnight(onset - timedelta(days=2))
        assert case.window_end is None
        assert case.unit == personas.units.thanh_nhat
        assert case.created_by == personas.health_worker
        event = AuditEvent.objects.get(target=f"case:{case.pk}")
        assert event.subject_person == personas.citizen.person
        assert event.detail["kind"] == "case.register"

    def test_without_symptoms_the_window_starts_two_days_before_the_positive_test(
        self, personas: Any
    ) -> None:
        tested = timezone.localdate() - timedelta(days=1)
        case = register(personas, test_date=tested)

        assert case.window_start == local_midnight(tested - timedelta(days=2))

    def test_a_test_before_the_symptoms_moves_the_start_earlier(self, personas: Any) -> None:
        tested = timezone.localdate() - timedelta(days=4)
        case = register(personas, test_date=tested, symptom_onset=tested + timedelta(days=2))

        assert case.window_start == local_midnight(tested - timedelta(days=2))

    def test_the_days_before_are_a_setting(self, personas: Any, settings: Any) -> None:
        settings.TRACING_WINDOW_DAYS_BEFORE = 4
        onset = timezone.localdate() - timedelta(days=1)
        case = register(personas, symptom_onset=onset)

        assert case.window_start == local_midnight(onset - timedelta(days=4))

    def test_isolation_ends_the_window(self, personas: Any) -> None:
        isolated = timezone.now() - timedelta(hours=5)
        case = register(personas, isolation_place="Khu cách ly Thanh Nhật", isolated_at=isolated)

        assert case.window_end == isolated

    def test_a_suspected_case_needs_no_test(self, personas: Any) -> None:
        case = register(personas, classification=Classification.SUSPECTED, test_date=None,
                        test_type="", symptom_onset=timezone.localdate())

        assert case.classification == Classification.SUSPECTED

    def test_every_problem_is_reported_at_once_and_nothing_is_saved(self, personas: Any) -> None:
        tomorrow = timezone.localdate() + timedelta(days=1)
        with pytest.raises(ServiceError) as caught:
            register(personas, test_date=None, test_type="swab", symptom_onset=tomorrow,
                     isolated_at=timezone.now() + timedelta(days=2))

        fields = {error.field for error in caught.value.errors}
        assert fields == {"test_date", "test_type", "symptom_onset", "isolated_at"}
        assert not Case.objects.exists()

    def test_a_case_needs_onset_or_a_test_date(self, personas: Any) -> None:
        with pytest.raises(ServiceError) as caught:
            register(personas, classification=Classification.SUSPECTED, test_date=None,
                     test_type="")

        assert [e.field for e in caught.value.errors] == ["symptom_onset"]

    def test_a_person_has_one_open_case_at_a_time(self, personas: Any) -> None:
        register(personas)
        with pytest.raises(ServiceError) as caught:
            register(personas)

        assert caught.value.errors[0].code == "duplicate"
        assert Case.objects.count() == 1

    def test_an_official_cannot_register_a_case_for_someone_outside_their_scope(
        self, personas: Any
    ) -> None:
        with pytest.raises(NotFound):
            services.case_register(
                actor=personas.neighbour_officer, person=personas.citizen.person,
                data=services.CaseInput(classification=Classification.SUSPECTED,
                                        symptom_onset=timezone.localdate()),
            )
        assert not Case.objects.exists()

    def test_a_system_admin_is_not_a_tracer(self, personas: Any) -> None:
        with pytest.raises(NotFound):
            services.case_register(
                actor=personas.admin, person=personas.citizen.person,
                data=services.CaseInput(classification=Classification.SUSPECTED,
                                        symptom_onset=timezone.localdate()),
            )


@pytest.mark.django_db
class TestChangingACase:
    def test_editing_the_window_needs_a_reason_and_is_kept_and_audited(
        self, personas: Any
    ) -> None:
        case = register(personas)
        old_start = case.window_start
        with pytest.raises(ServiceError) as caught:
            services.case_window_edit(actor=personas.district_officer, case=case,
                                      start=old_start, end=None, reason="  ")
        assert [e.field for e in caught.value.errors] == ["reason"]
        assert not CaseWindowEdit.objects.exists()

        new_start = old_start - timedelta(days=1)
        new_end = timezone.now() - timedelta(hours=1)
        services.case_window_edit(
            actor=personas.district_officer, case=case, start=new_start, end=new_end,
            reason="Người bệnh khai có triệu chứng sớm hơn",
        )

        case.refresh_from_db()
        assert (case.window_start, case.window_end, case.window_manual) == (
            new_start, new_end, True
        )
        edit = CaseWindowEdit.objects.get(case=case)
        assert (edit.old_start, edit.old_end) == (old_start, None)
        assert edit.edited_by == personas.district_officer
        event = AuditEvent.objects.filter(detail__kind="case.window_edit").get()
        assert event.purpose == "Người bệnh khai có triệu chứng sớm hơn"
        assert event.actor == personas.district_officer

    def test_a_window_cannot_end_before_it_starts(self, personas: Any) -> None:
        case = register(personas)
        with pytest.raises(ServiceError) as caught:
            services.case_window_edit(
                actor=personas.health_worker, case=case, start=case.window_start,
                end=case.window_start - timedelta(minutes=1), reason="Sửa nhầm giờ",
            )
        assert caught.value.errors[0].code == "order"

    def test_isolation_recorded_later_ends_the_window_unless_it_was_set_by_hand(
        self, personas: Any
    ) -> None:
        case = register(personas)
        isolated = timezone.now() - timedelta(hours=2)
        services.case_isolate(actor=personas.health_worker, case=case,
                              place="Tại nhà", at=isolated)
        case.refresh_from_db()
        assert case.window_end == isolated

        services.case_window_edit(actor=personas.health_worker, case=case,
                                  start=case.window_start, end=None, reason="Chưa cách ly thật")
        services.case_isolate(actor=personas.health_worker, case=case, place="Bệnh viện",
                              at=timezone.now())
        case.refresh_from_db()
        assert case.window_end is None
        assert case.isolation_place == "Bệnh viện"

    def test_a_suspected_case_becomes_f0_and_its_window_follows_the_test(
        self, personas: Any
    ) -> None:
        onset = timezone.localdate() - timedelta(days=1)
        case = register(personas, classification=Classification.SUSPECTED, test_date=None,
                        test_type="", symptom_onset=onset)
        tested = onset - timedelta(days=2)
        services.case_reclassify(actor=personas.health_worker, case=case, test_date=tested,
                                 test_type=Diagnostic.RAPID)

        case.refresh_from_db()
        assert case.classification == Classification.CONFIRMED
        assert case.window_start == local_midnight(tested - timedelta(days=2))
        with pytest.raises(ServiceError) as caught:
            services.case_reclassify(actor=personas.health_worker, case=case,
                                     test_date=tested, test_type=Diagnostic.PCR)
        assert caught.value.code == "not_suspected"

    def test_a_closed_case_refuses_changes(self, personas: Any) -> None:
        case = register(personas)
        with pytest.raises(ServiceError) as caught:
            services.case_close(actor=personas.health_worker, case=case, outcome="gone")
        assert caught.value.errors[0].field == "outcome"

        services.case_close(actor=personas.health_worker, case=case,
                            outcome=CaseOutcome.RECOVERED)
        case.refresh_from_db()
        assert case.status == "closed" and case.closed_at is not None
        with pytest.raises(ServiceError) as again:
            services.case_isolate(actor=personas.health_worker, case=case, place="Nhà",
                                  at=timezone.now())
        assert again.value.code == "case_closed"
        # Closed, the person may get a new case later.
        assert register(personas).pk != case.pk
