"""The desk's local attendee search: ranked, accent-insensitive, fast enough for every keystroke.

Results come in tiers (lower rank is better), each ordered by normalised name, then id:

0. exact QR secret (case-sensitive, what a USB scanner types), registration number ("42" or "#42"), or
   email (case-insensitive);
1. the normalised name starts with the query ("anna s" finds "Anna Smith");
2. every query word starts a *different* word of the name, in any order ("smi ann", "jo" for "Mary
   Jones"); words split on spaces, hyphens and apostrophes;
3. the name contains the query ("nna");
4. the email or company contains the query.

A person is reported once, at their best tier. Text is compared through
:func:`focusdesk.domain.attendees.search_key` with white space collapsed, so "jose" meets "José".

Why it is fast at 50,000 people: a one-letter query matches most of them, so nothing ever collects all
matches to sort them. Every tier yields candidates already in (name, id) order and the search stops at
``limit``. Entries are kept sorted in chunks of a few hundred; tier 1 walks them from a ``bisect``.
Tiers 2–4 scan a text of one line per entry, per chunk, with ``str.find`` (C speed), so Python only runs
per matching line. A change re-joins only its chunk's texts, lazily; an upsert that changes nothing
searchable (a check-in) costs nothing. See benchmarks/station_search.py for the figures.
"""

from __future__ import annotations

import re
from bisect import bisect_left, insort
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from operator import attrgetter
from typing import NamedTuple

from focusdesk.domain.attendees import search_key

# Hyphens (also U+2010, what NFKD makes of a non-breaking hyphen) and apostrophes split name words too:
# "Jean-Luc" and "O'Brien" are found by "luc" and "brien".
_WORD_SEPARATORS = re.compile(r"[ \-\u2010'\u2018\u2019\u02bc]+")
# At most 18 digits: longer runs are no registration number (and int() refuses very long ones).
_REG_NO = re.compile(r"#?([0-9]{1,18})")
# Entries per chunk after a build or a split (a chunk splits past twice this): see _Chunk.
_CHUNK = 512
_TEXT_FIELDS = ("name", "word_line", "other_line")


@dataclass(frozen=True, slots=True)
class Hit:
    attendee_id: str
    rank: int  # the tier: lower is better
    field: str  # what matched: "qr", "reg_no", "email", "name" or "company"


def normalise(text: str | None) -> str:
    """Case- and accent-free text with white space collapsed: how names and queries are compared."""
    if text and text.isascii():  # what search_key does to ASCII, without its per-character loop
        return " ".join(text.lower().split())
    return " ".join(search_key(text).split())


def name_words(normalised: str) -> list[str]:
    return [w for w in _WORD_SEPARATORS.split(normalised) if w]


class _Entry(NamedTuple):
    """One attendee as indexed. Entries sort by key; equal entries mean an upsert has nothing to do."""

    key: tuple[str, str]  # (normalised name, id): the order within every tier
    name: str  # normalised
    word_line: str  # " word word …": each word preceded by a space, so " jo" finds word starts
    other_line: str  # "email\tcompany", normalised: the tab tells which of the two a match fell in
    email: str  # normalised, "" if none
    qr: str | None
    reg_no: int | None


def _entry(row: Mapping) -> _Entry:
    attendee_id = str(row["id"])
    name = normalise(row.get("name"))
    email = normalise(row.get("email"))
    reg_no = row.get("registration_number")
    return _Entry(
        key=(name, attendee_id),
        name=name,
        word_line=" " + " ".join(name_words(name)),
        other_line=f"{email}\t{normalise(row.get('company'))}",
        email=email,
        qr=row.get("qr_secret") or None,
        reg_no=None if reg_no is None else int(reg_no),
    )


class _Chunk:
    """A run of consecutive entries in key order, with its texts (one line per entry) joined lazily.

    Why chunks: at 50,000 entries one whole text takes ~10 ms to join, and every upsert would make the next
    search re-join all three; a chunk of 512 re-joins all of its texts in ~0.2 ms.
    """

    __slots__ = ("entries", "texts")

    def __init__(self, entries: list[_Entry]) -> None:
        self.entries = entries
        self.texts: dict[str, str] = {}

    def prepare(self) -> None:
        for field in _TEXT_FIELDS:
            self.text(field)
        self.word_sample()

    def text(self, field: str) -> str:
        text = self.texts.get(field)
        if text is None:
            text = self.texts[field] = "\n".join(map(attrgetter(field), self.entries))
        return text

    def word_sample(self) -> str:
        """Every 16th word line: counting a word in it estimates how common it is for 1/16 of a scan."""
        text = self.texts.get("sample")
        if text is None:
            text = self.texts["sample"] = "\n".join(e.word_line for e in self.entries[::16])
        return text


