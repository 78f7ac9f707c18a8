"""The one result shape of every verification, EU DCC or SMART Health Card.

A ``Verification`` lists each stage's outcome (True passed, False failed,
None not applicable or not reached), the errors with stable codes, the
holder (name and date of birth, to compare with an ID) and a summary of
what the credential attests. It holds no state beyond one verification and
is never stored: verifying keeps no personal data (services.py counts).

Error messages are Vietnamese msgids (the source language) with English in
``locale/en``; ``message`` renders one in the active language.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

DCC = "dcc"
SHC = "shc"

# The stages in the order they run, per kind. The JSON output keys them by
# these names; a stage that was not reached stays None.
DCC_STAGES = (
    "prefix", "base45", "decompress", "cose", "trust", "signature", "cwt", "certificate",
    "key_usage", "expiry", "schema", "valuesets", "revocation",
)
SHC_STAGES = (
    "prefix", "jws", "decompress", "payload", "issuer", "signature", "expiry", "revocation",
    "fhir", "vc_type",
)

# Stable codes, each with its message. Codes are part of the CLI's and the
# API's interface: add new ones, never rename.
MESSAGES: dict[str, Promise] = {
    # Any input
    "input_empty": _("Không có dữ liệu để kiểm tra."),
    "input_too_long": _("Dữ liệu quá dài để là một chứng nhận."),
    "input_unknown": _("Không nhận ra loại chứng nhận (cần HC1:…, shc:/… hoặc JWS)."),
    "input_unreadable": _("Không đọc được tệp hoặc ảnh."),
    "image_no_qr": _("Không tìm thấy mã QR trong ảnh."),
    # EU DCC
    "dcc_prefix": _("Tiền tố không được hỗ trợ: chứng nhận EU DCC bắt đầu bằng “HC1:”."),
    "dcc_base45": _("Phần Base45 không hợp lệ."),
    "dcc_decompress": _("Không giải nén được dữ liệu (zlib)."),
    "dcc_too_large": _("Dữ liệu sau giải nén quá lớn."),
    "dcc_cose": _("Cấu trúc COSE_Sign1 không hợp lệ."),
    "dcc_algorithm": _("Thuật toán ký không được hỗ trợ (chỉ ES256 hoặc PS256)."),
    "dcc_kid_missing": _("Chứng nhận không có mã khoá (kid)."),
    "dcc_kid_unknown": _("Không có chứng chỉ ký (DSC) nào trong danh sách tin cậy khớp mã khoá."),
    "dcc_signature": _("Chữ ký không đúng: chứng nhận đã bị sửa hoặc không do khoá này ký."),
    "dcc_dsc_not_yet_valid": _("Chứng chỉ ký (DSC) chưa có hiệu lực vào thời điểm kiểm tra."),
    "dcc_dsc_expired": _("Chứng chỉ ký (DSC) đã hết hạn vào thời điểm kiểm tra."),
    "dcc_iat_before_dsc": _("Chứng nhận được cấp trước khi chứng chỉ ký (DSC) có hiệu lực."),
    "dcc_exp_after_dsc": _("Hạn của chứng nhận vượt quá hạn của chứng chỉ ký (DSC)."),
    "dcc_key_usage": _("Chứng chỉ ký (DSC) không được phép ký loại chứng nhận này."),
    "dcc_cwt": _("Phần CWT không hợp lệ (thiếu hoặc sai iat, exp hay -260/1)."),
    "dcc_not_yet_valid": _("Chứng nhận chưa có hiệu lực (ngày cấp sau thời điểm kiểm tra)."),
    "dcc_expired": _("Chứng nhận đã hết hạn."),
    "dcc_schema_version": _("Phiên bản lược đồ (ver) của chứng nhận không được hỗ trợ."),
    "dcc_schema": _("Nội dung chứng nhận không đúng lược đồ EU DCC."),
    "dcc_multiple_entries": _(
        "Chứng nhận phải có đúng một mục tiêm chủng, xét nghiệm hoặc khỏi bệnh."
    ),
    "dcc_valueset": _("Có mã không thuộc bộ giá trị EU DCC."),
    "dcc_revoked": _("Chứng nhận đã bị thu hồi."),
    # SMART Health Cards
    "shc_prefix": _("Mã SMART Health Card không hợp lệ (cần “shc:/” và các chữ số)."),
    "shc_chunks": _("Thiếu hoặc thừa phần của mã SMART Health Card nhiều phần."),
    "shc_jws": _("Cấu trúc JWS không hợp lệ."),
    "shc_algorithm": _("Thuật toán ký không được hỗ trợ (chỉ ES256 với zip DEF)."),
    "shc_decompress": _("Không giải nén được dữ liệu (DEFLATE)."),
    "shc_too_large": _("Dữ liệu sau giải nén quá lớn."),
    "shc_payload": _("Nội dung thẻ không phải JSON hợp lệ."),
    "shc_issuer_unknown": _("Đơn vị cấp (iss) không có trong danh sách tin cậy."),
    "shc_kid_unknown": _("Khoá ký (kid) không có trong bộ khoá của đơn vị cấp."),
    "shc_signature": _("Chữ ký không đúng: thẻ đã bị sửa hoặc không do khoá này ký."),
    "shc_not_yet_valid": _("Thẻ chưa có hiệu lực (nbf sau thời điểm kiểm tra)."),
    "shc_expired": _("Thẻ đã hết hạn (exp)."),
    "shc_revoked": _("Thẻ đã bị đơn vị cấp thu hồi."),
    "shc_fhir": _("Gói FHIR không hợp lệ: cần một Patient và các mục tiêm chủng hoặc xét nghiệm."),
    "shc_vc_type": _("Thiếu loại thẻ vc.type “https://smarthealth.cards#health-card”."),
}


@dataclass(frozen=True)
class Problem:
    code: str
    detail: str = ""  # a technical hint in English (the schema path, say); may be empty

    @property
    def message(self) -> str:
        text = str(MESSAGES.get(self.code, self.code))
        return f"{text} ({self.detail})" if self.detail else text


class VerificationFailed(Exception):
    """Raised inside a stage; the orchestrator records it and stops or goes on."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(code)
        self.problem = Problem(code, detail)


