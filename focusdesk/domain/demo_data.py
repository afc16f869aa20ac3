"""Deterministic demo attendees: realistic enough to try search, badges and counts on.

Names mix scripts and accents on purpose (Hangul, Japanese, Cyrillic, Greek, Polish, Vietnamese…) so
the demo exercises accent-insensitive search and the badge fonts, not only ASCII.
"""

from __future__ import annotations

import random
import unicodedata

DEMO_EVENT = {
    "name": "Northwind DevConf 2026",
    "starts_on": "2026-11-23",
    "ends_on": "2026-11-25",
    "timezone": "Europe/Berlin",
    "status": "open",
}

# (given names, family names, whether the family name comes first as written)
_NAME_POOLS: tuple[tuple[tuple[str, ...], tuple[str, ...], bool], ...] = (
    (
        ("Anna", "Lukas", "Sophie", "Jonas", "Marie", "Felix", "Lena", "Paul", "Emma", "Noah", "Mia", "Ben"),
        ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Hoffmann", "Schäfer"),
        False,
    ),
    (
        ("José", "María", "Lucía", "Álvaro", "Inés", "Sergio", "Carmen", "Raúl", "Elena", "Andrés"),
        ("García", "Fernández", "López", "Martínez", "Sánchez", "Pérez", "Gómez", "Díaz", "Muñoz", "Álvarez"),
        False,
    ),
    (
        ("Zoë", "Chloé", "Léa", "Éloïse", "Hélène", "Benoît", "François", "Mathéo", "Gaëlle", "Noël"),
        ("Dubois", "Lefèvre", "Moreau", "Girard", "Bonnet", "Faure", "Mercier", "Lambert", "Rousseau", "Fontaine"),
        False,
    ),
    (
        ("민준", "서연", "도윤", "지우", "하준", "서윤", "시우", "하은", "주원", "지아"),
        ("김", "이", "박", "최", "정", "강", "조", "윤", "장", "임"),
        True,
    ),
    (
        ("Hiroshi", "Yuki", "Haruto", "Aoi", "Sakura", "Ren", "Yui", "Sōta", "Mei", "Kenta"),
        ("Satō", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Itō", "Yamamoto", "Nakamura", "Kobayashi", "Katō"),
        False,
    ),
    (
        ("Олег", "Анна", "Дмитрий", "Мария", "Иван", "Екатерина", "Сергей", "Ольга"),
        ("Иванов", "Смирнова", "Кузнецов", "Попова", "Соколов", "Лебедева", "Козлов", "Новикова"),
        False,
    ),
    (
        ("Γιώργος", "Μαρία", "Νίκος", "Ελένη", "Δημήτρης", "Κατερίνα"),
        ("Παπαδόπουλος", "Οικονόμου", "Γεωργίου", "Νικολάου", "Κωνσταντίνου", "Δημητρίου"),
        False,
    ),
    (
        ("Łukasz", "Zofia", "Paweł", "Małgorzata", "Wojciech", "Agnieszka", "Michał", "Żaneta"),
        ("Nowak", "Kowalski", "Wiśniewska", "Wójcik", "Kowalczyk", "Kamińska", "Lewandowski", "Zieliński"),
        False,
    ),
    (
        ("Văn An", "Thị Bích", "Minh Đức", "Thu Hà", "Quốc Bảo", "Ngọc Lan"),
        ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh"),
        True,
    ),
    (
        ("James", "Olivia", "Liam", "Amelia", "Ethan", "Ava", "Oliver", "Isla", "Jack", "Grace", "Samuel", "Ruby"),
        ("Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "O'Brien", "Davies", "Evans", "Thomas"),
        False,
    ),
    (
        ("Søren", "Ingrid", "Bjørn", "Astrid", "Åsa", "Mikkel", "Freja", "Øystein"),
        ("Jørgensen", "Andersson", "Ødegård", "Lindqvist", "Hansen", "Karlsson", "Nyström", "Åberg"),
        False,
    ),
    (
        ("Aisha", "Omar", "Fatima", "Yusuf", "Leila", "Karim", "Amara", "Kwame", "Chidi", "Zainab"),
        ("Okafor", "Mensah", "Haddad", "El-Amin", "Nwosu", "Diallo", "Abara", "Boateng"),
        False,
    ),
)
# Pool weights: most attendees come from the host country, the rest from everywhere.
_POOL_WEIGHTS = (30, 8, 8, 6, 5, 4, 3, 5, 3, 18, 5, 5)

_COMPANIES = (
    "Northwind Traders",
    "Contoso",
    "Fabrikam",
    "Tailspin Toys",
    "Wide World Importers",
    "Adventure Works",
    "Litware",
    "Proseware",
    "Woodgrove Bank",
    "Alpine Ski House",
    "Blue Yonder Airlines",
    "Coho Winery",
    "Lucerne Publishing",
    "Margie's Travel",
    "Trey Research",
    "Humongous Insurance",
    "Fourth Coffee",
    "Graphic Design Institute",
    "School of Fine Art",
    "Südwind Software GmbH",
    "Société Générale d'Études",
    "Kōgyō Systems",
    "한빛소프트",
    "Москва Лабс",
    "",
)
_TICKET_WEIGHTS = (
    ("General", 62),
    ("Student", 10),
    ("VIP", 8),
    ("Speaker", 7),
    ("Sponsor", 5),
    ("Press", 3),
    ("Staff", 5),
)
_DIETARY = ("", "", "", "", "vegetarian", "vegan", "gluten-free", "halal", "kosher", "no nuts")
_TSHIRT = ("XS", "S", "M", "M", "L", "L", "XL", "XXL")
_TRACKS = ("Backend", "Frontend", "Data", "Security", "DevOps", "Design")


# Latin letters that do not decompose into a base letter plus accents.
_LATIN_EXTRA = str.maketrans({"ł": "l", "ø": "o", "æ": "ae", "đ": "d", "ß": "ss", "œ": "oe"})


def _ascii_slug(text: str) -> str:
    """An email-safe spelling of a name part ('José' -> 'jose'); empty for scripts with no Latin form."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_LATIN_EXTRA))
    return "".join(ch for ch in decomposed if ch.isascii() and ch.isalnum())


def _full_name(given: str, family: str, family_first: bool) -> str:
    if not family_first:
        return f"{given} {family}"
    # Korean names are written family name first with no space (김민준); Vietnamese with one.
    return f"{family}{given}" if "\uac00" <= family[0] <= "\ud7a3" else f"{family} {given}"


def demo_attendees(count: int = 1500, *, seed: int = 2026) -> list[dict]:
    """``count`` attendees, the same every time for the same ``seed``; emails are unique."""
    rng = random.Random(seed)
    tickets = [t for t, _ in _TICKET_WEIGHTS]
    ticket_weights = [w for _, w in _TICKET_WEIGHTS]
    people: list[dict] = []
    used_emails: set[str] = set()
    for index in range(count):
        given_names, family_names, family_first = rng.choices(_NAME_POOLS, weights=_POOL_WEIGHTS)[0]
        given, family = rng.choice(given_names), rng.choice(family_names)
        name = _full_name(given, family, family_first)
        local = ".".join(p for p in (_ascii_slug(given), _ascii_slug(family)) if p) or f"guest{index + 1}"
        email = f"{local}@example.{rng.choice(('com', 'org'))}"
        suffix = 2
        while email in used_emails:
            domain = email.split("@", 1)[1]
            email = f"{local}{suffix}@{domain}"
            suffix += 1
        used_emails.add(email)
        custom = {"T-shirt": rng.choice(_TSHIRT), "Track": rng.choice(_TRACKS)}
        dietary = rng.choice(_DIETARY)
        if dietary:
            custom["Dietary"] = dietary
        people.append(
            {
                "name": name,
                "email": email,
                "company": rng.choice(_COMPANIES),
                "ticket_type": rng.choices(tickets, weights=ticket_weights)[0],
                "custom": custom,
            }
        )
    return people
