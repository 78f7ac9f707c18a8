"""HTML pages for signing up and in, one's own data, and the officials'
pages for people, roles and the audit log. Each page calls the same
services and selectors as ``api.py`` and shows their errors on its form."""

from __future__ import annotations

import time
from datetime import date
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.hashers import check_password, make_password
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from truyvet.accounts import permissions, selectors, services
from truyvet.accounts.forms import (
    PURPOSE_SUGGESTIONS,
    AuditFilterForm,
    ClaimCodeForm,
    ClaimConfirmForm,
    ClaimRejectForm,
    ClaimUnitForm,
    LoginForm,
    PasswordResetForm,
    PasswordResetRequestForm,
    PeopleSearchForm,
    PersonCreateForm,
    PurposeForm,
    RegisterForm,
    RegisterVerifyForm,
    RoleGrantForm,
)
from truyvet.accounts.models import AuthenticatedHttpRequest, OtpPurpose, Role, User
from truyvet.core.errors import NotAllowed, NotFound, ServiceError
from truyvet.core.masking import mask_phone
from truyvet.core.selectors import audit_events_about
from truyvet.core.time import day_start
from truyvet.places.models import Level
from truyvet.places.selectors import units_search

PENDING_KEY = "accounts.pending_registration"
RESET_KEY = "accounts.reset_phone"
# A half-finished registration is forgotten after this long.
PENDING_MAX_AGE = 30 * 60
PEOPLE_PAGE_LIMIT = 50
AUDIT_PAGE_SIZE = 50


def _render(
    request: HttpRequest, template: str, context: dict[str, Any],
    error: ServiceError | None = None,
) -> HttpResponse:
    """Renders a page; a rate limit keeps its 429 and Retry-After so that
    scripts hammering the form are told to back off."""
    status = 429 if error is not None and error.status == 429 else 200
    response = render(request, template, context, status=status)
    if status == 429 and error is not None and error.retry_after is not None:
        response["Retry-After"] = str(error.retry_after)
    return response


def _is_partial(request: HttpRequest) -> bool:
    htmx: Any = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request


def _next_url(request: HttpRequest) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return resolve_url(settings.LOGIN_REDIRECT_URL)


# --- Logging in and out -------------------------------------------------------------


def login_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect(_next_url(request))
    form = LoginForm(request.POST or None)
    error: ServiceError | None = None
    if request.method == "POST" and form.is_valid():
        try:
            user = services.account_login(
                phone=form.cleaned_data["phone"], password=form.cleaned_data["password"],
                request=request,
            )
        except ServiceError as exc:
            error = exc
            form.add_service_error(exc)
        else:
            login(request, user)
            return redirect(_next_url(request))
    return _render(
        request, "accounts/login.html",
        {"form": form, "next": request.POST.get("next") or request.GET.get("next", "")},
        error,
    )


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect(settings.LOGOUT_REDIRECT_URL)


# --- Registration -----------------------------------------------------------------
#
# Step 1 takes the personal data and a password, validates them all with
# account_register_check and sends the SMS code. Step 2 takes the code and
# the password typed once more, and only then creates the account.
#
# The plain password is never stored between the steps, not even in the
# server-side session: step 1 keeps only a salted hash of it (the configured
# hasher, argon2), used solely to check that the password retyped in step 2
# is the same one. account_register then receives the plain password from
# the step-2 request itself and validates everything again, so nothing
# checked in step 1 is trusted blindly.


def _pending_registration(request: HttpRequest) -> dict[str, Any] | None:
    pending = request.session.get(PENDING_KEY)
    if not isinstance(pending, dict):
        return None
    if time.time() - float(pending.get("started", 0)) > PENDING_MAX_AGE:
        del request.session[PENDING_KEY]
        return None
    return pending


def _pending_person(pending: dict[str, Any]) -> services.PersonInput:
    birth_date = pending.get("birth_date")
    return services.PersonInput(
        full_name=pending["full_name"],
        birth_date=date.fromisoformat(birth_date) if birth_date else None,
        birth_year=pending.get("birth_year"),
        sex=pending.get("sex", ""),
        id_kind=pending.get("id_kind", ""),
        id_number=pending.get("id_number", ""),
        commune=selectors.unit_for_input(pending.get("commune_id")),
        street=pending.get("street", ""),
    )


