"""Officials find and read people only in their scope; what lists show is
masked, and every search and every read of someone else's record is audited."""

from django.test import Client

from truyvet.accounts.models import Person
from truyvet.accounts.selectors import people_search
from truyvet.accounts.services import PersonInput, person_create
from truyvet.core.models import AuditAction, AuditEvent

HOA_ID = "004190123456"  # the citizen persona, Nguyễn Thị Hoa


def searches() -> int:
    return AuditEvent.objects.filter(action=AuditAction.PERSON_SEARCH).count()


def reads():
    return AuditEvent.objects.filter(action=AuditAction.PERSON_READ)


# --- Searching --------------------------------------------------------------------


def test_an_official_finds_a_resident_of_their_district_by_name(api, personas) -> None:
    response = api(personas.district_officer).get("/people", q="Nguyen Thi Hoa")

    assert response.status_code == 200
    [found] = response.json()
    assert found["id"] == personas.citizen.person_id
    assert found["name"] == "N. T. Hoa"
    assert found["masked_id"] == "*********456"
    assert found["masked_phone"] == "0912***007"
    assert found["birth_year"] == 1990
    assert found["commune"]["name"] == "Thị trấn Thanh Nhật"


def test_search_results_never_carry_full_identifiers(api, personas) -> None:
    response = api(personas.district_officer).get("/people", q="thi hoa")

    text = response.content.decode()
    assert HOA_ID not in text
    assert "+84912000007" not in text
    assert "Nguyễn Thị Hoa" not in text


def test_names_match_with_or_without_diacritics_and_case(api, personas) -> None:
    officer = api(personas.district_officer)

    for query in ["nguyễn thị hoa", "NGUYEN THI HOA", "thi hoa", "  nguyen   hoa "]:
        ids = [p["id"] for p in officer.get("/people", q=query).json()]
        assert ids == [personas.citizen.person_id], query


def test_a_phone_number_is_found_however_it_is_written(api, personas) -> None:
    officer = api(personas.district_officer)

    for query in ["0912 000 007", "+84912000007", "84912000007"]:
        ids = [p["id"] for p in officer.get("/people", q=query).json()]
        assert ids == [personas.citizen.person_id], query


def test_an_id_number_must_be_complete_to_match(api, personas) -> None:
    officer = api(personas.district_officer)

    assert [p["id"] for p in officer.get("/people", q=HOA_ID).json()] == [
        personas.citizen.person_id
    ]
    assert officer.get("/people", q=HOA_ID[:7]).json() == []


def test_an_official_does_not_find_people_outside_their_scope(api, personas) -> None:
    # Lương Văn Đức lives in Quảng Hòa, the neighbouring district.
    assert api(personas.district_officer).get("/people", q="Luong Van Duc").json() == []
    assert api(personas.neighbour_officer).get("/people", q="Nguyen Thi Hoa").json() == []
    assert api(personas.neighbour_officer).get("/people", q=HOA_ID).json() == []
    assert len(api(personas.province_officer).get("/people", q="Luong Van Duc").json()) == 1


def test_a_commune_officer_sees_only_their_commune(api, personas) -> None:
    # The health worker persona lives in An Lạc, not Thanh Nhật.
    officer = api(personas.commune_officer)

    assert officer.get("/people", q="Dam Thi Thu").json() == []
    assert len(officer.get("/people", q="Nguyen Thi Hoa").json()) == 1


def test_each_search_is_audited_once_without_a_subject(api, personas) -> None:
    before = searches()

    api(personas.district_officer).get("/people", q="thi hoa", purpose="Truy vết ca F0 số 12")

    assert searches() == before + 1
    event = AuditEvent.objects.filter(action=AuditAction.PERSON_SEARCH).latest("id")
    assert event.actor == personas.district_officer
    assert event.purpose == "Truy vết ca F0 số 12"
    assert event.subject_person is None
    assert event.unit == personas.units.ha_lang
    assert event.detail["person_ids"] == [personas.citizen.person_id]
    assert event.ip_address == "127.0.0.1"


def test_an_empty_search_returns_nothing_and_is_not_audited(api, personas) -> None:
    before = searches()

    assert api(personas.district_officer).get("/people", q=" ").json() == []
    assert searches() == before


