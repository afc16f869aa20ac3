"""The desk's local search: tiers, their order, normalisation, updates, and a brute-force reference."""

from __future__ import annotations

import random
import re
from itertools import permutations
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

from focusdesk.domain.attendees import search_key
from focusdesk.station import search as search_module
from focusdesk.station.search import Hit, SearchIndex


def person(attendee_id: str, name: str, email=None, company="", reg_no=None, qr=None) -> dict:
    return {
        "id": attendee_id,
        "name": name,
        "email": email,
        "company": company,
        "registration_number": reg_no,
        "qr_secret": qr,
    }


def index_of(*rows: dict) -> SearchIndex:
    index = SearchIndex()
    index.build(rows)
    return index


def found(index: SearchIndex, query: str, limit: int = 50) -> list[tuple[str, int, str]]:
    return [(h.attendee_id, h.rank, h.field) for h in index.search(query, limit)]


def test_accents_and_case_do_not_matter():
    index = index_of(person("jose", "José Pérez"), person("mull", "Jürgen Müller"), person("anna", "Anna Smith"))
    assert found(index, "jose") == [("jose", 1, "name")]
    assert found(index, "JOSÉ P") == [("jose", 1, "name")]
    assert found(index, "MÜLLER") == [("mull", 2, "name")]
    assert found(index, "muller") == [("mull", 2, "name")]
    assert found(index, "perez jose") == [("jose", 2, "name")]


def test_korean_names():
    index = index_of(person("k1", "김민준"), person("k2", "이서연"), person("k3", "박김"))
    assert found(index, "김") == [("k1", 1, "name"), ("k3", 3, "name")]
    assert found(index, "김민준") == [("k1", 1, "name")]
    assert found(index, "민준") == [("k1", 3, "name")]  # one word: no space between family and given name


def test_each_tier_in_order():
    index = index_of(
        person("t4-email", "Carl Dole", email="bsmith@example.org"),
        person("t4-company", "Bob Brown", company="Smiley Ltd"),
        person("t3", "Anna Kosmina"),
        person("t2", "Anna Smith"),
        person("t1", "Smilla Berg"),
        person("none", "Zed Alpha", email="zed@example.org", company="Acme"),
        person("t0", "Someone Else", qr="smi"),
    )
    assert found(index, "smi") == [
        ("t0", 0, "qr"),
        ("t1", 1, "name"),
        ("t2", 2, "name"),
        ("t3", 3, "name"),
        ("t4-company", 4, "company"),  # Bob Brown sorts before Carl Dole: ties go by name
        ("t4-email", 4, "email"),
    ]


def test_ties_are_ordered_by_normalised_name_then_id():
    index = index_of(person("b", "Émile Zola"), person("a", "emile zola"), person("c", "Emil Nolde"))
    assert [h.attendee_id for h in index.search("emil")] == ["c", "a", "b"]


def test_multi_word_queries_match_words_in_any_order():
    index = index_of(person("anna", "Anna Smith"), person("mary", "Mary Jones"), person("sam", "Sam Annandale"))
    assert found(index, "anna s") == [("anna", 1, "name"), ("sam", 2, "name")]  # "sam", "annandale"
    assert found(index, "ann smi") == [("anna", 2, "name")]
    assert found(index, "smi ann") == [("anna", 2, "name")]
    assert found(index, "jo") == [("mary", 2, "name")]
    assert found(index, "ann") == [("anna", 1, "name"), ("sam", 2, "name")]
    assert found(index, "smith x") == []


def test_each_query_word_needs_its_own_name_word():
    index = index_of(person("two", "Anna Annabel"), person("one", "Anna Smith"), person("three", "Jo Jo Jones"))
    assert found(index, "an ann") == [("two", 2, "name")]  # "Anna Smith" has one word starting "an"
    assert found(index, "annab ann") == [("two", 2, "name")]
    assert found(index, "smith smi") == []
    assert found(index, "jo jo jo") == [("three", 1, "name")]
    assert found(index, "jones jo jo") == [("three", 2, "name")]
    assert found(index, "jo jo jo jo") == []


def test_hyphens_and_apostrophes_split_words():
    index = index_of(person("jl", "Jean-Luc Picard"), person("ob", "Liam O'Brien"), person("ea", "Omar El-Amin"))
    assert found(index, "jean-luc") == [("jl", 1, "name")]
    assert found(index, "luc") == [("jl", 2, "name")]
    assert found(index, "picard jean-l") == [("jl", 2, "name")]
    assert found(index, "luc jean") == [("jl", 2, "name")]
    assert found(index, "brien") == [("ob", 2, "name")]
    assert found(index, "amin") == [("ea", 2, "name")]
    assert found(index, "n-l") == [("jl", 3, "name")]


