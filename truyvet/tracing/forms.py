"""HTML forms for tracing. They check shape only; the services check
meaning and their FieldErrors land next to the matching fields."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.utils.translation import gettext_lazy as _

from truyvet.accounts.forms import ServiceErrorsMixin
from truyvet.tracing.models import CaseOutcome, CaseStatus, Classification, Diagnostic, TaskStatus
from truyvet.tracing.selectors import ContactQuery
from truyvet.tracing.services import AlertPlan

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


def _blank(choices: Any, label: Any) -> list[tuple[str, Any]]:
    return [("", label), *choices]


class PersonLookupForm(forms.Form):
    q = forms.CharField(
        label=_("Số điện thoại hoặc số CCCD/CMND của người bệnh"), max_length=40,
        widget=forms.TextInput(attrs={"inputmode": "text", "autocomplete": "off",
                                      "placeholder": "0912 345 678"}),
    )


class CaseCreateForm(ServiceErrorsMixin, forms.Form):
    classification = forms.ChoiceField(
        label=_("Phân loại"), choices=_blank(Classification.choices, _("— Chọn —")),
    )
    test_date = forms.DateField(label=_("Ngày xét nghiệm dương tính"), required=False,
                                widget=DATE)
    test_type = forms.ChoiceField(
        label=_("Loại xét nghiệm"), required=False,
        choices=_blank(Diagnostic.choices, _("— Không có —")),
    )
    symptom_onset = forms.DateField(
        label=_("Ngày khởi phát triệu chứng"), required=False, widget=DATE,
        help_text=_("Để trống nếu không có triệu chứng."),
    )
    isolation_place = forms.CharField(label=_("Nơi cách ly"), required=False, max_length=300)
    isolated_at = forms.DateTimeField(label=_("Thời điểm cách ly"), required=False,
                                      widget=DATETIME)


class WindowForm(ServiceErrorsMixin, forms.Form):
    start = forms.DateTimeField(label=_("Bắt đầu giai đoạn lây nhiễm"), widget=DATETIME)
    end = forms.DateTimeField(
        label=_("Kết thúc"), required=False, widget=DATETIME,
        help_text=_("Để trống: đến nay (chưa cách ly)."),
    )
    reason = forms.CharField(label=_("Lý do thay đổi"), max_length=600)


class IsolationForm(ServiceErrorsMixin, forms.Form):
    isolation_place = forms.CharField(label=_("Nơi cách ly"), max_length=300)
    isolated_at = forms.DateTimeField(label=_("Thời điểm cách ly"), widget=DATETIME)


class ReclassifyForm(ServiceErrorsMixin, forms.Form):
    test_date = forms.DateField(label=_("Ngày xét nghiệm dương tính"), widget=DATE)
    test_type = forms.ChoiceField(label=_("Loại xét nghiệm"), choices=Diagnostic.choices)


class CloseForm(ServiceErrorsMixin, forms.Form):
    outcome = forms.ChoiceField(
        label=_("Kết quả"), choices=_blank(CaseOutcome.choices, _("— Chọn —")),
    )


class AlertsForm(ServiceErrorsMixin, forms.Form):
    notify_contacts = forms.BooleanField(
        label=_("Gửi cảnh báo cho người tiếp xúc F1 (tin nhắn SMS và thông báo trong ứng dụng)"),
        required=False, initial=True,
    )
    notify_venues = forms.BooleanField(
        label=_("Gửi cảnh báo cho chủ các địa điểm ca bệnh đã đến"), required=False,
        initial=True,
    )
    publish_sites = forms.BooleanField(
        label=_("Công bố địa điểm và khung giờ (không có thông tin cá nhân)"), required=False,
    )


_PLAN_FIELDS = ("contacts", "already", "by_sms", "inapp_only", "unreachable", "venues",
                "venues_unreachable", "sites")


class AlertsConfirmForm(AlertsForm):
    """The choices and the numbers the official saw and confirmed, sent
    back as they were shown (hidden): the service refuses to send when what
    it would send now differs."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("notify_contacts", "notify_venues", "publish_sites"):
            self.fields[name].widget = forms.HiddenInput()
        for name in _PLAN_FIELDS:
            self.fields[f"plan_{name}"] = forms.IntegerField(
                min_value=0, max_value=10**9, widget=forms.HiddenInput())

    @classmethod
    def for_plan(cls, choices: dict[str, bool], plan: AlertPlan) -> AlertsConfirmForm:
        return cls(initial={**{k: "on" if v else "" for k, v in choices.items()},
                            **{f"plan_{name}": getattr(plan, name) for name in _PLAN_FIELDS}})

    def plan(self) -> AlertPlan:
        return AlertPlan(**{name: self.cleaned_data[f"plan_{name}"] for name in _PLAN_FIELDS})