@dataclass
class Verification:
    kind: str
    stages: dict[str, bool | None]
    errors: list[Problem] = field(default_factory=list)
    holder: dict[str, str] | None = None
    summary: dict[str, Any] | None = None

    @classmethod
    def start(cls, kind: str) -> Verification:
        names = DCC_STAGES if kind == DCC else SHC_STAGES if kind == SHC else ()
        return cls(kind=kind, stages=dict.fromkeys(names))

    @property
    def valid(self) -> bool:
        """No stage failed and nothing went wrong. A stage that did not apply
        (None: a signature not checked on request) does not make it invalid."""
        return not self.errors and False not in self.stages.values() and bool(self.stages)

    def passed(self, stage: str) -> None:
        self.stages[stage] = True

    def failed(self, stage: str, code: str, detail: str = "") -> None:
        self.stages[stage] = False
        self.errors.append(Problem(code, detail))

    def fail_from(self, stage: str, error: VerificationFailed) -> None:
        self.stages[stage] = False
        self.errors.append(error.problem)

    @property
    def codes(self) -> list[str]:
        return [problem.code for problem in self.errors]

    def as_json(self, *, input_label: str | None = None) -> dict[str, Any]:
        """The CLI's and the API's shape: ``{"input", "kind", "valid", "stages",
        "errors": [{"code", "message"}], "holder", "summary"}``."""
        out: dict[str, Any] = {}
        if input_label is not None:
            out["input"] = input_label
        out.update({
            "kind": self.kind,
            "valid": self.valid,
            "stages": dict(self.stages),
            "errors": [{"code": p.code, "message": p.message} for p in self.errors],
            "holder": self.holder,
            "summary": self.summary,
        })
        return out


def undecodable(code: str, detail: str = "", *, kind: str = DCC) -> Verification:
    """The result for an input that could not be read at all, in the shape
    of the kind it most resembles (``verify.kind_guess``): its first stage
    failed, the others not reached."""
    result = Verification.start(kind)
    result.errors.append(Problem(code, detail))
    if result.stages:
        first = next(iter(result.stages))
        result.stages[first] = False
    return result