def _scan(text: str, needle: str, times: int = 1) -> Iterator[tuple[int, int, int]]:
    """(line number, match position, line end) for each line of ``text`` holding ``needle`` at least
    ``times`` times, in order.

    Finding and counting newlines both run in C; Python only runs once per matching line. Repeats are
    found by a regular expression (also C) so that "jo jo" does not visit every line holding "jo" once.
    """
    repeated = None
    if times > 1:
        repeated = re.compile(re.escape(needle) + (r"[^\n]*" + re.escape(needle)) * (times - 1))
    line = start = 0
    while True:
        if repeated is None:
            pos = text.find(needle, start)
        else:
            pos = match.start() if (match := repeated.search(text, start)) else -1
        if pos < 0:
            return
        line += text.count("\n", start, pos)
        end = text.find("\n", pos)
        if end < 0:
            end = len(text)
        yield line, pos, end
        line += 1
        start = end + 1


class SearchIndex:
    """All of one desk's attendees, searchable. Not thread-safe: use it from one thread (the UI's)."""

    def __init__(self) -> None:
        self.build(())

    def __len__(self) -> int:
        return len(self._entries)

    def build(self, rows: Iterable[Mapping]) -> None:
        """Replace everything (a later row with the same id wins)."""
        self._entries: dict[str, _Entry] = {e.key[1]: e for e in map(_entry, rows)}
        ordered = sorted(self._entries.values())
        self._chunks = [_Chunk(ordered[i : i + _CHUNK]) for i in range(0, len(ordered), _CHUNK)]
        self._maxes = [chunk.entries[-1].key for chunk in self._chunks]  # to find the chunk for a key
        # Exact look-ups; a tuple of ids because nothing here can promise uniqueness (shared emails).
        self._by_qr: dict[str, tuple[str, ...]] = {}
        self._by_reg_no: dict[int, tuple[str, ...]] = {}
        self._by_email: dict[str, tuple[str, ...]] = {}
        for entry in ordered:
            self._link_exact(entry)
        for chunk in self._chunks:  # now rather than on the first keystroke
            chunk.prepare()

    def upsert(self, row: Mapping) -> None:
        entry = _entry(row)
        old = self._entries.get(entry.key[1])
        if old == entry:
            return  # a check-in: nothing searchable changed
        if old is not None:
            self.remove(old.key[1])
        self._entries[entry.key[1]] = entry
        self._link_exact(entry)
        if not self._chunks:
            self._chunks.append(_Chunk([]))
            self._maxes.append(entry.key)
        c = self._chunk_for(entry.key)
        chunk = self._chunks[c]
        insort(chunk.entries, entry)
        chunk.texts.clear()
        if len(chunk.entries) > 2 * _CHUNK:  # split: re-joining a chunk's texts must stay cheap
            tail = _Chunk(chunk.entries[_CHUNK:])
            del chunk.entries[_CHUNK:]
            self._chunks.insert(c + 1, tail)
            self._maxes.insert(c + 1, tail.entries[-1].key)
        self._maxes[c] = chunk.entries[-1].key

    def remove(self, attendee_id: str) -> None:
        entry = self._entries.pop(attendee_id, None)
        if entry is None:
            return
        for table, value in self._exact_keys(entry):
            rest = tuple(x for x in table[value] if x != attendee_id)
            if rest:
                table[value] = rest
            else:
                del table[value]
        c = self._chunk_for(entry.key)
        chunk = self._chunks[c]
        del chunk.entries[bisect_left(chunk.entries, entry)]
        chunk.texts.clear()
        if chunk.entries:
            self._maxes[c] = chunk.entries[-1].key
        else:
            del self._chunks[c], self._maxes[c]

    def search(self, query: str, limit: int = 50) -> list[Hit]:
        """At most ``limit`` hits, best first; each attendee once, at their best tier."""
        raw = query.strip()
        q = normalise(query)
        if not q or limit <= 0:
            return []
        hits: list[Hit] = []
        seen: set[str] = set()
        # Generators: a tier does no work at all unless the ones before it left room.
        tiers = (
            self._exact(raw, q),
            self._name_prefix(q),
            self._word_prefixes(q),
            self._name_contains(q),
            self._other_contains(q),
        )
        for rank, candidates in enumerate(tiers):
            for (_, attendee_id), field in candidates:
                if attendee_id not in seen:
                    seen.add(attendee_id)
                    hits.append(Hit(attendee_id, rank, field))
                    if len(hits) == limit:
                        return hits
        return hits

    # -- tiers: each yields ((name, id), field) in key order; search() drops people already found

    def _exact(self, raw: str, q: str) -> Iterator[tuple[tuple[str, str], str]]:
        found: dict[str, str] = {}
        for attendee_id in self._by_qr.get(raw, ()):
            found.setdefault(attendee_id, "qr")
        if match := _REG_NO.fullmatch(raw):
            for attendee_id in self._by_reg_no.get(int(match[1]), ()):
                found.setdefault(attendee_id, "reg_no")
        for attendee_id in self._by_email.get(q, ()):
            found.setdefault(attendee_id, "email")
        for key in sorted(self._entries[attendee_id].key for attendee_id in found):
            yield key, found[key[1]]

    def _name_prefix(self, q: str) -> Iterator[tuple[tuple[str, str], str]]:
        probe = ((q,),)  # sorts just before the first entry whose name is q or starts with it
        for chunk in self._chunks[bisect_left(self._maxes, (q,)) :]:
            entries = chunk.entries
            for i in range(bisect_left(entries, probe), len(entries)):
                if not entries[i].name.startswith(q):
                    return
                yield entries[i].key, "name"

    def _word_prefixes(self, q: str) -> Iterator[tuple[tuple[str, str], str]]:
        query_words = name_words(q)
        if not query_words:
            return  # e.g. "-": no words, so no word can start anything
        # Each query word needs as many name words starting with it as there are query words starting with
        # it ("an ann" needs two starting "an"). Two query words start either the same name words (one starts
        # the other) or disjoint ones, so this count test (Hall's condition) is exactly "each query word
        # starts a different name word". In a word line, " an" occurs once per word starting with "an".
        needs = [(" " + w, sum(v.startswith(w) for v in query_words)) for w in set(query_words)]
        # Scan for the rarest word and check the others per line: Python runs once per person having the
        # scanned word. Rarity is estimated on a sample of lines (a full count would cost a scan); a word
        # needed n times is scanned for its repeats, so it counts as about n times rarer.
        single = len(needs) == 1
        if single:
            scan, times = needs[0]
        else:
            samples = [chunk.word_sample() for chunk in self._chunks]
            scan, times = min(needs, key=lambda need: sum(s.count(need[0]) for s in samples) / need[1])
        for chunk in self._chunks:
            for line, _, _ in _scan(chunk.text("word_line"), scan, times):
                entry = chunk.entries[line]
                if single or all(entry.word_line.count(w) >= n for w, n in needs):
                    yield entry.key, "name"

    def _name_contains(self, q: str) -> Iterator[tuple[tuple[str, str], str]]:
        for chunk in self._chunks:
            for line, _, _ in _scan(chunk.text("name"), q):
                yield chunk.entries[line].key, "name"

    def _other_contains(self, q: str) -> Iterator[tuple[tuple[str, str], str]]:
        for chunk in self._chunks:
            text = chunk.text("other_line")
            for line, pos, end in _scan(text, q):
                # Lines are "email\tcompany" and a query holds no tab: a tab after the match means the email.
                yield chunk.entries[line].key, "email" if text.find("\t", pos, end) >= 0 else "company"

    # -- upkeep

    def _chunk_for(self, key: tuple[str, str]) -> int:
        """The chunk holding ``key``, or where it belongs (the last chunk for keys beyond every chunk)."""
        return min(bisect_left(self._maxes, key), len(self._chunks) - 1)

    def _link_exact(self, entry: _Entry) -> None:
        for table, value in self._exact_keys(entry):
            table[value] = (*table.get(value, ()), entry.key[1])

    def _exact_keys(self, entry: _Entry) -> Iterator[tuple[dict, object]]:
        if entry.qr:
            yield self._by_qr, entry.qr
        if entry.reg_no is not None:
            yield self._by_reg_no, entry.reg_no
        if entry.email:
            yield self._by_email, entry.email