def test_a_name_matches_at_word_beginnings_only(api, personas) -> None:
    officer = api(personas.district_officer)

    assert officer.get("/people", q="oa").json() == []
    names = sorted(p["name"] for p in officer.get("/people", q="hoa").json())
    assert names == ["H. V. Tỉnh", "N. T. Hoa"]  # Hoàng Văn Tỉnh, Nguyễn Thị Hoa


def test_a_citizen_may_not_search_for_people(api, personas) -> None:
    response = api(personas.citizen).get("/people", q="hoa")

    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


def test_searching_costs_the_same_few_queries_however_many_match(
    personas, django_assert_max_num_queries
) -> None:
    for number in range(30):
        person_create(data=PersonInput(
            full_name=f"Nông Văn Phúc {number}", commune=personas.units.an_lac,
            birth_year=1950 + number,
        ))
    officer = personas.district_officer

    # roles, the search, the audit row, the rows under each person found (one
    # insert, issue 12), and the savepoint around the last three
    with django_assert_max_num_queries(6):
        found = people_search(viewer=officer, query="phuc", limit=50)
        rows = [(p.masked_name, p.masked_id, p.commune and p.commune.full_name) for p in found]

    assert len(rows) == 30


def test_the_search_endpoint_costs_a_fixed_number_of_queries(
    personas, django_assert_max_num_queries
) -> None:
    for number in range(30):
        person_create(data=PersonInput(
            full_name=f"Nông Văn Phúc {number}", commune=personas.units.an_lac,
        ))
    client = Client()
    client.force_login(personas.district_officer)

    # session, user, roles, then the selector's search, its audit row and the rows
    # under each person found (one insert, issue 12), in a savepoint
    with django_assert_max_num_queries(8):
        response = client.get("/api/v1/people", {"q": "phuc", "limit": "50"})

    assert len(response.json()) == 30


