#!/usr/bin/env python
"""Latency of the desk's local attendee search (``focusdesk.station.search``) at event scale.

Run from the repository root::

    .venv/bin/python benchmarks/station_search.py            # one JSON object on stdout
    .venv/bin/python benchmarks/station_search.py 120000     # another population size

``bench_search(n, seed)`` builds a population of ``n`` attendees (given and family names from several
languages, accented letters, Korean names written without a space, hyphenated and apostrophe names, a
long tail of made-up family names so there are many distinct words, companies, emails, registration
numbers 1..n, random QR secrets), builds the index, then times single searches with
``time.perf_counter_ns``:

- ``prefix1``/``prefix2``/``prefix3``: the first 1–3 letters of a real person's first or family name
  (half each: desk staff type either);
- ``full_name``: a real person's name as written, a quarter of them with the words reversed;
- ``substring``: 3 letters from inside a family name (falls through to the substring tier);
- ``miss``: 4 letters that match nobody, so every tier scans everything;
- ``scan``: a QR secret, as a USB scanner types it;
- ``mixed``: the desk pattern, per check-in five keystrokes (prefixes of a name) then one upsert that
  really changes something searchable (a walk-in added, a company corrected), so the next search pays
  for re-joining the texts. (A plain check-in changes nothing searchable and costs the index nothing.)

It returns p50/p99 in ms per category, over all searches (``search_p50_ms``/``search_p99_ms``), for the
upserts, and ``build_ms``. It is a measurement: it asserts nothing.
"""

from __future__ import annotations

import base64
import gc
import json
import math
import random
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from focusdesk.domain.attendees import search_key  # noqa: E402
from focusdesk.station.search import SearchIndex  # noqa: E402

_GIVEN = (
    "Anna", "Lukas", "Sophie", "Jonas", "Marie", "Felix", "Lena", "Paul", "Emma", "Noah", "Mia", "Ben",
    "José", "María", "Lucía", "Álvaro", "Inés", "Sergio", "Carmen", "Raúl", "Elena", "Andrés",
    "Zoë", "Chloé", "Léa", "Éloïse", "Hélène", "Benoît", "François", "Mathéo", "Gaëlle", "Noël",
    "James", "Olivia", "Liam", "Amelia", "Ethan", "Ava", "Oliver", "Isla", "Jack", "Grace", "Samuel",
    "Jean-Luc", "Anne-Marie", "Søren", "Ingrid", "Bjørn", "Åsa", "Łukasz", "Zofia", "Paweł", "Michał",
    "Aisha", "Omar", "Fatima", "Yusuf", "Leila", "Karim", "Kwame", "Chidi", "Hiroshi", "Yuki", "Sōta",
    "Олег", "Анна", "Иван", "Ольга", "Γιώργος", "Μαρία", "Priya", "Arjun", "Wei", "Mei",
)  # fmt: skip
_FAMILY = (
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Hoffmann",
    "García", "Fernández", "López", "Martínez", "Sánchez", "Pérez", "Gómez", "Díaz", "Muñoz",
    "Dubois", "Lefèvre", "Moreau", "Girard", "Bonnet", "Faure", "Mercier", "Lambert",
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "O'Brien", "Davies", "Evans", "Thomas",
    "Nowak", "Kowalski", "Wiśniewska", "Wójcik", "Jørgensen", "Ødegård", "Lindqvist", "Nyström",
    "Okafor", "Mensah", "Haddad", "El-Amin", "Nwosu", "Diallo", "Satō", "Suzuki", "Tanaka",
    "Иванов", "Смирнова", "Παπαδόπουλος", "Sharma", "Patel", "Chen", "Wang", "van der Berg", "de la Cruz",
)  # fmt: skip
_SYLLABLES = (
    "ka", "ro", "mi", "tes", "van", "ber", "lin", "do", "sa", "ri", "ko", "vić", "no", "ha", "le", "ma",
    "ström", "ová", "sen", "gard", "ez", "ini", "elli", "ski", "ta", "bu", "gé", "ña", "wa", "yo", "zu",
)  # fmt: skip
_KOREAN_FAMILY = ("김", "이", "박", "최", "정", "강", "조", "윤", "장", "임")
_KOREAN_GIVEN = ("민준", "서연", "도윤", "지우", "하준", "서윤", "시우", "하은", "주원", "지아")
_COMPANIES = (
    "Northwind Traders", "Contoso", "Fabrikam", "Tailspin Toys", "Wide World Importers", "Adventure Works",
    "Litware", "Proseware", "Woodgrove Bank", "Alpine Ski House", "Coho Winery", "Lucerne Publishing",
    "Margie's Travel", "Trey Research", "Fourth Coffee", "Südwind Software GmbH", "Société Générale d'Études",
    "Kōgyō Systems", "한빛소프트", "Москва Лабс", "ACME Corp", "",
)  # fmt: skip


