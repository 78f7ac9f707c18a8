import cProfile, pstats, uuid, io
from typing import Any
import pytest
from django.test import Client
from truyvet.accounts.services import token_issue
from truyvet.venues.qr import venue_qr_payload
from .conftest import post_json, make_venue, establish
from truyvet.venues.models import VenueType

@pytest.mark.django_db
def test_prof(client: Client, personas: Any) -> None:
    raw = token_issue(user=personas.citizen, label="x")
    venues = [venue_qr_payload(establish(make_venue(personas, name=f"Quán {i}", venue_type=VenueType.RESTAURANT))) for i in range(5)]
    for i in range(20):
        post_json(client, "/api/v1/checkins/scan", {"venue": venues[i % 5], "id": str(uuid.uuid4())}, HTTP_AUTHORIZATION=f"Bearer {raw}")
    pr = cProfile.Profile()
    pr.enable()
    for i in range(300):
        r = post_json(client, "/api/v1/checkins/scan", {"venue": venues[i % 5], "id": str(uuid.uuid4())}, HTTP_AUTHORIZATION=f"Bearer {raw}")
    pr.disable()
    print(r.status_code, r.content[:100])
    s = io.StringIO()
    st = pstats.Stats(pr, stream=s)
    st.sort_stats("tottime").print_stats(25)
    st.print_callers("copyreg.py.*__newobj__")
    st.print_callers("copy.py.*\\(copy\\)")
    st.sort_stats("cumulative").print_stats(60)
    print(s.getvalue())
