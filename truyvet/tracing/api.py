"""JSON endpoints for tracing, mounted under /api/v1/tracing/.

Each endpoint parses, finds the case through a scoped selector (a case out
of scope is a 404, like one that does not exist), calls the same service or
selector as the pages and serialises. Officials without a tracing role get
403 on the lists; everyone gets 401 without a login, except on the public
exposure-site feed.
"""

from __future__ import annotations

from typing import Any, cast

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.cache import cache_control
from ninja import Router, Status
from ninja.decorators import decorate_view

from truyvet.accounts.models import User
from truyvet.core.api_auth import logged_in
from truyvet.core.pagination import page_window
from truyvet.tracing import exports, selectors, services
from truyvet.tracing.models import Case, ContactTask
from truyvet.tracing.schemas import (
    AlertPlanRead,
    AlertsIn,
    AlertsRead,
    CaseCreate,
    CaseRead,
    CloseIn,
    ContactRead,
    ExpandIn,
    ExposureFeed,
    IsolationIn,
    MyExposureRead,
    ReclassifyIn,
    TaskBulkIn,
    TaskBulkRead,
    TaskListRead,
    TaskRead,
    TaskUpdate,
    TimelineRead,
    TraceRunRead,
    WindowUpdate,
)

router = Router(tags=["tracing"])

MAX_PAGE = 200


def _caller(request: HttpRequest) -> User:
    """The account the endpoint's ``auth`` (``logged_in``) accepted."""
    return cast(User, request.auth)  # type: ignore[attr-defined]


def _case(request: HttpRequest, case_id: int) -> Case:
    return selectors.case_for(viewer=_caller(request), case_id=case_id)


# --- Cases --------------------------------------------------------------------------


@router.get("/cases", response=list[CaseRead], auth=logged_in, summary="Cases in your scope")
def cases_list(
    request: HttpRequest, status: str = "", limit: int = 50, offset: int = 0
) -> list[Case]:
    """Health workers and officers; newest first, names masked."""
    limit, offset = page_window(limit=limit, offset=offset, max_limit=MAX_PAGE)
    return list(selectors.cases_visible_to(_caller(request), status=status)[offset:offset + limit])


@router.post("/cases", response={201: CaseRead}, auth=logged_in, summary="Register a case")
def case_create(request: HttpRequest, payload: CaseCreate) -> Status[Case]:
    """The window is computed: from TRACING_WINDOW_DAYS_BEFORE days before
    symptom onset (or the positive test) until isolation."""
    viewer = _caller(request)
    person = selectors.person_for_case(viewer=viewer, person_id=payload.person_id)
    case = services.case_register(
        actor=viewer, person=person, request=request,
        data=services.CaseInput(
            classification=payload.classification, test_date=payload.test_date,
            test_type=payload.test_type, symptom_onset=payload.symptom_onset,
            isolation_place=payload.isolation_place, isolated_at=payload.isolated_at,
        ),
    )
    return Status(201, selectors.case_for(viewer=viewer, case_id=case.pk))


@router.get("/cases/{case_id}", response=CaseRead, auth=logged_in, summary="One case")
def case_detail(request: HttpRequest, case_id: int) -> Case:
    return _case(request, case_id)


@router.post("/cases/{case_id}/window", response=CaseRead, auth=logged_in,
             summary="Edit the infectious window (with a reason; audited)")
def case_window(request: HttpRequest, case_id: int, payload: WindowUpdate) -> Case:
    return services.case_window_edit(
        actor=_caller(request), case=_case(request, case_id), start=payload.start,
        end=payload.end, reason=payload.reason, request=request,
    )


@router.post("/cases/{case_id}/isolation", response=CaseRead, auth=logged_in,
             summary="Record isolation (ends the window)")
def case_isolation(request: HttpRequest, case_id: int, payload: IsolationIn) -> Case:
    return services.case_isolate(
        actor=_caller(request), case=_case(request, case_id), place=payload.isolation_place,
        at=payload.isolated_at, request=request,
    )