def test_qr_secret_outranks_everything_and_is_case_sensitive():
    secret = "Zed12345abc"
    index = index_of(
        person("named", "Zed12345abc Jones"),
        person("owner", "Zoe Owner", qr=secret),
        person("mail", "Mia Mail", email="zed12345abc@example.org"),
    )
    assert found(index, f"  {secret}\n") == [("owner", 0, "qr"), ("named", 1, "name"), ("mail", 4, "email")]
    assert ("owner", 0, "qr") not in found(index, secret.lower())


def test_registration_number_with_or_without_hash():
    index = index_of(
        person("p42", "Anna Smith", reg_no=42), person("p4", "Ben Brown", reg_no=4), person("w", "Walk In")
    )
    assert found(index, "#42") == [("p42", 0, "reg_no")]
    assert found(index, "42") == [("p42", 0, "reg_no")]
    assert found(index, " #4 ") == [("p4", 0, "reg_no")]
    assert found(index, "#") == []


def test_email_exact_and_partial():
    index = index_of(
        person("anna", "Anna Smith", email="Anna.Smith@Example.com"),
        person("ben", "Ben Brown", email="ben@example.org"),
    )
    assert found(index, "anna.smith@EXAMPLE.com") == [("anna", 0, "email")]
    assert found(index, "anna.sm") == [("anna", 4, "email")]
    assert found(index, "@example") == [("anna", 4, "email"), ("ben", 4, "email")]


def test_company_matches():
    index = index_of(
        person("a", "Anna Smith", company="ACME Corp"),
        person("b", "Ben Brown", company="Société Acmé"),
        person("c", "Cleo Acme", company="Other"),
    )
    assert found(index, "acme") == [("c", 2, "name"), ("a", 4, "company"), ("b", 4, "company")]
    assert found(index, "corp") == [("a", 4, "company")]


def test_no_one_twice_and_each_at_their_best_tier():
    index = index_of(
        person("x", "Anna Annabel", email="anna@anna.org", company="Anna Corp", qr="anna"),
        person("y", "Hanna Berg", company="Annalise"),
    )
    assert found(index, "anna") == [("x", 0, "qr"), ("y", 3, "name")]
    assert found(index, "ann") == [("x", 1, "name"), ("y", 3, "name")]


def test_limit_is_respected_and_results_are_deterministic():
    rows = [person(f"id{i:03d}", f"Anna {name}") for i, name in enumerate(["Zed", "Berg", "Kim", "Ode"] * 10)]
    shuffled = rows[:]
    random.Random(7).shuffle(shuffled)
    first, second = index_of(*rows), index_of(*shuffled)
    hits = first.search("anna", limit=10)
    assert len(hits) == 10
    assert hits == second.search("anna", limit=10) == first.search("anna", limit=10)
    assert [h.attendee_id for h in hits] == [f"id{i:03d}" for i in range(1, 40, 4)]  # the "Anna Berg"s
    assert first.search("anna", limit=0) == []


def test_empty_and_blank_queries_find_nothing():
    index = index_of(person("a", "Anna Smith", qr=" "))
    assert index.search("") == [] and index.search("   ") == [] and index.search("\t\n") == []


def test_upsert_replaces_and_remove_forgets():
    index = SearchIndex()
    assert len(index) == 0 and index.search("a") == []
    index.upsert(person("a", "Anna Smith", email="anna@example.org", reg_no=1, qr="qr-anna-1"))
    index.upsert(person("b", "Ben Brown", reg_no=2))
    assert len(index) == 2
    index.upsert(person("a", "Hanna Schmidt", email="hs@example.org", reg_no=3, qr="qr-hanna-3"))
    assert len(index) == 2
    assert found(index, "anna smith") == []
    assert found(index, "anna@example.org") == []
    assert found(index, "#1") == [] and found(index, "qr-anna-1") == []
    assert found(index, "hanna") == [("a", 1, "name")]
    assert found(index, "#3") == [("a", 0, "reg_no")]
    index.upsert(person("a", "Hanna Schmidt", email="hs@example.org", reg_no=3, qr="qr-hanna-3"))  # same
    assert len(index) == 2 and found(index, "hanna") == [("a", 1, "name")]
    index.remove("a")
    index.remove("a")
    index.remove("nobody")
    assert len(index) == 1
    assert found(index, "hanna") == [] and found(index, "#3") == [] and found(index, "qr-hanna-3") == []
    assert found(index, "b") == [("b", 1, "name")]


