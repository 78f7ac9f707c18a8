"""The nine COVID-19 vaccines licensed in Vietnam in 2021 and the dated
rules for mixing them (see migrations/0002_products.py for the sources of
every code and date). Loaded by that migration and kept present after
every ``migrate`` or ``flush`` (``products_ensure``, from ``apps.py``), so a
database emptied by a test's flush or restored without them still has
them."""

from __future__ import annotations

from datetime import date

from truyvet.vaccination.models import Vaccine, VaccineMix

PRODUCTS = [
    # code, name, manufacturer, mp, ma, vp, primary doses, min interval, licensed, aliases
    ("astrazeneca", "AstraZeneca (Vaxzevria)", "AstraZeneca AB", "EU/1/21/1529",
     "ORG-100001699", "29061000087103", 2, 28, date(2021, 1, 30),
     "astrazeneca\nastra zeneca\nastra\naz\nvaxzevria\nchadox1\nazd1222"),
    ("sputnik_v", "Sputnik V", "Gamaleya Research Institute", "Sputnik-V",
     "Gamaleya-Research-Institute", "29061000087103", 2, 21, date(2021, 3, 23),
     "sputnik v\nsputnik\nspudnik\ngam covid vac\ngam-covid-vac"),
    ("vero_cell", "Vero Cell (Sinopharm)",
     "China Sinopharm International Corp. - Beijing location", "BBIBP-CorV", "ORG-100020693",
     "1157024006", 2, 21, date(2021, 6, 3),
     "vero cell\nverocell\nvero\nsinopharm\nbbibp corv\nbbibp-corv\nbbibp\nsinopharm vero cell"),
    ("pfizer", "Comirnaty (Pfizer-BioNTech)", "Biontech Manufacturing GmbH", "EU/1/20/1528",
     "ORG-100030215", "1119349007", 2, 21, date(2021, 6, 12),
     "pfizer\ncomirnaty\npfizer biontech\nbiontech\npfizer bnt\nbnt162b2\npfizer-biontech"),
    ("moderna", "Spikevax (Moderna)", "Moderna Biotech Spain S.L.", "EU/1/20/1507",
     "ORG-100031184", "1119349007", 2, 28, date(2021, 6, 29),
     "moderna\nspikevax\nmrna 1273\nmrna-1273"),
    ("janssen", "Janssen (Johnson & Johnson)", "Janssen-Cilag International", "EU/1/20/1525",
     "ORG-100001417", "29061000087103", 1, 0, date(2021, 7, 15),
     "janssen\njansen\njohnson\nj&j\njohnson & johnson\njohnson and johnson\njcovden\nad26"),
    ("hayat_vax", "Hayat-Vax", "Gulf Pharmaceutical Industries", "Hayat-Vax",
     "ORG-100023050", "1157024006", 2, 21, date(2021, 9, 10),
     "hayat vax\nhayat-vax\nhayatvax\nhayat"),
    ("abdala", "Abdala", "Center for Genetic Engineering and Biotechnology (CIGB)", "Abdala",
     "CIGB", "28531000087107", 3, 14, date(2021, 9, 17),
     "abdala\ncigb 66\ncigb-66"),
    ("covaxin", "Covaxin", "Bharat Biotech", "Covaxin", "Bharat-Biotech", "1157024006", 2, 28,
     date(2021, 11, 10), "covaxin\nbbv152\nbbv 152"),
]

MIXES = [
    # previous, following, allowed from, source
    ("astrazeneca", "pfizer", date(2021, 8, 1),
     "MoH, August 2021 (24h.com.vn); the day is not in our sources"),
    ("astrazeneca", "moderna", date(2021, 9, 8), "MoH, 8 Sep 2021 (thanhnien.vn)"),
    ("moderna", "pfizer", date(2021, 9, 8), "MoH, 8 Sep 2021 (thanhnien.vn)"),
    ("pfizer", "moderna", date(2021, 9, 8), "MoH, 8 Sep 2021 (thanhnien.vn)"),
]



def products_ensure(*, using: str = "default") -> None:
    """Creates the products and mixing rules that are missing; leaves the
    ones present as they are (an operator may have corrected a date)."""
    vaccines = Vaccine.objects.using(using)
    if vaccines.count() < len(PRODUCTS):
        for position, row in enumerate(PRODUCTS):
            code, name, maker, mp, ma, vp, doses, interval, licensed, aliases = row
            vaccines.get_or_create(code=code, defaults={
                "name": name, "manufacturer": maker, "dcc_product": mp,
                "dcc_manufacturer": ma, "dcc_vaccine_type": vp, "primary_doses": doses,
                "min_interval_days": interval, "licensed_on": licensed, "aliases": aliases,
                "position": position,
            })
    mixes = VaccineMix.objects.using(using)
    if mixes.count() < len(MIXES):
        for previous, following, allowed_from, source in MIXES:
            mixes.get_or_create(previous_id=previous, following_id=following,
                                defaults={"allowed_from": allowed_from, "source": source})