@router.post("/cases/{case_id}/reclassify", response=CaseRead, auth=logged_in,
             summary="Suspected → confirmed F0 on a positive test")
def case_reclassify(request: HttpRequest, case_id: int, payload: ReclassifyIn) -> Case:
    return services.case_reclassify(
        actor=_caller(request), case=_case(request, case_id), test_date=payload.test_date,
        test_type=payload.test_type, request=request,
    )


@router.post("/cases/{case_id}/close", response=CaseRead, auth=logged_in, summary="Close a case")
def case_close(request: HttpRequest, case_id: int, payload: CloseIn) -> Case:
    return services.case_close(
        actor=_caller(request), case=_case(request, case_id), outcome=payload.outcome,
        request=request,
    )


# --- Timeline --------------------------------------------------------------------------


@router.get("/cases/{case_id}/timeline", response=list[TimelineRead], auth=logged_in,
            summary="Venues the case visited in the window (audited)")
def case_timeline(request: HttpRequest, case_id: int) -> list[selectors.TimelineEntry]:
    return selectors.case_timeline(
        viewer=_caller(request), case=_case(request, case_id), request=request
    )


@router.get("/cases/{case_id}/timeline.{file_format}", auth=logged_in,
            summary="The timeline as a PDF or XLSX file (audited as an export)")
def case_timeline_file(request: HttpRequest, case_id: int, file_format: str) -> HttpResponse:
    """`file_format` is `pdf` or `xlsx`."""
    return exports.timeline_download(
        viewer=_caller(request), case=_case(request, case_id), file_format=file_format,
        request=request,
    )


# --- Tracing ---------------------------------------------------------------------------


@router.post("/cases/{case_id}/trace", response=TraceRunRead, auth=logged_in,
             summary="Run the F1 exposure search (audited)")
def case_trace(request: HttpRequest, case_id: int) -> Any:
    return services.trace_run(actor=_caller(request), case=_case(request, case_id),
                              request=request)


@router.post("/cases/{case_id}/expand", response=TraceRunRead, auth=logged_in,
             summary="Expand to F2 (or deeper) from chosen contacts (audited)")
def case_expand(request: HttpRequest, case_id: int, payload: ExpandIn) -> Any:
    return services.trace_expand(
        actor=_caller(request), case=_case(request, case_id), contact_ids=payload.contact_ids,
        depth=payload.depth, request=request,
    )


@router.get("/cases/{case_id}/contacts", response=list[ContactRead], auth=logged_in,
            summary="Contacts, ranked by overlap; masked outside your scope")
def case_contacts(
    request: HttpRequest, case_id: int, q: str = "", commune: int | None = None,
    status: str = "", degree: int | None = None, closeness: str = "", sort: str = "closest",
    limit: int = selectors.CONTACTS_PAGE, offset: int = 0,
) -> list[selectors.ContactRow]:
    """A page of at most 1000 (`limit`, `offset`); each unmasked contact
    returned is audited. The same search, filters and orders as the task
    list (`q` matches only contacts you may see unmasked)."""
    query = selectors.ContactQuery(q=q[:120], commune=commune, status=status, degree=degree,
                                   closeness=closeness, sort=sort)
    return selectors.case_contacts_for(
        viewer=_caller(request), case=_case(request, case_id), request=request,
        limit=limit, offset=offset, query=query,
    )


@router.get("/cases/{case_id}/alerts/plan", response=AlertPlanRead, auth=logged_in,
            summary="Who an alert would reach, to confirm before sending")
def case_alerts_plan(
    request: HttpRequest, case_id: int, notify_contacts: bool = True,
    notify_venues: bool = True, publish_sites: bool = False,
) -> Any:
    return services.exposure_notify_plan(
        actor=_caller(request), case=_case(request, case_id), notify_contacts=notify_contacts,
        notify_venues=notify_venues, publish_sites=publish_sites,
    )


@router.post("/cases/{case_id}/alerts", response=AlertsRead, auth=logged_in,
             summary="Alert F1 contacts and venue owners; optionally publish the sites")
