"""A verification as the verifier page shows it: a verdict, the holder to
compare with an ID, a few lines of summary in the user's language, the
reasons, and each stage."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from truyvet.certificates.result import DCC, SHC, Verification

STAGE_LABELS = {
    "prefix": gettext_lazy("Tiền tố"), "base45": "Base45",
    "decompress": gettext_lazy("Giải nén"), "cose": "COSE",
    "trust": gettext_lazy("Danh sách tin cậy"),
    "signature": gettext_lazy("Chữ ký"), "cwt": "CWT",
    "certificate": gettext_lazy("Chứng chỉ ký (DSC)"), "key_usage": gettext_lazy("Phạm vi khoá"),
    "expiry": gettext_lazy("Thời hạn"), "schema": gettext_lazy("Lược đồ"),
    "valuesets": gettext_lazy("Bộ giá trị"), "revocation": gettext_lazy("Thu hồi"),
    "jws": "JWS", "payload": gettext_lazy("Nội dung"), "issuer": gettext_lazy("Đơn vị cấp"),
    "fhir": "FHIR", "vc_type": "vc.type",
}


def _summary_lines(result: Verification) -> list[str]:
    summary = result.summary or {}
    lines: list[str] = []
    kind = summary.get("type")
    if result.kind == DCC and kind == "vaccination":
        lines.append(_("Tiêm chủng: %(vaccine)s · mũi %(dose)s/%(doses)s · ngày %(date)s") % {
            "vaccine": summary.get("vaccine"), "dose": summary.get("dose"),
            "doses": summary.get("doses"), "date": summary.get("date")})
    elif result.kind == DCC and kind == "test":
        lines.append(_("Xét nghiệm: %(test)s · kết quả: %(result)s · lấy mẫu %(at)s") % {
            "test": summary.get("test_type"), "result": summary.get("result"),
            "at": summary.get("sampled_at")})
    elif result.kind == DCC and kind == "recovery":
        lines.append(_("Khỏi bệnh: dương tính lần đầu %(first)s · hiệu lực %(start)s – %(end)s")
                     % {"first": summary.get("first_positive"),
                        "start": summary.get("valid_from"), "end": summary.get("valid_until")})
    elif result.kind == SHC:
        for item in summary.get("immunizations", [])[:6]:
            lines.append(_("Tiêm chủng: %(vaccine)s · ngày %(date)s") % {
                "vaccine": item.get("vaccine"), "date": item.get("date")})
        for item in summary.get("observations", [])[:5]:
            lines.append(_("Xét nghiệm: %(test)s: %(result)s") % {
                "test": item.get("test"), "result": item.get("result")})
        if summary.get("issuer"):
            lines.append(_("Đơn vị cấp: %(issuer)s") % {"issuer": summary["issuer"]})
    if result.kind == DCC and summary.get("certificate_issuer"):
        lines.append(_("Cấp bởi: %(issuer)s (%(country)s)") % {
            "issuer": summary.get("certificate_issuer"), "country": summary.get("country")})
    if summary.get("expires_at"):
        lines.append(_("Hết hạn: %(at)s") % {"at": summary["expires_at"]})
    return lines


def result_view(result: Verification, label: str) -> dict[str, Any]:
    kind_label = {DCC: "EU DCC", SHC: "SMART Health Card"}.get(result.kind, "")
    return {
        "valid": result.valid,
        "kind": result.kind,
        "kind_label": kind_label,
        "holder": result.holder,
        "lines": _summary_lines(result),
        "reasons": [problem.message for problem in result.errors],
        "codes": [problem.code for problem in result.errors],
        "stages": [
            {"name": name, "label": STAGE_LABELS.get(name, name), "state": state}
            for name, state in result.stages.items()
        ],
    }
