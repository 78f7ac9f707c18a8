from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from truyvet.certificates.models import TrustListKind


class VerifyForm(forms.Form):
    text = forms.CharField(
        label=_("Mã chứng nhận (HC1:…, shc:/… hoặc JWS; mỗi dòng một mã)"), required=False,
        max_length=200_000,
        widget=forms.Textarea(attrs={"rows": 4, "autocomplete": "off", "spellcheck": "false",
                                     "autocapitalize": "off"}),
    )
    image = forms.FileField(label=_("Hoặc ảnh mã QR (PNG, JPEG)"), required=False)


class TrustListImportForm(forms.Form):
    name = forms.CharField(label=_("Tên danh sách"), max_length=200)
    kind = forms.ChoiceField(label=_("Loại"), choices=TrustListKind.choices)
    issuer_url = forms.CharField(
        label=_("Đơn vị cấp (iss, chỉ cho khoá SMART Health Card)"), max_length=500,
        required=False,
    )
    file = forms.FileField(label=_("Tệp (JSON, PEM hoặc DER)"))
