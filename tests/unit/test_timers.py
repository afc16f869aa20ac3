"""The room timer's state machine (domain/timers.py): what organizers and room screens rely on."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from focusdesk.domain.errors import DomainError
from focusdesk.domain.timers import (
    BREAK,
    IDLE,
    PAUSED,
    POMODORO,
    RUNNING,
    WORK,
    TimerState,
    advance,
    apply,
    in_warning,
    remaining,
    time_is_up,
)

T0 = 1_795_000_000.0


def started(duration_s: float = 600, at: float = T0) -> TimerState:
    return apply(TimerState(), {"op": "start", "duration_s": duration_s}, at)


def test_a_countdown_runs_pauses_resumes_and_resets():
    timer = started(600)
    assert timer.status == RUNNING and remaining(timer, T0 + 100) == 500
    paused = apply(timer, {"op": "pause"}, T0 + 100)
    assert paused.status == PAUSED and remaining(paused, T0 + 10_000) == 500  # a paused timer does not move
    resumed = apply(paused, {"op": "resume"}, T0 + 200)
    assert resumed.status == RUNNING and remaining(resumed, T0 + 250) == 450
    reset = apply(resumed, {"op": "reset"}, T0 + 300)
    assert reset.status == IDLE and remaining(reset, T0 + 999) == 600  # back to its full length


def test_the_last_minute_warns_and_zero_is_time_up_until_reset():
    timer = started(120)
    assert not in_warning(timer, T0 + 30)
    assert in_warning(timer, T0 + 61)
    assert not time_is_up(timer, T0 + 119) and time_is_up(timer, T0 + 120)
    assert remaining(timer, T0 + 5000) == 0 and time_is_up(timer, T0 + 5000)


@pytest.mark.parametrize(
    ("setup", "command", "code"),
    [
        (lambda: started(), {"op": "start"}, "already_running"),
        (lambda: apply(started(), {"op": "pause"}, T0 + 1), {"op": "start"}, "paused"),
        (lambda: TimerState(), {"op": "pause"}, "not_running"),
        (lambda: started(), {"op": "resume"}, "not_paused"),
        (lambda: TimerState(), {"op": "reset"}, "already_idle"),
        (lambda: TimerState(), {"op": "adjust", "delta_s": 60}, "not_started"),
        (lambda: started(100), {"op": "adjust", "delta_s": -200}, "too_much"),
        (lambda: started(), {"op": "configure", "mode": POMODORO}, "not_idle"),
        (lambda: TimerState(), {"op": "start", "preset": "nope"}, "unknown_preset"),
        (lambda: TimerState(), {"op": "start", "duration_s": 0}, "invalid_input"),
        (lambda: TimerState(), {"op": "message", "text": "x" * 201}, "invalid_input"),
        (lambda: TimerState(), {"op": "explode"}, "unknown_command"),
    ],
)
def test_impossible_commands_are_refused_with_a_reason(setup, command, code):
    with pytest.raises(DomainError) as refused:
        apply(setup(), command, T0 + 10)
    assert refused.value.code == code and refused.value.message


def test_adding_and_taking_away_a_minute():
    timer = started(600)
    assert remaining(apply(timer, {"op": "adjust", "delta_s": 60}, T0 + 100), T0 + 100) == 560
    assert remaining(apply(timer, {"op": "adjust", "delta_s": -60}, T0 + 100), T0 + 100) == 440
    paused = apply(timer, {"op": "pause"}, T0 + 100)
    assert remaining(apply(paused, {"op": "adjust", "delta_s": 60}, T0 + 200), T0 + 900) == 560


def test_a_pomodoro_turns_work_into_break_and_counts_cycles_without_anyone_ticking_it():
    timer = apply(TimerState(), {"op": "start", "preset": "pomodoro-25-5"}, T0)
    assert timer.mode == POMODORO
    at = {0: (WORK, 0, 1500), 1500: (BREAK, 1, 300), 1800: (WORK, 1, 1500), 3300: (BREAK, 2, 300)}
    for offset, (phase, cycle, left) in at.items():
        now = advance(timer, T0 + offset)
        assert (now.phase, now.cycle, remaining(timer, T0 + offset)) == (phase, cycle, left)
    # Ten hours later: still exact (whole rounds are skipped by arithmetic).
    assert remaining(timer, T0 + 10 * 1800 + 5) == 1495


def test_configure_a_pomodoro_while_idle_and_messages_any_time():
    timer = apply(TimerState(), {"op": "configure", "mode": POMODORO, "work_s": 50 * 60, "break_s": 600}, T0)
    timer = apply(timer, {"op": "start"}, T0)
    assert timer.mode == POMODORO and remaining(timer, T0 + 3000) == 600  # in the break
    timer = apply(timer, {"op": "message", "text": "  Questions at the end  "}, T0 + 1)
    assert timer.message == "Questions at the end"
    assert TimerState.from_dict(timer.to_dict()) == timer


COMMANDS = st.sampled_from(
    [
        {"op": "start", "duration_s": 300},
        {"op": "start", "preset": "pomodoro-25-5"},
        {"op": "pause"},
        {"op": "resume"},
        {"op": "reset"},
        {"op": "adjust", "delta_s": 60},
        {"op": "adjust", "delta_s": -60},
    ]
)


@settings(max_examples=200, deadline=None)
@given(
    steps=st.lists(st.tuples(COMMANDS, st.floats(0, 4000)), max_size=25),
    offsets=st.lists(st.tuples(st.floats(-30, 30), st.floats(0, 0.05)), min_size=2, max_size=5),
    look=st.floats(0, 20_000),
)
def test_desks_with_different_clocks_agree_within_their_offset_errors(steps, offsets, look):
    """The server applies commands in its order (refusals change nothing); each desk computes the remaining
    time from its own clock corrected by its measured offset, which is off by at most its error."""
    state, now = TimerState(), T0
    for command, gap in steps:
        now += gap
        try:
            state = apply(state, command, now)
        except DomainError:
            continue  # refused: the state stays what it was
    server_now = now + look
    truth = remaining(state, server_now)
    for true_offset, error in offsets:
        desk_clock = server_now - true_offset  # what the desk's own clock reads at that moment
        measured_offset = true_offset + error  # what it measured, off by at most ``error``
        desk_estimate = desk_clock + measured_offset
        seen = remaining(state, desk_estimate)
        same_phase = advance(state, server_now).started_at == advance(state, desk_estimate).started_at
        if same_phase:
            assert abs(seen - truth) <= error + 1e-6
        else:
            # A pomodoro phase ended between the two instants: the desk shows the next phase early, by
            # no more than its error — the true phase's end lies inside that window.
            true_phase = advance(state, server_now)
            assert server_now < true_phase.started_at + true_phase.duration <= desk_estimate + 1e-6