def register_view(request: HttpRequest) -> HttpResponse:
    """Step 1: personal data and password; sends the SMS code."""
    if request.user.is_authenticated:
        return redirect("accounts:profile")
    form = RegisterForm(request.POST or None)
    error: ServiceError | None = None
    if request.method == "POST" and form.is_valid():
        person = form.person_input()
        password = form.cleaned_data["password"]
        try:
            phone = services.account_register_check(
                phone=form.cleaned_data["phone"], password=password, person=person,
                request=request,
            )
            _send_register_code(request, phone)
        except ServiceError as exc:
            error = exc
            form.add_service_error(exc)
        else:
            request.session[PENDING_KEY] = {
                "phone": phone,
                "full_name": person.full_name,
                "birth_date": person.birth_date.isoformat() if person.birth_date else None,
                "birth_year": person.birth_year,
                "sex": person.sex,
                "id_kind": person.id_kind,
                "id_number": person.id_number,
                "commune_id": person.commune.pk if person.commune else None,
                "street": person.street,
                "password_check": make_password(password),
                "started": time.time(),
            }
            return redirect("accounts:register_verify")
    return _render(request, "accounts/register.html", {"form": form}, error)


def _send_register_code(request: HttpRequest, phone: str) -> None:
    """Sends the code, unless one went to the same number moments ago for a
    registration still in this session (the user went back to fix a typo):
    that code is still the valid one, so the throttle is no obstacle."""
    try:
        services.otp_request(phone=phone, purpose=OtpPurpose.REGISTER, request=request)
    except ServiceError as exc:
        pending = _pending_registration(request)
        if exc.status != 429 or pending is None or pending.get("phone") != phone:
            raise
        messages.info(request, _("Mã OTP đã gửi trước đó vẫn dùng được."))


def register_verify_view(request: HttpRequest) -> HttpResponse:
    """Step 2: the SMS code and the password again; creates the account."""
    pending = _pending_registration(request)
    if pending is None:
        messages.info(request, _("Hãy nhập thông tin đăng ký trước."))
        return redirect("accounts:register")
    if request.method == "POST" and "resend" in request.POST:
        try:
            services.otp_request(
                phone=pending["phone"], purpose=OtpPurpose.REGISTER, request=request
            )
        except ServiceError as exc:
            messages.error(request, str(exc.message))
        else:
            messages.success(request, _("Đã gửi lại mã OTP."))
        return redirect("accounts:register_verify")

    form = RegisterVerifyForm(request.POST or None)
    error: ServiceError | None = None
    if request.method == "POST" and form.is_valid():
        password = form.cleaned_data["password"]
        if not check_password(password, pending["password_check"]):
            form.add_error(
                "password", _("Mật khẩu nhập lại không khớp với mật khẩu ở bước 1.")
            )
        else:
            try:
                user = services.account_register(
                    phone=pending["phone"], code=form.cleaned_data["code"], password=password,
                    person=_pending_person(pending), request=request,
                )
            except ServiceError as exc:
                error = exc
                form.add_service_error(exc)
            else:
                del request.session[PENDING_KEY]
                login(request, user, backend=settings.AUTHENTICATION_BACKENDS[0])
                messages.success(request, _("Đăng ký thành công. Chào mừng bạn!"))
                return redirect("accounts:profile")
    return _render(
        request, "accounts/register_verify.html",
        {"form": form, "masked_phone": mask_phone(pending["phone"])}, error,
    )


# --- Password reset -----------------------------------------------------------------