def test_many_updates_across_chunk_splits():
    index = SearchIndex()
    with mock.patch.object(search_module, "_CHUNK", 3):
        index.build(person(f"p{i:02d}", f"Name {i:02d}") for i in range(10))
        for i in range(10, 40):
            index.upsert(person(f"p{i:02d}", f"Name {i:02d}"))
        for i in range(0, 40, 3):
            index.remove(f"p{i:02d}")
        expected = [f"p{i:02d}" for i in range(40) if i % 3]
        assert [h.attendee_id for h in index.search("name", limit=100)] == expected
        starting = [i for i in expected if i.startswith("p2")]  # a word starting "2": tier 2, before tier 3
        assert [h.attendee_id for h in index.search("2", limit=100)] == starting + [
            i for i in expected if "2" in i and i not in starting
        ]
        for i in range(40):
            index.remove(f"p{i:02d}")
        assert len(index) == 0 and index.search("name") == []
        index.upsert(person("back", "Name Again"))
        assert found(index, "again") == [("back", 2, "name")]


# -- the property: the index agrees with a brute-force reading of the tier definitions

_ALPHABET = "abcáéñAÉ -'김"


def _norm(text: str | None) -> str:
    return " ".join(search_key(text).split())


def _words(text: str) -> list[str]:
    return [w for w in re.split(r"[ \-']+", text) if w]


def _reference(rows: dict[str, dict], query: str, limit: int) -> list[Hit]:
    raw, q = query.strip(), _norm(query)
    if not q:
        return []
    ranked = []
    for row in rows.values():
        name, email, company = _norm(row["name"]), _norm(row["email"]), _norm(row["company"])
        query_words, name_words = _words(q), _words(name)
        if row["qr_secret"] and raw == row["qr_secret"]:
            tier, field = 0, "qr"
        elif (
            re.fullmatch(r"#?[0-9]+", raw)
            and row["registration_number"] is not None
            and int(raw.lstrip("#")) == row["registration_number"]
        ):
            tier, field = 0, "reg_no"
        elif email and q == email:
            tier, field = 0, "email"
        elif name.startswith(q):
            tier, field = 1, "name"
        elif query_words and any(
            all(word.startswith(qw) for word, qw in zip(chosen, query_words, strict=True))
            for chosen in permutations(name_words, len(query_words))
        ):
            tier, field = 2, "name"
        elif q in name:
            tier, field = 3, "name"
        elif q in email:
            tier, field = 4, "email"
        elif q in company:
            tier, field = 4, "company"
        else:
            continue
        ranked.append((tier, name, row["id"], field))
    ranked.sort()
    return [Hit(attendee_id, tier, field) for tier, _, attendee_id, field in ranked[:limit]]


_texts = st.text(alphabet=_ALPHABET, max_size=9)
_rows = st.builds(
    person,
    attendee_id=st.sampled_from([f"id{i}" for i in range(12)]),
    name=_texts,
    email=st.none() | st.text(alphabet="abAé@.", max_size=5),
    company=_texts,
    reg_no=st.none() | st.integers(0, 12),
    qr=st.none() | st.text(alphabet="aAb1", min_size=1, max_size=3),
)


def _query_from(data, rows: list[dict]) -> str:
    if not rows or data.draw(st.booleans()):
        return data.draw(st.text(alphabet=_ALPHABET + "#0123456789@.", max_size=6))
    row = data.draw(st.sampled_from(rows))
    source = data.draw(st.sampled_from(["name", "email", "company", "qr_secret", "registration_number"]))
    value = row[source]
    if value is None:
        return ""
    if source == "registration_number":
        return data.draw(st.sampled_from([str(value), f"#{value}", f" {value} "]))
    start = data.draw(st.integers(0, len(value)))
    end = data.draw(st.integers(start, len(value)))
    text = value[start:end]
    return data.draw(st.sampled_from([text, text.upper(), " ".join(reversed(text.split()))]))


@settings(max_examples=60, deadline=None)
@given(
    initial=st.lists(_rows, max_size=10),
    changes=st.lists(st.tuples(st.booleans(), _rows), max_size=8),
    data=st.data(),
)
def test_search_agrees_with_brute_force_reference(initial, changes, data):
    model = {row["id"]: row for row in initial}  # a later row with the same id wins, as in build()
    index = SearchIndex()
    with mock.patch.object(search_module, "_CHUNK", 2):  # tiny chunks, so updates split and empty them
        index.build(initial)
        for is_removal, row in changes:
            if is_removal:
                index.remove(row["id"])
                model.pop(row["id"], None)
            else:
                index.upsert(row)
                model[row["id"]] = row
        assert len(index) == len(model)
        for _ in range(4):
            query = _query_from(data, list(model.values()))
            limit = data.draw(st.integers(1, 8))
            hits = index.search(query, limit)
            assert hits == _reference(model, query, limit), query
            assert len({h.attendee_id for h in hits}) == len(hits)
