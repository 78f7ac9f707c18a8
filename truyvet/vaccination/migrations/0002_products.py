"""The nine COVID-19 vaccines licensed in Vietnam in 2021 (BRIEF §5,
context/vietnam.md §6) and the dated rules for mixing them within a
primary course.

EU DCC codes from testdata/dcc-valuesets/: ``dcc_product`` is the
vaccine-medicinal-product value (mp), ``dcc_manufacturer`` the marketing
authorisation holder or manufacturer (ma, vaccine-mah-manf.json) and
``dcc_vaccine_type`` the SNOMED CT code of vaccine-prophylaxis.json (vp),
the most specific one that vaccine-encoding-instructions.json lists for
the product (Abdala has only the generic "COVID-19 vaccine").

Licensing dates are those of the emergency-use approvals in Vietnam;
minimum intervals are the shortest gap between primary doses that each
product's schedule allows (Sputnik V, Vero Cell, Pfizer, Hayat-Vax: 21
days; AstraZeneca, Moderna, Covaxin: 28; Abdala: 14).
"""

from datetime import date

from django.db import migrations

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


def load(apps, schema_editor):
    Vaccine = apps.get_model("vaccination", "Vaccine")
    VaccineMix = apps.get_model("vaccination", "VaccineMix")
    for position, row in enumerate(PRODUCTS):
        code, name, maker, mp, ma, vp, doses, interval, licensed, aliases = row
        Vaccine.objects.update_or_create(code=code, defaults={
            "name": name, "manufacturer": maker, "dcc_product": mp, "dcc_manufacturer": ma,
            "dcc_vaccine_type": vp, "primary_doses": doses, "min_interval_days": interval,
            "licensed_on": licensed, "aliases": aliases, "position": position,
        })
    for previous, following, allowed_from, source in MIXES:
        VaccineMix.objects.update_or_create(
            previous_id=previous, following_id=following,
            defaults={"allowed_from": allowed_from, "source": source})


def unload(apps, schema_editor):
    apps.get_model("vaccination", "VaccineMix").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("vaccination", "0001_initial")]
    operations = [migrations.RunPython(load, unload)]
