"""Synthetic rosters of realistic size, for the benchmarks, the tests and ``demo --full-size``.

Names are generated from short German name lists so the data looks like the real thing (umlauts
included) without being anyone's.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

FIRST = ["Anna", "Jörg", "Änne", "Björn", "Lea", "Mehmet", "Sophie", "Lukas", "Özlem", "Jonas", "Marie",
         "Finn", "Greta", "Emil", "Aylin", "Paul", "Ida", "Karl", "Hannah", "Till"]
LAST = ["Müller", "Schäfer", "Weiß", "Groß", "Krüger", "Yılmaz", "Becker", "Hoffmann", "Köhler", "Fuchs",
        "Straßburger", "Lenz", "Vogel", "Brückner", "Demir", "Schmitz", "Wagner", "Börner", "Lorenz", "Kaya"]
REGIONS = ["Baden-Württemberg", "Bayern", "Berlin", "Brandenburg", "Bremen", "Hamburg", "Hessen",
           "Mecklenburg-Vorpommern", "Niedersachsen", "Nordrhein-Westfalen", "Rheinland-Pfalz", "Saarland",
           "Sachsen", "Sachsen-Anhalt", "Schleswig-Holstein", "Thüringen"]
OFFERS = ["Forscher-AG", "Roboter-Ferienkurs", "Schülerlabortag", "Technik-Werkstatt für Mädchen",
          "Programmierclub", "Gewässeruntersuchung"]
HEADER = ["Rolle", "Vorname", "Nachname", "E-Mail", "Netzwerk", "Bundesland", "Initiative-Name", "Angebot",
          "Rechtsform", "Buddy-von"]


def synthetic_roster(coordinators: int = 20, initiatives: int = 150, members_per_initiative: int = 3,
                     buddies: int = 5, staff: int = 2) -> str:
    """A roster CSV (German headers, semicolons): initiatives are spread evenly over the networks."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    writer.writerow(HEADER)
    person = 0

    def name() -> tuple[str, str]:
        nonlocal person
        person += 1
        return FIRST[person % len(FIRST)], f"{LAST[(person // len(FIRST)) % len(LAST)]}"

    coordinator_emails = []
    for c in range(coordinators):
        first, last = name()
        email = f"koordination{c + 1:03d}@mint-netz.example"
        coordinator_emails.append(email)
        writer.writerow(["Koordination", first, last, email, f"MINT-Netzwerk {c + 1:03d}", REGIONS[c % len(REGIONS)],
                         "", "", "gemeinnützig" if c % 2 else "Körperschaft", ""])
    for i in range(initiatives):
        network = f"MINT-Netzwerk {i % coordinators + 1:03d}"
        for m in range(members_per_initiative):
            first, last = name()
            writer.writerow(["Initiative", first, last, f"initiative{i + 1:03d}.{m + 1}@mint-initiative.example",
                             network, "", f"Initiative {i + 1:03d}", OFFERS[i % len(OFFERS)], "", ""])
    for b in range(buddies):
        first, last = name()
        writer.writerow(["Buddy", first, last, f"buddy{b + 1:02d}@alumni.example", "", "", "", "", "",
                         coordinator_emails[b % coordinators]])
    for s in range(staff):
        first, last = name()
        writer.writerow(["Geschäftsstelle", first, last, f"team{s + 1}@geschaeftsstelle.example",
                         "", "", "", "", "", ""])
    return out.getvalue()


def synthetic_roster_rows(**sizes: int) -> list[list[str]]:
    """The rows of :func:`synthetic_roster` without the header."""
    return list(csv.reader(io.StringIO(synthetic_roster(**sizes)), delimiter=";"))[1:]


def write_synthetic_roster(path: str | Path, *, xlsx: bool = False, **sizes: int) -> Path:
    """Write the roster as staff would get it: UTF-8 with BOM, ';' (German Excel), and with ``xlsx`` the
    same sheet as ``.xlsx`` beside it. Returns the CSV's path."""
    from mintqo_lms.exports import write_table

    return write_table(Path(path), HEADER, synthetic_roster_rows(**sizes), sheet="Roster", xlsx=xlsx)[0]
