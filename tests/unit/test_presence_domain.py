"""The presence rules: what a report may hold, what is news, what the board calls a problem."""

from __future__ import annotations

import pytest

from focusdesk.domain.errors import DomainError
from focusdesk.domain.presence import (
    PRINTER_STATES,
    DeskPresence,
    board_order,
    describe,
    is_news,
    parse_report,
    per_minute,
    problems,
)
from printers.errors import PrinterState


def report(**fields):
    return parse_report({"version": "0.1.0", **fields})


def test_the_printer_states_a_report_may_name_are_the_printers_packages():
    assert {s.value for s in PrinterState} == PRINTER_STATES


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"queued": -1}, "queued"),
        ({"stuck": 1.5}, "stuck"),
        ({"attention": True}, "attention"),
        ({"clock_offset_ms": "soon"}, "clock_offset_ms"),
        ({"clock_offset_ms": float("nan")}, "clock_offset_ms"),
        ({"printer": "B1"}, "printer"),
        ({"printer": {"model": "B1", "state": "melted"}}, "printer.state"),
        ({"printer": {"model": "", "state": "ready"}}, "model"),
        ({"printer": {"model": "B1", "state": "ready", "battery_percent": 101}}, "printer.battery_percent"),
        ({"version": ""}, "version"),
        ({"version": "x" * 121}, "version"),
    ],
)
def test_a_bad_report_is_refused_naming_the_field(fields, field):
    with pytest.raises(DomainError) as err:
        parse_report({"version": "0.1.0", **fields})
    assert err.value.code == "invalid" and err.value.message.startswith(field + ":")


def test_a_report_that_is_not_an_object_is_refused():
    with pytest.raises(DomainError):
        parse_report(["version"])


def test_news_is_what_a_person_would_act_on_not_jitter():
    base = report(queued=0, clock_offset_ms=120)
    assert is_news(None, base)
    assert not is_news(base, report(queued=0, clock_offset_ms=450))  # clock jitter
    assert is_news(base, report(queued=0, clock_offset_ms=2_000))
    assert is_news(base, report(queued=1, clock_offset_ms=120))  # the queue started filling
    busy = report(queued=3, clock_offset_ms=120)
    assert not is_news(busy, report(queued=5, clock_offset_ms=120))  # a rush, not news
    assert is_news(busy, report(queued=13, clock_offset_ms=120))  # piling up
    assert is_news(base, report(stuck=1, queued=1, clock_offset_ms=120))
    printer = {"model": "Niimbot B1", "state": "ready"}
    assert is_news(report(printer=printer), report(printer={**printer, "state": "no_paper"}))


def desk(name: str, state: str = "online", **fields) -> DeskPresence:
    return DeskPresence(f"id-{name}", name, state, 100.0, 90.0, report(**fields) if fields else None)


def test_problems_come_worst_first_and_healthy_desks_have_none():
    ok = desk("Ok", printer={"model": "B1", "state": "ready"})
    assert problems(ok) == []
    paperless = desk("Paper", printer={"model": "B1", "state": "no_paper"}, clock_offset_ms=-9_000, stuck=2)
    found = problems(paperless)
    assert [p.severity for p in found] == ["critical", "critical", "warning"]
    assert [p.text for p in found] == ["printer no paper", "2 stuck commands", "clock off by -9 s"]
    assert [p.text for p in problems(desk("Bare"))] == []
    assert [p.text for p in problems(desk("NoPrinter", queued=0))] == ["no printer paired"]
    gone = DeskPresence("id-gone", "Gone", "offline", 10.0, 70.0, None, "no report for 60 s")
    assert [p.text for p in problems(gone)] == ["offline (no report for 60 s)"]


def test_the_board_puts_critical_desks_first_then_warnings_then_healthy_ones_by_name():
    healthy = desk("A healthy", printer={"model": "B1", "state": "ready"})
    warned = desk("B warned", printer={"model": "B1", "state": "low_battery"})
    broken = desk("C broken", printer={"model": "B1", "state": "cover_open"})
    gone = DeskPresence("id-z", "Z gone", "offline", 10.0, 70.0, None, "no report for 60 s")
    closed = DeskPresence("id-0", "0 closed", "offline", 10.0, 70.0, None, "signed off")
    assert [d.name for d in board_order([closed, healthy, warned, broken, gone])] == [
        "C broken",
        "Z gone",
        "B warned",
        "A healthy",
        "0 closed",  # signed off on purpose: not a problem, at the bottom
    ]


def test_a_desk_that_signed_off_is_no_problem_unless_it_left_commands_queued():
    closed = DeskPresence(
        "id", "D", "offline", 10.0, 70.0, report(printer={"model": "B1", "state": "no_paper"}), "signed off"
    )
    assert problems(closed) == []
    left = DeskPresence("id", "D", "offline", 10.0, 70.0, report(queued=3), "signed off")
    assert [(p.severity, p.text) for p in problems(left)] == [("warning", "closed with 3 queued")]


def test_a_history_line_says_the_state_and_what_was_wrong():
    assert describe(desk("D", printer={"model": "B1", "state": "ready"})) == "online · printer ready"
    assert describe(desk("D", queued=4, printer={"model": "B1", "state": "no_paper"})) == (
        "online · printer no paper · 4 queued"
    )
    gone = DeskPresence("id", "D", "offline", 10.0, 70.0, None, "signed off")
    assert describe(gone) == "offline (signed off)"


def test_check_ins_fall_in_their_minute_oldest_first():
    now = 60 * 1000 + 30  # half a minute into minute 1000
    times = [now, now - 20, 60 * 999 + 1, 60 * 986, 60 * 985 + 59, now + 60]
    assert per_minute(times, now, 15) == [1] + [0] * 12 + [1, 2]


def test_a_desk_round_trips_through_its_json():
    d = desk("Round", queued=2, printer={"model": "B1", "state": "ready", "battery_percent": 80})
    assert DeskPresence.from_json(d.to_json()) == d
