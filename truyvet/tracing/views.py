"""HTML pages for tracing: the same selectors and services as ``api.py``.

The case page is the officials' workspace: window, timeline, trace, ranked
contacts, F2 expansion, alerts and exposure sites. Each of its actions is a
POST with an ``action`` field; a refused action re-renders the page with
the service's errors on the right form.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET

from truyvet.accounts.models import User
from truyvet.core.errors import NotFound, ServiceError
from truyvet.tracing import exports, permissions, selectors, services
from truyvet.tracing.forms import (
    AlertsConfirmForm,
    AlertsForm,
    CaseCreateForm,
    CaseFilterForm,
    CloseForm,
    ExpandForm,
    IsolationForm,
    PersonLookupForm,
    ReclassifyForm,
    TaskBulkForm,
    TaskFilterForm,
    TaskForm,
    WindowForm,
)
from truyvet.tracing.models import Case, Classification, ExposureSite, TaskStatus

PAGE_SIZE = 50


def _tracing_official(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User) or not permissions.can_use_tracing(user):
        raise PermissionDenied
    return user


def _case_or_404(viewer: User, case_id: int) -> Case:
    try:
        return selectors.case_for(viewer=viewer, case_id=case_id)
    except NotFound as exc:
        raise Http404(str(exc.message)) from exc


# --- Cases ---------------------------------------------------------------------------


def _status_list(
    request: HttpRequest, form_class: type[forms.Form], rows: Callable[[str], Any], template: str
) -> HttpResponse:
    """A list page filtered by status (an invalid filter shows everything) and paginated."""
    form = form_class(request.GET or None)
    status = form.cleaned_data["status"] if form.is_valid() else ""
    page = Paginator(rows(status), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, template, {"form": form, "page": page})


@login_required
def cases_view(request: HttpRequest) -> HttpResponse:
    viewer = _tracing_official(request)
    return _status_list(request, CaseFilterForm,
                        lambda status: selectors.cases_visible_to(viewer, status=status),
                        "tracing/cases.html")


@login_required
def case_create_view(request: HttpRequest) -> HttpResponse:
    """Find the person by exact phone or document number, then register."""
    viewer = _tracing_official(request)
    person = None
    people: list[Any] = []
    lookup = PersonLookupForm(request.GET if "q" in request.GET else None)
    if request.GET.get("person"):
        try:
            person = selectors.person_for_case(viewer=viewer, person_id=int(request.GET["person"]))
        except (ValueError, NotFound) as exc:
            raise Http404 from exc
    elif lookup.is_bound and lookup.is_valid():
        people = selectors.people_for_case(
            viewer=viewer, query=lookup.cleaned_data["q"], request=request
        )
    form = CaseCreateForm(request.POST or None)
    if request.method == "POST" and person is not None and form.is_valid():
        data = form.cleaned_data
        try:
            case = services.case_register(
                actor=viewer, person=person, request=request,
                data=services.CaseInput(
                    classification=data["classification"], test_date=data["test_date"],
                    test_type=data["test_type"], symptom_onset=data["symptom_onset"],
                    isolation_place=data["isolation_place"], isolated_at=data["isolated_at"],
                ),
            )
        except NotFound as exc:
            raise Http404 from exc
        except ServiceError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("Đã đăng ký ca bệnh #%(id)s.") % {"id": case.pk})
            return redirect("tracing:case", case_id=case.pk)
    return render(request, "tracing/case_create.html", {
        "lookup": lookup, "people": people, "person": person, "form": form,
        "searched": lookup.is_bound, "window_days": settings.TRACING_WINDOW_DAYS_BEFORE,
    })


def _case_forms(case: Case, contact_ids: list[int]) -> dict[str, Any]:
    local = timezone.localtime
    return {
        "window_form": WindowForm(initial={
            "start": local(case.window_start),
            "end": local(case.window_end) if case.window_end else None,
        }),
        "isolation_form": IsolationForm(initial={"isolation_place": case.isolation_place}),
        "reclassify_form": ReclassifyForm(),
        "close_form": CloseForm(),
        "alerts_form": AlertsForm(),
        "expand_form": ExpandForm(contact_ids=contact_ids,
                                  max_depth=settings.TRACING_EXPAND_MAX_DEPTH),
    }


def _run_action(
    request: HttpRequest, viewer: User, case: Case, forms: dict[str, Any]
) -> tuple[str, Any] | None:
    """Carries out the POSTed action. Returns the success message, or None
    when a form failed (its errors are on the form in ``forms``)."""
    action = request.POST.get("action", "")
    post = request.POST
    form: Any = None
    call: Callable[[], Any]
    if action == "trace":
        call = lambda: services.trace_run(actor=viewer, case=case, request=request)  # noqa: E731 - deferred past the form check
        done = _("Đã truy vết xong.")
    elif action == "window":
        form = forms["window_form"] = WindowForm(post)
        call = lambda: services.case_window_edit(  # noqa: E731 - deferred past the form check
            actor=viewer, case=case, start=form.cleaned_data["start"],
            end=form.cleaned_data["end"], reason=form.cleaned_data["reason"], request=request,
        )
        done = _("Đã cập nhật giai đoạn lây nhiễm.")
    elif action == "isolate":
        form = forms["isolation_form"] = IsolationForm(post)
        call = lambda: services.case_isolate(  # noqa: E731 - deferred past the form check
            actor=viewer, case=case, place=form.cleaned_data["isolation_place"],
            at=form.cleaned_data["isolated_at"], request=request,
        )
        done = _("Đã ghi nhận cách ly.")
    elif action == "reclassify":
        form = forms["reclassify_form"] = ReclassifyForm(post)
        call = lambda: services.case_reclassify(  # noqa: E731 - deferred past the form check
            actor=viewer, case=case, test_date=form.cleaned_data["test_date"],
            test_type=form.cleaned_data["test_type"], request=request,
        )
        done = _("Đã chuyển thành ca F0.")
    elif action == "close":
        form = forms["close_form"] = CloseForm(post)
        call = lambda: services.case_close(  # noqa: E731 - deferred past the form check
            actor=viewer, case=case, outcome=form.cleaned_data["outcome"], request=request,
        )
        done = _("Đã đóng ca bệnh.")
    elif action == "expand":
        form = forms["expand_form"] = ExpandForm(
            post, contact_ids=forms["contact_ids"], max_depth=settings.TRACING_EXPAND_MAX_DEPTH
        )
        call = lambda: services.trace_expand(  # noqa: E731 - deferred past the form check
            actor=viewer, case=case, contact_ids=form.cleaned_data["contact_ids"],
            depth=form.cleaned_data["depth"], request=request,
        )
        done = _("Đã mở rộng truy vết.")
    elif action == "alerts_send":
        form = forms["alerts_form"] = AlertsConfirmForm(post)
        call = lambda: services.exposure_notify(  # noqa: E731 - deferred past the form check
            actor=viewer, case=case, notify_contacts=form.cleaned_data["notify_contacts"],
            notify_venues=form.cleaned_data["notify_venues"],
            publish_sites=form.cleaned_data["publish_sites"], expected=form.plan(),
            request=request,
        )
        done = ""
    elif action == "withdraw":
        site = ExposureSite.objects.filter(case=case, pk=post.get("site") or 0).first()
        if site is None:
            raise Http404
        call = lambda: services.exposure_site_withdraw(  # noqa: E731 - deferred past the form check
            actor=viewer, site=site, request=request
        )
        done = _("Đã gỡ địa điểm khỏi danh sách công bố.")
    else:
        raise Http404
    if form is not None and not form.is_valid():
        return None
    try:
        result = call()
    except NotFound as exc:
        raise Http404(str(exc.message)) from exc
    except ServiceError as exc:
        if form is not None:
            form.add_service_error(exc)
        else:
            messages.error(request, str(exc.message))
            return "", None
        return None
    if action == "alerts_send":
        done = _(
            "Đã xếp %(messages)s tin vào hàng gửi: %(contacts)s người tiếp xúc, "
            "%(venues)s địa điểm, %(sites)s địa điểm công bố mới."
        ) % vars(result)
    return done, result


@login_required
def case_view(request: HttpRequest, case_id: int) -> HttpResponse:
    viewer = _tracing_official(request)
    case = _case_or_404(viewer, case_id)
    contact_ids = list(case.contacts.values_list("pk", flat=True))
    forms = _case_forms(case, contact_ids)
    forms["contact_ids"] = contact_ids
    alert_plan = None
    if request.method == "POST" and request.POST.get("action") == "alerts":
        # Before anything is sent, show who gets what and ask to confirm.
        alerts_form = forms["alerts_form"] = AlertsForm(request.POST)
        if alerts_form.is_valid():
            choices = dict(alerts_form.cleaned_data)
            try:
                alert_plan = services.exposure_notify_plan(actor=viewer, case=case, **choices)
            except ServiceError as exc:
                alerts_form.add_service_error(exc)
            else:
                forms["alerts_confirm"] = AlertsConfirmForm.for_plan(choices, alert_plan)
    elif request.method == "POST":
        outcome = _run_action(request, viewer, case, forms)
        if outcome is not None:
            message, _result = outcome
            if message:
                messages.success(request, message)
            return redirect("tracing:case", case_id=case.pk)
        case = _case_or_404(viewer, case_id)
        sent = forms["alerts_form"]
        if isinstance(sent, AlertsConfirmForm):
            # Not sent (the recipients changed since they were counted): the
            # reason, and the numbers as they are now, to confirm again.
            for error in sent.non_field_errors():
                messages.error(request, str(error))
            choices = {name: bool(sent.cleaned_data.get(name)) for name in
                       ("notify_contacts", "notify_venues", "publish_sites")}
            forms["alerts_form"] = AlertsForm(initial=choices)
            try:
                alert_plan = services.exposure_notify_plan(actor=viewer, case=case, **choices)
            except ServiceError as exc:
                messages.error(request, str(exc.message))
            else:
                forms["alerts_confirm"] = AlertsConfirmForm.for_plan(choices, alert_plan)
    timeline = selectors.case_timeline(viewer=viewer, case=case, request=request)
    contact_form = TaskFilterForm(
        request.GET if set(request.GET) - {"page"} else None, for_case=True,
        communes=selectors.case_contact_communes(viewer=viewer, case=case),
    )
    query = contact_form.query()
    total = selectors.case_contacts_count(viewer=viewer, case=case, query=query)
    page = Paginator(range(total), selectors.CONTACTS_PAGE).get_page(request.GET.get("page"))
    contacts = selectors.case_contacts_for(
        viewer=viewer, case=case, request=request, limit=selectors.CONTACTS_PAGE,
        offset=(page.number - 1) * selectors.CONTACTS_PAGE, query=query,
    )
    return render(request, "tracing/case.html", {
        "case": case,
        "timeline": timeline,
        "contacts": contacts,
        "contacts_page": page,
        "contacts_total": total,
        "contacts_all": len(contact_ids),
        "contact_form": contact_form,
        "contact_querystring": contact_form.querystring(),
        "f1_count": case.contacts.filter(degree=1).count(),
        "runs": list(case.trace_runs.all()[:5]),
        "edits": list(case.window_edits.select_related("edited_by__person")[:10]),
        "sites": list(case.exposure_sites.select_related("venue")),
        "is_suspected": case.classification == Classification.SUSPECTED,
        "buffer_minutes": settings.TRACING_BUFFER_MINUTES,
        "alert_plan": alert_plan,
        "delivery": selectors.alert_delivery_for(viewer=viewer, case=case),
        **forms,
    })


@login_required
@require_GET
def timeline_file_view(request: HttpRequest, case_id: int, file_format: str) -> HttpResponse:
    viewer = _tracing_official(request)
    return exports.timeline_download(
        viewer=viewer, case=_case_or_404(viewer, case_id), file_format=file_format,
        request=request,
    )


# --- Contact tasks -------------------------------------------------------------------


@login_required
def tasks_view(request: HttpRequest) -> HttpResponse:
    """The contacts to follow up: search by name or phone, filters, an
    order (the closest first), and one status for many at once."""
    viewer = _tracing_official(request)
    form = TaskFilterForm(request.GET or None, communes=selectors.contact_task_communes(viewer))
    query = form.query()
    tasks = selectors.contact_tasks_for(viewer, query=query)
    bulk = TaskBulkForm(request.POST or None)
    here = f"{reverse('tracing:tasks')}?{form.querystring()}"
    if request.method == "POST" and bulk.is_valid():
        data = bulk.cleaned_data
        chosen = tasks if data["matching"] else selectors.contact_tasks_chosen(data["task_ids"])
        try:
            changed = services.contact_tasks_update_many(
                actor=viewer, tasks=chosen, status=data["status"], request=request)
        except NotFound as exc:
            raise Http404(str(exc.message)) from exc
        except ServiceError as exc:
            bulk.add_service_error(exc)
        else:
            messages.success(request, ngettext(
                "Đã chuyển %(n)s người sang “%(status)s”.",
                "Đã chuyển %(n)s người sang “%(status)s”.", changed,
            ) % {"n": changed, "status": TaskStatus(data["status"]).label})
            return redirect(here)
    page = Paginator(tasks, PAGE_SIZE).get_page(request.GET.get("page"))
    selectors.contact_tasks_searched(viewer=viewer, tasks=list(page), query=query,
                                     request=request)
    return render(request, "tracing/tasks.html", {
        "form": form, "page": page, "bulk_form": bulk, "total": page.paginator.count,
        "querystring": form.querystring(), "here": here,
    })


@login_required
def task_view(request: HttpRequest, task_id: int) -> HttpResponse:
    viewer = _tracing_official(request)
    try:
        task = selectors.contact_task_for(viewer=viewer, task_id=task_id, request=request,
                                          audit=request.method != "POST")
    except NotFound as exc:
        raise Http404(str(exc.message)) from exc
    form = TaskForm(request.POST or None, initial={"status": task.status, "note": task.note})
    if request.method == "POST" and form.is_valid():
        try:
            services.contact_task_update(
                actor=viewer, task=task, status=form.cleaned_data["status"],
                note=form.cleaned_data["note"], request=request,
            )
        except ServiceError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("Đã lưu."))
            return redirect("tracing:tasks")
    return render(request, "tracing/task.html", {
        "task": task, "form": form, "visits": selectors.visits_for_display(task.contact.visits),
    })


# --- Public and citizens -------------------------------------------------------------


@require_GET
def exposure_sites_view(request: HttpRequest) -> HttpResponse:
    """Public: venues and times only, nothing about anyone. (Not cached
    publicly: the page carries the visitor's session bar and CSRF token; the
    JSON feed is the cacheable form.)"""
    return render(request, "tracing/exposure_sites.html", {
        "sites": list(selectors.exposure_sites_live()),
        "feed_url": reverse("api:exposure_sites"),
        "buffer_minutes": settings.TRACING_BUFFER_MINUTES,
    })


@login_required
def my_exposure_view(request: HttpRequest) -> HttpResponse:
    """"Was I exposed?": the citizen's own visits against the published sites."""
    return render(request, "tracing/my_exposure.html", {
        "matches": selectors.my_exposures(user=request.user),
        "hotline": settings.TRACING_HOTLINE,
    })