def _family(rng: random.Random) -> str:
    if rng.random() < 0.4:  # the long tail: many distinct family names, as at any large event
        return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()
    if rng.random() < 0.05:
        return f"{rng.choice(_FAMILY)}-{rng.choice(_FAMILY)}"
    return rng.choice(_FAMILY)


def _ascii(text: str) -> str:
    return "".join(ch for ch in search_key(text) if ch.isascii() and ch.isalnum())


def population(n: int, seed: int = 1) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for number in range(1, n + 1):
        if rng.random() < 0.08:
            name = rng.choice(_KOREAN_FAMILY) + rng.choice(_KOREAN_GIVEN)  # family first, no space
        else:
            name = f"{rng.choice(_GIVEN)} {_family(rng)}"
        local = ".".join(p for p in map(_ascii, name.split(" ", 1)) if p) or "guest"
        company = rng.choice(_COMPANIES)
        if rng.random() < 0.3:
            company = "".join(rng.choice(_SYLLABLES) for _ in range(3)).capitalize() + " Labs"
        rows.append(
            {
                "id": f"{rng.getrandbits(128):032x}",
                "name": name,
                "email": None if rng.random() < 0.05 else f"{local}{number}@example.{rng.choice(('com', 'org'))}",
                "company": company,
                "registration_number": number,
                "qr_secret": base64.urlsafe_b64encode(rng.randbytes(16)).decode().rstrip("="),
            }
        )
    return rows


def _word(rng: random.Random, row: dict) -> str:
    """A first or family name of ``row`` as typed (a Korean name is one word)."""
    words = row["name"].split(" ", 1)
    return rng.choice(words)


def _queries(rng: random.Random, rows: list[dict], count: int) -> dict[str, list[str]]:
    picks = [rng.choice(rows) for _ in range(count)]
    full = []
    for row in picks:
        words = row["name"].split()
        full.append(" ".join(reversed(words)) if rng.random() < 0.25 else row["name"])
    inner = []
    for row in picks:
        family = row["name"].split(" ", 1)[-1]
        start = rng.randrange(max(1, len(family) - 2))
        inner.append(family[start : start + 3])
    return {
        "prefix1": [_word(rng, row)[:1] for row in picks],
        "prefix2": [_word(rng, row)[:2] for row in picks],
        "prefix3": [_word(rng, row)[:3] for row in picks],
        "full_name": full,
        "substring": inner,
        "miss": ["".join(rng.choice("qxzj") for _ in range(4)) for _ in range(count)],
        "scan": [row["qr_secret"] for row in picks],
    }


def _ms(samples_ns: list[int], q: float) -> float:
    ordered = sorted(samples_ns)
    return round(ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)] / 1e6, 3)


def _time(call, *args) -> int:
    start = time.perf_counter_ns()
    call(*args)
    return time.perf_counter_ns() - start


def bench_search(n: int = 50_000, seed: int = 1, per_category: int = 1000) -> dict:
    """Build an index of ``n`` attendees and time searches; p50/p99 in ms per category (see module doc)."""
    rng = random.Random(seed + 1)
    rows = population(n, seed)
    index = SearchIndex()
    build_ns = _time(index.build, rows)
    gc.collect()

    timings: dict[str, list[int]] = {}
    for category, queries in _queries(rng, rows, per_category).items():
        timings[category] = [_time(index.search, q) for q in queries]

    mixed: list[int] = []
    upserts: list[int] = []
    walk_ins = 0
    while len(mixed) < per_category:
        word = _word(rng, rng.choice(rows))
        mixed.extend(_time(index.search, word[:length]) for length in range(1, 6))
        if rng.random() < 0.5:
            walk_ins += 1
            row = dict(rng.choice(rows), id=f"walkin{walk_ins:08d}", registration_number=None, qr_secret=None)
        else:
            row = rng.choice(rows)
            row = dict(row, company=f"{row['company']} ({len(upserts)})")  # a correction: always a change
        upserts.append(_time(index.upsert, row))
    timings["mixed"] = mixed

    result: dict[str, float | int] = {"n": n, "build_ms": round(build_ns / 1e6, 1)}
    for category, samples in timings.items():
        result[f"{category}_p50_ms"] = _ms(samples, 0.50)
        result[f"{category}_p99_ms"] = _ms(samples, 0.99)
    every = [t for samples in timings.values() for t in samples]
    result["search_p50_ms"] = _ms(every, 0.50)
    result["search_p99_ms"] = _ms(every, 0.99)
    result["search_max_ms"] = round(max(every) / 1e6, 3)
    result["upsert_p50_ms"] = _ms(upserts, 0.50)
    result["upsert_p99_ms"] = _ms(upserts, 0.99)
    return result


if __name__ == "__main__":
    print(json.dumps(bench_search(int(sys.argv[1]) if len(sys.argv) > 1 else 50_000)))
