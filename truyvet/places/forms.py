from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from truyvet.places.models import Level


class UnitSearchForm(forms.Form):
    """The query string of the search page. Every field is optional: an empty
    form lists the provinces."""

    q = forms.CharField(
        label=_("Tên đơn vị hành chính"), required=False, max_length=100, strip=True
    )
    level = forms.TypedChoiceField(
        label=_("Cấp"),
        choices=[("", _("Mọi cấp")), *Level.choices],
        coerce=int,
        empty_value=None,
        required=False,
    )
    parent = forms.CharField(required=False, max_length=10, widget=forms.HiddenInput)
