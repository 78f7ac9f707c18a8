"""HTML forms. They check only the shape of what is typed; the services
decide (``services._validate``), so the page and the API give the same
messages, mapped onto the fields by ``ServiceErrorsMixin``."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from truyvet.accounts.forms import ServiceErrorsMixin
from truyvet.core.time import local_day
from truyvet.declarations.models import Declaration, DeclSex, PassDirection, Vehicle
from truyvet.declarations.plates import plate_display
from truyvet.declarations.services import DeclarationInput

YES_NO = [("0", _("Không")), ("1", _("Có"))]
# The commune inputs: typed names are completed from the places API into a
# <datalist> (static/declarations/autocomplete.js); keyboard only.
COMMUNE_ATTRS = {"list": "commune-options", "autocomplete": "off",
                 "data-commune-autocomplete": "1",
                 "placeholder": _("Gõ tên xã/phường, ví dụ: Thanh Nhật")}


def _yes_no(label: Any) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(label=label, choices=YES_NO, coerce=lambda v: v == "1",
                                  initial="0", widget=forms.RadioSelect, required=False)


def _commune_value(unit: Any) -> str:
    return f"{unit.full_name} ({unit.code})" if unit is not None else ""


class DeclarationForm(ServiceErrorsMixin, forms.Form):
    on_behalf = forms.BooleanField(
        label=_("Khai hộ (khai cho người khác: con nhỏ, người không có điện thoại)"),
        required=False)
    full_name = forms.CharField(label=_("Họ và tên"), max_length=200,
                                widget=forms.TextInput(attrs={"autocomplete": "name"}))
    id_number = forms.CharField(label=_("Số hộ chiếu/CMND/CCCD"), max_length=32, required=False,
                                widget=forms.TextInput(attrs={"inputmode": "numeric"}))
    birth_year = forms.CharField(label=_("Năm sinh"), max_length=4,
                                 widget=forms.TextInput(attrs={"inputmode": "numeric"}))
    sex = forms.ChoiceField(label=_("Giới tính"), choices=DeclSex.choices,
                            widget=forms.RadioSelect)
    nationality = forms.CharField(label=_("Quốc tịch (mã 2 chữ cái)"), max_length=2,
                                  initial="VN")
    commune = forms.CharField(label=_("Xã/phường/thị trấn (địa chỉ liên lạc)"),
                              max_length=200, widget=forms.TextInput(attrs=COMMUNE_ATTRS))
    street = forms.CharField(label=_("Số nhà, phố, tổ dân phố/thôn/xóm"), max_length=300)
    phone = forms.CharField(label=_("Điện thoại"), max_length=32,
                            widget=forms.TextInput(attrs={"inputmode": "tel",
                                                          "autocomplete": "tel"}))
    email = forms.CharField(label=_("Email"), max_length=254, required=False)
    travelled = _yes_no(_("Trong vòng 14 ngày qua, bạn có đến tỉnh/thành phố, quốc gia/vùng "
                          "lãnh thổ nào (có thể đi qua nhiều nơi)?"))
    travel_places = forms.CharField(label=_("Nơi đã đến"), max_length=300, required=False)
    symptoms = _yes_no(_("Trong vòng 14 ngày qua, bạn có thấy xuất hiện ít nhất 1 trong các "
                         "dấu hiệu: sốt, ho, khó thở, viêm phổi, đau họng, mệt mỏi không?"))
    symptoms_text = forms.CharField(label=_("Dấu hiệu"), max_length=300, required=False)
    contact_case = _yes_no(_("Người bệnh hoặc nghi ngờ mắc bệnh COVID-19"))
    contact_abroad = _yes_no(_("Người từ nước có bệnh COVID-19"))
    contact_symptoms = _yes_no(_("Người có biểu hiện (sốt, ho, khó thở, viêm phổi)"))
    bhyt_number = forms.CharField(label=_("Số thẻ bảo hiểm y tế (nếu có)"), max_length=20,
                                  required=False)
    consent = forms.BooleanField(
        label=_("Tôi cam kết những thông tin trên là đúng sự thật; khai báo sai là vi phạm "
                "pháp luật."), required=False)

    def __init__(self, *args: Any, kind: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind

    def declaration_input(self) -> DeclarationInput:
        data = {name: value for name, value in self.cleaned_data.items()
                if name in DeclarationInput.__dataclass_fields__}
        return DeclarationInput(kind=self.kind, **data)

    @classmethod
    def initial_from(cls, declaration: Declaration) -> dict[str, Any]:
        initial: dict[str, Any] = {
            name: getattr(declaration, name) for name in cls.base_fields
            if hasattr(declaration, name) and name not in ("commune", "origin", "destination")
        }
        for flag in ("travelled", "symptoms", "contact_case", "contact_abroad",
                     "contact_symptoms"):
            initial[flag] = "1" if getattr(declaration, flag) else "0"
        initial["commune"] = _commune_value(declaration.commune)
        initial["origin"] = _commune_value(declaration.origin)
        initial["destination"] = _commune_value(declaration.destination)
        initial["plate"] = plate_display(declaration.plate) if declaration.plate else ""
        return initial


class MovementForm(DeclarationForm):
    vehicle = forms.ChoiceField(label=_("Phương tiện"), choices=Vehicle.choices)
    flight_number = forms.CharField(label=_("Số hiệu chuyến bay"), max_length=10,
                                    required=False)
    origin = forms.CharField(label=_("Nơi đi (xã/phường)"), max_length=200,
                             widget=forms.TextInput(attrs=COMMUNE_ATTRS))
    origin_point = forms.CharField(label=_("Điểm đi"), max_length=200, required=False)
    destination = forms.CharField(label=_("Nơi đến (xã/phường)"), max_length=200,
                                  widget=forms.TextInput(attrs=COMMUNE_ATTRS))
    destination_point = forms.CharField(label=_("Điểm đến"), max_length=200, required=False)
    plate = forms.CharField(label=_("Biển số phương tiện"), max_length=20, required=False,
                            widget=forms.TextInput(attrs={"list": "plate-options",
                                                          "autocomplete": "off",
                                                          "placeholder": "11A-123.45"}))
    seat = forms.CharField(label=_("Số ghế"), max_length=10, required=False)
    departure_date = forms.CharField(label=_("Ngày khởi hành"), max_length=10,
                                     widget=forms.DateInput(attrs={"type": "date"}))

    field_order = ["on_behalf", "full_name", "id_number", "birth_year", "sex", "nationality",
                   "vehicle", "flight_number", "origin", "origin_point", "destination",
                   "destination_point", "plate", "seat", "departure_date"]


class PaperForm(MovementForm):
    """The checkpoint's paper form: what a practised officer types in under
    30 s, keyboard only (Tab between fields, autocomplete for communes and
    plates). The contact address defaults to the origin."""

    direction = forms.ChoiceField(label=_("Hướng"), choices=[("", _("Theo lộ trình")),
                                                             *PassDirection.choices],
                                  required=False)
    consent = forms.BooleanField(label=_("Người khai đã ký cam kết trên tờ khai giấy"),
                                 required=False, initial=True)

    field_order = ["direction", "full_name", "birth_year", "sex", "id_number", "phone",
                   "plate", "vehicle", "origin", "destination", "departure_date", "commune",
                   "street", "symptoms", "contact_case", "contact_abroad", "contact_symptoms",
                   "consent"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, kind="movement", **kwargs)
        for name in ("on_behalf", "nationality", "email", "travelled", "travel_places",
                     "symptoms_text", "bhyt_number", "flight_number", "origin_point",
                     "destination_point", "seat"):
            del self.fields[name]
        for name in ("commune", "street"):
            self.fields[name].required = False
        # Typed day first as on the paper (20/10/2021), today unless changed:
        # quicker than a date picker, and the same whatever the browser's locale.
        self.fields["departure_date"].widget = forms.TextInput(
            attrs={"inputmode": "numeric", "placeholder": "dd/mm/yyyy"})
        self.fields["departure_date"].initial = local_day(timezone.now()).strftime("%d/%m/%Y")

    def declaration_input(self) -> DeclarationInput:
        data = self.cleaned_data
        base = super().declaration_input()
        return DeclarationInput(**{
            **vars(base), "commune": data.get("commune") or data.get("origin", ""),
            "street": data.get("street") or str(_("(theo tờ khai giấy)")), "on_behalf": True,
        })


class FollowUpDoneForm(forms.Form):
    note = forms.CharField(label=_("Ghi chú"), max_length=500, required=False)