class ExpandForm(ServiceErrorsMixin, forms.Form):
    depth = forms.TypedChoiceField(label=_("Mở rộng đến"), coerce=int, choices=[])
    contact_ids = forms.TypedMultipleChoiceField(
        label=_("Người tiếp xúc"), coerce=int, choices=[], required=False,
    )

    def __init__(self, *args: Any, contact_ids: list[int], max_depth: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["contact_ids"].choices = [(pk, str(pk)) for pk in contact_ids]  # type: ignore[attr-defined]
        self.fields["depth"].choices = [  # type: ignore[attr-defined]
            (d, f"F{d}") for d in range(2, max_depth + 1)
        ]


class TaskForm(ServiceErrorsMixin, forms.Form):
    status = forms.ChoiceField(label=_("Tình trạng"), choices=TaskStatus.choices)
    note = forms.CharField(label=_("Ghi chú"), required=False, max_length=1000,
                           widget=forms.Textarea(attrs={"rows": 3}))


class CaseFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Trạng thái"), required=False,
        choices=_blank(CaseStatus.choices, _("Tất cả")),
    )


class TaskFilterForm(forms.Form):
    """Search, filters and order of a contact list: the tasks of the
    viewer's communes, or (``for_case``) one case's contacts."""

    q = forms.CharField(label=_("Tìm theo tên hoặc số điện thoại"), required=False,
                        max_length=120)
    commune = forms.TypedChoiceField(label=_("Xã/phường"), required=False, coerce=int,
                                     empty_value=None, choices=[])
    status = forms.ChoiceField(
        label=_("Tình trạng"), required=False,
        choices=_blank(TaskStatus.choices, _("Tất cả")),
    )
    case = forms.IntegerField(label=_("Ca bệnh số"), required=False, min_value=1,
                              max_value=2**31 - 1)
    degree = forms.TypedChoiceField(
        label=_("Mức"), required=False, coerce=int, empty_value=None,
        choices=[("", _("Tất cả")), ("1", "F1"), ("2", "F2"), ("3", "F3")],
    )
    closeness = forms.ChoiceField(label=_("Mức độ gần"), required=False, choices=[
        ("", _("Tất cả")), ("shared", _("Có thời gian chung")),
        ("apart", _("Chỉ trong khoảng đệm (cách vài phút)")),
    ])
    sort = forms.ChoiceField(label=_("Sắp xếp"), required=False, choices=[
        ("closest", _("Gần nhất trước")),
        ("minutes", _("Thời gian chung dài nhất")),
        ("gap", _("Khoảng cách ngắn nhất")),
        ("first", _("Tiếp xúc sớm nhất")),
        ("recent", _("Tiếp xúc gần đây nhất")),
        ("status", _("Tình trạng (cần xử lý trước)")),
    ])

    def __init__(self, *args: Any, communes: list[tuple[int, str]], for_case: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["commune"].choices = [("", _("Tất cả")), *communes]  # type: ignore[attr-defined]
        if for_case:
            del self.fields["case"]
            self.fields["sort"].choices = self.fields["sort"].choices[:-1]  # type: ignore[attr-defined]

    def query(self) -> ContactQuery:
        """The valid part of what was asked (an invalid field is ignored)."""
        if not self.is_bound:
            return ContactQuery()
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return ContactQuery(
            q=data.get("q") or "", commune=data.get("commune"), status=data.get("status") or "",
            case=data.get("case"), degree=data.get("degree"),
            closeness=data.get("closeness") or "", sort=data.get("sort") or "closest",
        )

    def querystring(self) -> str:
        """The filters as a query string, for the page links."""
        if not self.is_bound:
            return ""
        data = getattr(self, "cleaned_data", {})
        kept = {name: self.data.get(name) for name in self.fields if name in data
                and data[name] not in (None, "")}
        return urlencode(kept)


class IdListField(forms.Field):
    """Several whole numbers from checkboxes of the same name (which of
    them the user may touch is the service's decision)."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[int]:
        try:
            return sorted({int(item) for item in value or []})
        except (TypeError, ValueError) as exc:
            raise forms.ValidationError(_("Lựa chọn không hợp lệ."), code="invalid") from exc


class TaskBulkForm(ServiceErrorsMixin, forms.Form):
    """One status for several tasks at once: the ticked ones, or every task
    the list's filters find (on all pages)."""

    task_ids = IdListField(label=_("Người tiếp xúc"), required=False)
    matching = forms.BooleanField(label=_("Áp dụng cho tất cả kết quả lọc"), required=False)
    status = forms.ChoiceField(label=_("Chuyển sang"), choices=TaskStatus.choices)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("matching") and not data.get("task_ids"):
            self.add_error(None, _("Hãy chọn ít nhất một người."))
        return data