def case_alerts(request: HttpRequest, case_id: int, payload: AlertsIn) -> Any:
    """Each message is queued once (repeating the call queues nothing new)
    and delivered by the worker."""
    return services.exposure_notify(
        actor=_caller(request), case=_case(request, case_id),
        notify_contacts=payload.notify_contacts, notify_venues=payload.notify_venues,
        publish_sites=payload.publish_sites, request=request,
        expected=services.AlertPlan(**payload.expected.dict()) if payload.expected else None,
    )


# --- Contact tasks -----------------------------------------------------------------------


@router.get("/tasks", response=list[TaskListRead], auth=logged_in,
            summary="Contacts living in your scope, to follow up")
def tasks_list(
    request: HttpRequest, status: str = "", q: str = "", commune: int | None = None,
    case: int | None = None, degree: int | None = None, closeness: str = "",
    sort: str = "closest", limit: int = 50, offset: int = 0,
) -> list[ContactTask]:
    """Searched by name or phone (`q`, audited), filtered by commune, case,
    degree, status and closeness (`shared`, `apart`), ordered by `sort`
    (`closest`, the default, `minutes`, `gap`, `first`, `recent`, `status`)."""
    limit, offset = page_window(limit=limit, offset=offset, max_limit=MAX_PAGE)
    viewer = _caller(request)
    query = selectors.ContactQuery(q=q[:120], commune=commune, status=status, case=case,
                                   degree=degree, closeness=closeness, sort=sort)
    tasks = list(selectors.contact_tasks_for(viewer, query=query)[offset:offset + limit])
    selectors.contact_tasks_searched(viewer=viewer, tasks=tasks, query=query, request=request)
    return tasks


@router.post("/tasks/bulk", response=TaskBulkRead, auth=logged_in,
             summary="Record one follow-up status for several tasks")
def tasks_bulk_update(request: HttpRequest, payload: TaskBulkIn) -> dict[str, int]:
    changed = services.contact_tasks_update_many(
        actor=_caller(request), tasks=selectors.contact_tasks_chosen(payload.task_ids),
        status=payload.status, request=request,
    )
    return {"changed": changed}


@router.get("/tasks/{task_id}", response=TaskRead, auth=logged_in,
            summary="One task with the contact's identity (audited)")
def task_detail(request: HttpRequest, task_id: int) -> ContactTask:
    return selectors.contact_task_for(viewer=_caller(request), task_id=task_id, request=request)


@router.post("/tasks/{task_id}", response=TaskRead, auth=logged_in,
             summary="Record the follow-up of a contact")
def task_update(request: HttpRequest, task_id: int, payload: TaskUpdate) -> ContactTask:
    viewer = _caller(request)
    task = selectors.contact_task_for(viewer=viewer, task_id=task_id, audit=False)
    return services.contact_task_update(
        actor=viewer, task=task, status=payload.status, note=payload.note, request=request
    )


# --- Public and citizens ----------------------------------------------------------------


@router.get("/exposure-sites", response=ExposureFeed, auth=None, url_name="exposure_sites",
            summary="Public exposure sites (no personal data), for phones to match locally")
@decorate_view(cache_control(max_age=300, public=True))
def exposure_sites(request: HttpRequest) -> Any:
    """Every live site: a venue and a window that already includes the
    buffer. A visit matches a site when it was at the same venue
    (`venue_code`) and its time overlaps [starts_at, ends_at]. Cached for
    five minutes."""
    from django.conf import settings

    return {
        "generated_at": timezone.now(),
        "buffer_minutes": settings.TRACING_BUFFER_MINUTES,
        "sites": list(selectors.exposure_sites_live()),
    }


@router.get("/me/exposures", response=list[MyExposureRead], auth=logged_in,
            summary="Your own visits that match a published exposure site")
def my_exposures(request: HttpRequest) -> list[selectors.ExposureMatch]:
    return selectors.my_exposures(user=_caller(request))