def password_reset_view(request: HttpRequest) -> HttpResponse:
    """Ask for a code by phone, then set a new password with it. The page
    answers the same whether or not the number has an account."""
    if "again" in request.GET:
        request.session.pop(RESET_KEY, None)
        return redirect("accounts:password_reset")
    phone = request.session.get(RESET_KEY)
    action = request.POST.get("action", "") if request.method == "POST" else ""
    error: ServiceError | None = None
    request_form = PasswordResetRequestForm(request.POST if action == "send" else None)
    reset_form = PasswordResetForm(request.POST if action == "reset" and phone else None)

    if action == "send" and request_form.is_valid():
        try:
            otp = services.otp_request(
                phone=request_form.cleaned_data["phone"], purpose=OtpPurpose.RESET_PASSWORD,
                request=request,
            )
        except ServiceError as exc:
            error = exc
            request_form.add_service_error(exc)
        else:
            request.session[RESET_KEY] = otp.phone
            return redirect("accounts:password_reset")
    elif action == "resend" and phone:
        try:
            services.otp_request(phone=phone, purpose=OtpPurpose.RESET_PASSWORD, request=request)
        except ServiceError as exc:
            messages.error(request, str(exc.message))
        else:
            messages.success(request, _("Đã gửi lại mã OTP."))
        return redirect("accounts:password_reset")
    elif action == "reset" and phone and reset_form.is_valid():
        try:
            services.password_reset(
                phone=phone, code=reset_form.cleaned_data["code"],
                new_password=reset_form.cleaned_data["new_password"],
            )
        except ServiceError as exc:
            error = exc
            reset_form.add_service_error(exc)
        else:
            request.session.pop(RESET_KEY, None)
            messages.success(request, _("Đã đổi mật khẩu. Hãy đăng nhập bằng mật khẩu mới."))
            return redirect("accounts:login")
    return _render(
        request, "accounts/password_reset.html",
        {
            "request_form": request_form,
            "reset_form": reset_form,
            "phone": phone,
            "masked_phone": mask_phone(phone or ""),
        },
        error,
    )


# --- One's own data --------------------------------------------------------------


@login_required
def profile_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The user's own record in full, their roles, and which officials have
    looked at their data and why."""
    user = request.user
    return render(
        request,
        "accounts/profile.html",
        {
            "person": selectors.me_for(user),
            "roles": list(selectors.roles_of(user)),
            "viewed_by": list(audit_events_about(user.person_id)[:50]),
            "claim": selectors.identity_claim_of(user),
        },
    )


@login_required
def devices_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Where the person is signed in (browsers and apps), with a button to
    end each, and one to end all but this browser."""
    user = request.user
    current_key = request.session.session_key
    if request.method == "POST":
        action = request.POST.get("action", "")
        target = request.POST.get("id", "")
        try:
            if action == "session" and target.isdigit():
                services.session_revoke(user=user, session_id=int(target))
                messages.success(request, _("Đã đăng xuất thiết bị đó."))
            elif action == "token" and target.isdigit():
                services.token_revoke_for(user=user, token_id=int(target))
                messages.success(request, _("Đã đăng xuất ứng dụng đó."))
            elif action == "others":
                ended = services.sign_out_everywhere(user=user, keep_session_key=current_key)
                messages.success(request, _("Đã đăng xuất %(count)s thiết bị khác.")
                                 % {"count": ended})
            else:
                raise Http404
        except NotFound as exc:
            raise Http404(str(exc.message)) from exc
        return redirect("accounts:devices")
    return render(request, "accounts/devices.html", {
        "sessions": list(selectors.sessions_of(user)),
        "tokens": list(selectors.tokens_of(user)),
        "current_key": current_key,
    })


@login_required
def my_claim_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The person's claim on a record made before they registered: enter the
    code sent to the record's phone, ask for it again, or choose the commune
    office where they will show their card."""
    user = request.user
    claim = selectors.identity_claim_of(user)
    if claim is None:
        return redirect("accounts:profile")
    action = request.POST.get("action", "") if request.method == "POST" else ""
    code_form = ClaimCodeForm(request.POST if action == "code" else None)
    unit_form = ClaimUnitForm(request.POST if action == "unit" else None)
    error: ServiceError | None = None
    if action == "code" and code_form.is_valid():
        try:
            services.identity_claim_confirm_code(
                user=user, code=code_form.cleaned_data["code"], request=request
            )
        except ServiceError as exc:
            error = exc
            code_form.add_service_error(exc)
        else:
            messages.success(request, _("Đã nhận hồ sơ. Lịch sử ra vào trên hồ sơ cũ nay là "
                                        "của bạn."))
            return redirect("accounts:profile")
    elif action == "resend":
        try:
            services.identity_claim_resend(user=user)
        except ServiceError as exc:
            messages.error(request, str(exc.message))
        else:
            messages.success(request, _("Nếu hồ sơ cũ có số điện thoại, mã mới đã được gửi tới "
                                        "số đó."))
        return redirect("accounts:my_claim")
    elif action == "unit" and unit_form.is_valid():
        try:
            services.identity_claim_choose_unit(
                user=user, commune=unit_form.cleaned_data["commune"]
            )
        except ServiceError as exc:
            unit_form.add_service_error(exc)
        else:
            messages.success(request, _("Đã ghi nhận nơi bạn sẽ đến xác nhận."))
            return redirect("accounts:my_claim")
    return _render(request, "accounts/my_claim.html", {
        "claim": claim, "code_form": code_form, "unit_form": unit_form,
        "can_choose_unit": claim.status == "pending" and claim.record.commune_id is None,
    }, error)


# --- Officials: claims on existing records ------------------------------------------------


@login_required
def claims_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Pending claims the officer may decide, masked, oldest first."""
    viewer = request.user
    if not permissions.can_list_identity_claims(viewer):
        raise PermissionDenied
    claims = list(selectors.identity_claims_for(viewer)[:200])
    return render(request, "accounts/claims.html", {"claims": claims})


