from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate, post_save


def _schedule_jobs(sender: Any, using: str = "default", **kwargs: Any) -> None:
    from django.db import connections
    from django_q.models import Schedule

    from truyvet.vaccination.products import products_ensure
    from truyvet.vaccination.tasks import schedule_coverage_reports

    tables = connections[using].introspection.table_names()
    # The products are facts, not data an operator enters: after a flush
    # (tests) or a partial restore they come back.
    from truyvet.vaccination.models import Vaccine

    if Vaccine._meta.db_table in tables:
        products_ensure(using=using)

    # Not when django-q2's tables are absent (migrating backwards, say).
    if Schedule._meta.db_table in tables:
        schedule_coverage_reports(using=using)


def _person_saved(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    """A vaccinated person who moves commune (or whose birth date is fixed)
    moves in the coverage figures too: the rollups follow the record."""
    from truyvet.vaccination.models import PersonCoverage
    from truyvet.vaccination.rollups import coverage_refresh

    if raw or kwargs.get("created"):
        return
    if PersonCoverage.objects.filter(person_id=instance.pk).exists():
        coverage_refresh(person_ids=[instance.pk])


def _large_bodies() -> None:
    # Called from ready(); imported here like ready()'s imports (core is a lower layer).
    from django.conf import settings

    from truyvet.core.middleware import allow_large_body

    def a_list() -> int:
        return int(settings.VACCINATION_IMPORT_MAX_BYTES) + 256 * 1024

    def evidence() -> int:
        return (int(settings.VACCINATION_EVIDENCE_MAX_FILES)
                * int(settings.VACCINATION_EVIDENCE_MAX_BYTES) + 256 * 1024)

    for name in ("vaccination:import", "api:vaccination_import_start"):
        allow_large_body(name, a_list)
    for name in ("vaccination:correction_new", "vaccination:correction_detail",
                 "api:vaccination_correction_file", "api:vaccination_correction_reply"):
        allow_large_body(name, evidence)


def _synth_doses_arguments(parser: Any) -> None:
    parser.add_argument("--doses", type=int, default=0,
                        help="vaccination: dose records to add for the area's residents "
                        "without any (late-2021 histories; about 1.6 per resident)")


def _synth_doses(options: dict[str, Any], area: Any, stream: Any) -> list[str]:
    from truyvet.vaccination.synth import doses_synth

    if not options.get("doses"):
        return []
    made = doses_synth(area=area, doses=int(options["doses"]), seed=options.get("seed") or 2021,
                       stream=stream)
    return [f"Doses: {made.doses:,} new for {made.people:,} people in {made.seconds:.1f} s "
            "(coverage rollups rebuilt)"]


class VaccinationConfig(AppConfig):
    name = "truyvet.vaccination"
    label = "vaccination"
    verbose_name = "Tiêm chủng"

    def ready(self) -> None:
        # Imported here, not at the top: apps.py is loaded before the app
        # registry is ready, so models (and modules that import them) wait
        # for ready(); all of these are lower layers or this app.
        from truyvet.accounts.models import Person
        from truyvet.checkins.synth.generate import SynthExtra, synth_extra_register
        from truyvet.places.population import population_scope_register
        from truyvet.vaccination.permissions import population_scope_of

        # After every migrate or flush (idempotent): the products and the
        # daily coverage workbooks' schedule.
        post_migrate.connect(_schedule_jobs, sender=self, dispatch_uid="vaccination.schedule")
        post_save.connect(_person_saved, sender=Person, dispatch_uid="vaccination.person_saved")
        # Population figures (places) are loaded by officers; roles live above
        # places, so the rule is registered from here.
        population_scope_register(population_scope_of)
        _large_bodies()
        # `truyvet synth --doses N`: dose records at scale for the benchmarks.
        synth_extra_register(SynthExtra(add_arguments=_synth_doses_arguments, run=_synth_doses))