def test_the_search_page_queries_do_not_grow_with_results(
    personas, django_assert_max_num_queries
) -> None:
    for number in range(30):
        person_create(data=PersonInput(
            full_name=f"Nông Văn Phúc {number}", commune=personas.units.an_lac,
        ))
    client = Client()
    client.force_login(personas.district_officer)

    # as the endpoint above, the rows under each person found included (issue 12)
    with django_assert_max_num_queries(8):
        response = client.get("/accounts/people/", {"q": "phuc"}, headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert response.content.decode().count("<tr>") == 30 + 1  # and the header row


# --- Reading one record -------------------------------------------------------------


def test_an_official_reads_a_record_and_the_read_is_audited(api, personas) -> None:
    citizen = personas.citizen.person
    before = reads().count()

    response = api(personas.district_officer).get(
        f"/people/{citizen.pk}", purpose="Xác minh thông tin cư trú"
    )

    assert response.status_code == 200
    assert response.json()["id_number"] == HOA_ID
    assert response.json()["phone"] == "+84912000007"
    assert reads().count() == before + 1
    event = reads().latest("id")
    assert event.actor == personas.district_officer
    assert event.subject_person == citizen
    assert event.unit == personas.units.thanh_nhat
    assert event.purpose == "Xác minh thông tin cư trú"
    assert event.ip_address == "127.0.0.1"


def test_reading_someone_else_s_record_needs_a_purpose(api, personas) -> None:
    before = reads().count()

    response = api(personas.district_officer).get(f"/people/{personas.citizen.person_id}")

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "purpose"
    assert reads().count() == before


def test_out_of_scope_looks_exactly_like_a_record_that_does_not_exist(api, personas) -> None:
    neighbour = api(personas.neighbour_officer)
    missing_id = Person.objects.order_by("-pk")[0].pk + 1000

    out_of_scope = neighbour.get(f"/people/{personas.citizen.person_id}", purpose="Truy vết")
    missing = neighbour.get(f"/people/{missing_id}", purpose="Truy vết")

    assert out_of_scope.status_code == missing.status_code == 404
    assert out_of_scope.content == missing.content
    assert not reads().filter(actor=personas.neighbour_officer).exists()


def test_a_citizen_cannot_read_another_citizen(api, personas) -> None:
    response = api(personas.citizen).get(
        f"/people/{personas.other_citizen.person_id}", purpose="tò mò"
    )

    assert response.status_code == 404


def test_a_citizen_reads_their_own_data_unmasked_and_unaudited(api, personas) -> None:
    citizen = api(personas.citizen)

    me = citizen.get("/me")
    own = citizen.get(f"/people/{personas.citizen.person_id}")

    assert me.status_code == own.status_code == 200
    assert me.json()["id_number"] == HOA_ID
    assert me.json()["phone"] == "+84912000007"
    assert me.json()["roles"] == []
    assert own.json()["id_number"] == HOA_ID
    assert not AuditEvent.objects.filter(subject_person=personas.citizen.person).exists()


def test_me_lists_an_official_s_roles(api, personas) -> None:
    roles = api(personas.district_officer).get("/me").json()["roles"]

    assert [(r["role"], r["unit"]["name"]) for r in roles] == [
        ("district_officer", "Huyện Hạ Lang")
    ]


def test_me_needs_a_login(api, db) -> None:
    assert api().get("/me").status_code == 401


# --- Recording people without a login -------------------------------------------------


def test_an_official_records_a_person_without_a_login_in_their_scope(api, personas) -> None:
    response = api(personas.commune_officer).post("/people", {
        "full_name": "Hà Văn Tư", "birth_year": 1948, "sex": "male",
        "commune_id": personas.units.thanh_nhat.pk,
    })

    assert response.status_code == 201
    person = Person.objects.get(pk=response.json()["id"])
    assert person.full_name == "Hà Văn Tư"
    assert not hasattr(person, "user") or person.user is None


def test_an_official_cannot_record_a_person_outside_their_scope(api, personas) -> None:
    before = Person.objects.count()

    response = api(personas.commune_officer).post("/people", {
        "full_name": "Hà Văn Tư", "commune_id": personas.units.an_lac.pk,
    })

    assert response.status_code == 403
    assert Person.objects.count() == before


def test_a_citizen_cannot_record_people(api, personas) -> None:
    response = api(personas.citizen).post("/people", {
        "full_name": "Hà Văn Tư", "commune_id": personas.units.thanh_nhat.pk,
    })

    assert response.status_code == 403


def test_an_unknown_commune_is_a_field_error(api, personas) -> None:
    response = api(personas.commune_officer).post("/people", {
        "full_name": "Hà Văn Tư", "commune_id": 99_999_999,
    })

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "commune_id"


def test_an_official_records_a_person_through_the_page(personas) -> None:
    client = Client()
    client.force_login(personas.commune_officer)

    response = client.post("/accounts/people/new/", {
        "full_name": "Hà Văn Tư", "birth_year": "1948", "sex": "male",
        "commune": personas.units.thanh_nhat.pk,
    })

    assert response.status_code == 302
    assert Person.objects.filter(full_name="Hà Văn Tư").exists()


# --- The pages ------------------------------------------------------------------------


def test_the_detail_page_asks_for_a_purpose_before_showing_anything(personas) -> None:
    client = Client()
    client.force_login(personas.district_officer)
    url = f"/accounts/people/{personas.citizen.person_id}/"

    asked = client.get(url)
    assert asked.status_code == 200
    assert HOA_ID not in asked.content.decode()
    assert not reads().exists()

    shown = client.post(url, {"purpose": "Truy vết tiếp xúc ca bệnh"})

    assert shown.status_code == 200
    assert HOA_ID in shown.content.decode()
    assert reads().count() == 1
    assert reads().get().purpose == "Truy vết tiếp xúc ca bệnh"


def test_the_detail_page_is_404_out_of_scope(personas) -> None:
    client = Client()
    client.force_login(personas.neighbour_officer)

    assert client.get(f"/accounts/people/{personas.citizen.person_id}/").status_code == 404
    assert client.post(
        f"/accounts/people/{personas.citizen.person_id}/", {"purpose": "Truy vết"}
    ).status_code == 404


def test_the_people_page_is_for_officials_only(personas) -> None:
    client = Client()
    client.force_login(personas.citizen)

    assert client.get("/accounts/people/").status_code == 403


def test_the_profile_shows_which_officials_read_my_data(api, personas) -> None:
    api(personas.district_officer).get(
        f"/people/{personas.citizen.person_id}", purpose="Xác minh thông tin cư trú"
    )
    client = Client()
    client.force_login(personas.citizen)

    page = client.get("/accounts/me/").content.decode()

    assert HOA_ID in page
    assert "Nông Thị Lan" in page
    assert "Xác minh thông tin cư trú" in page
