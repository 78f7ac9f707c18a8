"""Reads of issuing: our DSCs as a trust list, our revocation list, the
certificates a viewer may see, and the queues of each step."""

from __future__ import annotations

import base64
from collections import defaultdict
from typing import Any

from django.db.models import Count, Max, Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _

from truyvet.accounts.models import Person, Role
from truyvet.accounts.permissions import is_system_admin, scope_units
from truyvet.certificates.issuing import keys
from truyvet.certificates.issuing.permissions import can_view_certificate
from truyvet.certificates.models import CertificateStatus, IssuedCertificate, SigningKey
from truyvet.certificates.revocation import (
    HASH_COUNTRYCODEUCI,
    HASH_SIGNATURE,
    HASH_UCI,
)
from truyvet.certificates.trust import TrustStore, dsc_from_der
from truyvet.core.errors import NotFound
from truyvet.core.models import AuditAction
from truyvet.core.services import audit_record
from truyvet.venues.models import StaffRole, VenueStaff, VenueType


def trust_list() -> list[dict[str, Any]]:
    """Our DSCs in the EU gateway's trust-list shape (``truyvet cert
    trustlist``, ``/api/v1/certificates/trustlist``); the CSCA as ``CSCA``."""
    return [keys.gateway_entry(bytes(row.certificate), kid=bytes(row.kid),
                               certificate_type="CSCA" if row.is_csca else "DSC")
            for row in SigningKey.objects.order_by("-is_csca", "name")]


def _revoked() -> QuerySet[IssuedCertificate]:
    return IssuedCertificate.objects.filter(status=CertificateStatus.REVOKED).exclude(
        hash_uci="").select_related("signing_key")


def revocation_list() -> list[dict[str, Any]]:
    """Our revoked certificates as DCC revocation batches (the gateway's
    shape: one batch per signing certificate and hash type, each hash the
    first 16 bytes of a SHA-256, base64). No reasons and nothing else."""
    batches: dict[tuple[bytes, str], list[str]] = defaultdict(list)
    for certificate in _revoked().order_by("revoked_at", "id"):
        kid = bytes(certificate.signing_key.kid) if certificate.signing_key else b""
        for hash_type, value in ((HASH_UCI, certificate.hash_uci),
                                 (HASH_COUNTRYCODEUCI, certificate.hash_country_uci),
                                 (HASH_SIGNATURE, certificate.hash_signature)):
            batches[(kid, hash_type)].append(
                base64.b64encode(bytes.fromhex(value)).decode("ascii"))
    return [
        {"country": "VN", "kid": base64.b64encode(kid).decode("ascii"), "hashType": hash_type,
         "entries": [{"hash": value} for value in values]}
        for (kid, hash_type), values in sorted(batches.items())
    ]


def issued_version() -> tuple[Any, ...]:
    found = IssuedCertificate.objects.filter(status=CertificateStatus.REVOKED).aggregate(
        n=Count("id"), last=Max("revoked_at"))
    key_rows = SigningKey.objects.aggregate(n=Count("id"), last=Max("created_at"))
    return found["n"], found["last"], key_rows["n"], key_rows["last"]


def issued_trust(store: TrustStore) -> None:
    """Adds our own DSCs and revocations (with their reasons, which only
    our verifier shows) to ``store``."""
    for row in SigningKey.objects.filter(is_csca=False):
        store.add_dsc(dsc_from_der(bytes(row.certificate), kid=bytes(row.kid), country="VN"))
    for certificate in _revoked():
        reason = certificate.revocation_reason
        for hash_type, value in ((HASH_UCI, certificate.hash_uci),
                                 (HASH_COUNTRYCODEUCI, certificate.hash_country_uci),
                                 (HASH_SIGNATURE, certificate.hash_signature)):
            store.dcc_revocations.add(hash_type, [bytes.fromhex(value)], reason=reason)


# --- Certificates people see ----------------------------------------------------------------


def my_certificates(*, person: Person) -> QuerySet[IssuedCertificate]:
    return IssuedCertificate.objects.filter(person=person).select_related("authority", "site")


def certificate_for(*, viewer: Any, uvci: str,
                    request: HttpRequest | None = None) -> IssuedCertificate:
    """One certificate the viewer may see (404 otherwise, so that a UVCI
    cannot be probed). An official's view of someone else's is audited."""
    found = (IssuedCertificate.objects.select_related(
        "person", "person__commune", "site", "site__commune", "authority", "signing_key")
        .filter(uvci=(uvci or "").strip()).first())
    if found is None or not can_view_certificate(viewer, found):
        raise NotFound(_("Không tìm thấy chứng nhận này."))
    if getattr(viewer, "person_id", None) != found.person_id:
        audit_record(actor=viewer, action=AuditAction.PERSON_READ, request=request,
                     purpose=_("Xem chứng nhận COVID để xử lý cấp"),
                     subject_person=found.person, target=f"certificate:{found.uvci}",
                     unit=found.authority)
    return found


def queue_for(*, viewer: Any) -> QuerySet[IssuedCertificate]:
    """The requests waiting on a step the viewer may take: at their sites,
    in their health worker's area, or in their province for signing."""
    if not getattr(viewer, "is_authenticated", False):
        return IssuedCertificate.objects.none()
    waiting = IssuedCertificate.objects.filter(status__in=[
        CertificateStatus.REQUESTED, CertificateStatus.VERIFIED, CertificateStatus.APPROVED])
    if is_system_admin(viewer):
        return waiting.select_related("person", "site", "authority")
    sites = VenueStaff.objects.filter(user=viewer, accepted_at__isnull=False).values("venue_id")
    managed = VenueStaff.objects.filter(user=viewer, accepted_at__isnull=False, role__in=[
        StaffRole.OWNER, StaffRole.ADMIN]).values("venue_id")
    condition = Q(status=CertificateStatus.REQUESTED, site_id__in=sites) | Q(
        status=CertificateStatus.VERIFIED, site_id__in=managed)
    for unit in scope_units(viewer, frozenset({Role.HEALTH_WORKER})):
        area = Q(site__commune__path__startswith=unit.path) | Q(
            site__isnull=True, person__commune__path__startswith=unit.path)
        condition |= area & Q(status__in=[CertificateStatus.REQUESTED,
                                          CertificateStatus.VERIFIED])
    for role in (Role.PROVINCE_OFFICER, Role.HEALTH_WORKER):
        for unit in scope_units(viewer, frozenset({role})):
            if role == Role.PROVINCE_OFFICER or unit.level == 1:
                condition |= Q(status=CertificateStatus.APPROVED,
                               authority__path__startswith=unit.path)
    return waiting.filter(condition).select_related("person", "site", "authority").distinct()


def home_links_for(user: Any) -> dict[str, list[tuple[str, str]]]:
    """Links for the home page: the citizen's own certificates, and the
    queue for those who take a step (site staff, health workers, province
    officers, system admins)."""
    links: dict[str, list[tuple[str, str]]] = {"mine": [], "official": []}
    if not getattr(user, "is_authenticated", False):
        return links
    links["mine"].append((reverse("issuing:mine"), str(_("Chứng nhận COVID của tôi"))))
    takes_steps = (is_system_admin(user) or bool(scope_units(user, frozenset({
        Role.HEALTH_WORKER, Role.PROVINCE_OFFICER}))) or VenueStaff.objects.filter(
        user=user, accepted_at__isnull=False, venue__venue_type__in=[
            VenueType.VACCINATION, VenueType.TESTING]).exists())
    if takes_steps:
        links["official"].append((reverse("issuing:queue"), str(_("Cấp chứng nhận COVID"))))
    return links