@login_required
def claim_detail_view(request: AuthenticatedHttpRequest, claim_id: int) -> HttpResponse:
    """One claim: what the claimant typed beside the record (each showing is
    audited against the record), and the forms to confirm it with the card
    in hand or to refuse it."""
    viewer = request.user
    try:
        claim = selectors.identity_claim_visible_to(viewer=viewer, claim_id=claim_id)
    except NotFound as exc:
        raise Http404(str(exc.message)) from exc
    action = request.POST.get("action", "") if request.method == "POST" else ""
    confirm_form = ClaimConfirmForm(request.POST if action == "confirm" else None)
    reject_form = ClaimRejectForm(request.POST if action == "reject" else None)
    form = confirm_form if action == "confirm" else reject_form
    if action in ("confirm", "reject") and form.is_valid():
        try:
            services.identity_claim_decide(
                actor=viewer, claim=claim, confirm=action == "confirm",
                id_number_seen=form.cleaned_data.get("id_number", ""),
                note=form.cleaned_data.get("note", ""), request=request,
            )
        except NotAllowed as exc:
            raise PermissionDenied(str(exc.message)) from exc
        except ServiceError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("Đã xác nhận: hồ sơ nay thuộc tài khoản của người yêu "
                                        "cầu.") if action == "confirm"
                             else _("Đã từ chối yêu cầu."))
            return redirect("accounts:claims")
    if claim.status == "pending":
        claim = selectors.identity_claim_detail_for(
            viewer=viewer, claim_id=claim_id, request=request
        )
    return render(request, "accounts/claim_detail.html", {
        "claim": claim, "record": claim.record, "confirm_form": confirm_form,
        "reject_form": reject_form,
        "record_has_account": hasattr(claim.record, "user"),
    })


# --- Officials: people --------------------------------------------------------------


@login_required
def people_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Live search (htmx) of people in the official's scope, masked; each
    search is audited."""
    viewer = request.user
    if not permissions.can_search_people(viewer):
        raise PermissionDenied
    form = PeopleSearchForm(request.GET or None)
    query = form.cleaned_data["q"] if form.is_valid() else ""
    people = (
        selectors.people_search(
            viewer=viewer, query=query, limit=PEOPLE_PAGE_LIMIT, request=request
        )
        if query
        else []
    )
    context = {
        "form": form,
        "query": query,
        "people": people,
        "can_register": permissions.can_register_people(viewer),
    }
    template = "accounts/_people_results.html" if _is_partial(request) else "accounts/people.html"
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request",))
    return response


@login_required
def person_detail_view(request: AuthenticatedHttpRequest, person_id: int) -> HttpResponse:
    """Asks for a purpose, then shows the full record and audits the read.
    404, with the same page, for people out of scope and unknown ids."""
    viewer = request.user
    try:
        person = selectors.person_visible_to(viewer=viewer, person_id=person_id)
    except NotFound as exc:
        raise Http404(str(exc.message)) from exc
    if person.pk == viewer.person_id:
        return redirect("accounts:profile")
    form = PurposeForm(request.POST or None)
    detail = None
    # The data is shown only in answer to a POST: a read is audited, and a
    # GET could be triggered by a link preview or a prefetching browser.
    if request.method == "POST" and form.is_valid():
        try:
            detail = selectors.person_detail_for(
                viewer=viewer, person_id=person_id, purpose=form.cleaned_data["purpose"],
                request=request,
            )
        except NotFound as exc:
            raise Http404(str(exc.message)) from exc
        except ServiceError as exc:
            form.add_service_error(exc)
    return render(
        request,
        "accounts/person_detail.html",
        {
            "person": person,
            "detail": detail,
            "form": form,
            "purpose_suggestions": PURPOSE_SUGGESTIONS,
        },
    )


@login_required
def person_create_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Officials record someone without a login, living in their scope."""
    actor = request.user
    if not permissions.can_register_people(actor):
        raise PermissionDenied
    form = PersonCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            person = services.person_create(
                data=form.person_input(phone=form.cleaned_data.get("phone") or ""),
                actor=actor, request=request,
            )
        except ServiceError as exc:
            form.add_service_error(exc)
        else:
            messages.success(
                request, _("Đã tạo hồ sơ cho %(name)s.") % {"name": person.full_name}
            )
            return redirect("accounts:people")
    return render(request, "accounts/person_create.html", {"form": form})


def language_choose_view(request: HttpRequest) -> HttpResponse:
    """Django's language switch, which also keeps a signed-in person's
    choice: the messages sent to them (alerts, reminders) use it."""
    from django.views.i18n import set_language

    response = set_language(request)
    language = request.POST.get("language", "")
    user = request.user
    if request.method == "POST" and isinstance(user, User) and language:
        services.person_language_set(person=user.person, language=language)
    return response


@require_GET
def commune_options_view(request: HttpRequest) -> HttpResponse:
    """The <option>s of the commune picker for what the user has typed."""
    query = (request.GET.get("commune_q") or request.GET.get("q") or "")[:100]
    units = list(units_search(query=query, level=Level.COMMUNE, limit=20,
                              near=selectors.area_units_for(request.user))) if query else []
    return render(request, "accounts/_commune_options.html", {"units": units, "query": query})


# --- Officials: roles ----------------------------------------------------------------


@login_required
def roles_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Roles over units in the officer's scope; grant by phone number, revoke."""
    viewer = request.user
    if not permissions.can_list_roles(viewer):
        raise PermissionDenied
    grantable: list[tuple[str, Any]] = [("", "—")] + [
        (value, label) for value, label in Role.choices
        if permissions.can_grant_role_kind(viewer, value)
    ]
    action = request.POST.get("action", "") if request.method == "POST" else ""
    form = RoleGrantForm(request.POST if action == "grant" else None, roles=grantable)
    if action == "grant" and form.is_valid():
        try:
            assignment = services.role_grant_by_phone(
                actor=viewer, phone=form.cleaned_data["phone"], role=form.cleaned_data["role"],
                unit_code=form.cleaned_data["unit_code"], request=request,
            )
        except ServiceError as exc:
            form.add_service_error(exc)
        else:
            messages.success(
                request,
                _("Đã cấp vai trò %(role)s cho %(name)s.")
                % {"role": assignment.get_role_display(), "name": assignment.user.person.full_name},
            )
            return redirect("accounts:roles")
    elif action == "revoke":
        assignment_id = request.POST.get("assignment", "")
        found = (
            selectors.roles_visible_to(viewer).filter(pk=int(assignment_id)).first()
            if assignment_id.isdigit()
            else None
        )
        if found is None:
            raise Http404(_("Không tìm thấy vai trò này."))
        try:
            services.role_revoke(actor=viewer, assignment=found, request=request)
        except NotAllowed as exc:
            messages.error(request, str(exc.message))
        else:
            messages.success(request, _("Đã thu hồi vai trò."))
        return redirect("accounts:roles")
    assignments = [
        (assignment, permissions.can_revoke_role(viewer, assignment))
        for assignment in selectors.roles_visible_to(viewer)
    ]
    return render(request, "accounts/roles.html", {"form": form, "assignments": assignments})


# --- Officials: audit log ------------------------------------------------------------


@login_required
def audit_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    viewer = request.user
    if not permissions.can_view_any_audit(viewer):
        raise PermissionDenied
    form = AuditFilterForm(request.GET or None)
    action, since = "", None
    if form.is_valid():
        action = form.cleaned_data["action"]
        since_date: date | None = form.cleaned_data["since"]
        if since_date is not None:
            since = day_start(since_date)
    events = selectors.audit_events_visible_to(
        viewer, action=action or None, since=since
    ).select_related("actor__person", "unit__parent", "unit__parent__parent")
    page = Paginator(events, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    filters = request.GET.copy()
    filters.pop("page", None)
    return render(
        request, "accounts/audit.html",
        {"form": form, "page": page, "filters": filters.urlencode()},
    )
