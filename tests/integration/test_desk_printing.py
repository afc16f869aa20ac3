"""The desk's badge queue (station/printing.py) over the station file and a virtual printer."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from focusdesk.station.engine import Station
from focusdesk.station.model import Attendee
from focusdesk.station.printing import PrintQueue, badge_content
from printers.badge import render_badge
from printers.models import get_model
from printers.virtual.world import VirtualWorld

ANNA = Attendee(
    id="att-anna", event_id=1, registration_number=7, name="Anna Smith", email="anna@example.com",
    company="ACME", ticket_type="Speaker", custom={}, status="registered", qr_secret="q8Zk3vN1xYp0T7wLmR2sAe",
    checked_in=True, checked_in_at=time.time(), checked_in_station="Desk 2", checkin_count=1, pending=False,
)  # fmt: skip


def open_station(path) -> Station:
    return Station.open(station_id="desk-test", station_name="Desk 2", event_id=1, path=path)


@pytest.fixture
def station_path(tmp_path):
    return tmp_path / "station.db"


def test_the_paired_printer_is_remembered_by_the_station_file(station_path):
    async def run():
        async with VirtualWorld(["niimbot-b1"]) as world:
            station = open_station(station_path)
            PrintQueue(station).set_printer(world.target("niimbot-b1", media_id="40x30"))
            station.close()
            again = open_station(station_path)
            target = PrintQueue(again).printer()
            again.close()
            return target

    target = asyncio.run(run())
    assert target is not None and target.model_id == "niimbot-b1" and target.media_id == "40x30"


def test_a_queued_badge_prints_on_the_paired_printer_exactly_as_rendered(station_path):
    async def run():
        async with VirtualWorld(["niimbot-b1"]) as world:
            station = open_station(station_path)
            queue = PrintQueue(station, world.opener)
            queue.set_printer(world.target("niimbot-b1"))
            job_id = queue.enqueue_badge(ANNA)
            assert queue.job(job_id).state == "queued"
            assert await queue.print_next()
            assert not await queue.print_next()  # nothing left
            await queue.close()
            job = queue.job(job_id)
            printed = queue.badges_printed(ANNA.id)
            station.close()
            return job, printed, world.device("niimbot-b1")

    job, printed, device = asyncio.run(run())
    assert job.state == "printed" and job.attempts == 1 and job.error is None
    assert printed == 1
    expected = render_badge(badge_content(ANNA), get_model("niimbot-b1"))
    assert device.printed[-1].difference(expected) is None


def test_a_failed_badge_says_why_and_prints_when_retried(station_path):
    async def run():
        async with VirtualWorld(["phomemo-m110"]) as world:
            station = open_station(station_path)
            queue = PrintQueue(station, world.opener)
            queue.set_printer(world.target("phomemo-m110"))
            device = world.device("phomemo-m110")
            device.faults.paper_out = True
            job_id = queue.enqueue_badge(ANNA)
            await queue.print_next()
            failed = queue.job(job_id)
            status_after_failure = queue.printer_status
            device.faults.paper_out = False
            queue.retry(job_id)
            await queue.print_next()
            await queue.close()
            done = queue.job(job_id)
            station.close()
            return failed, status_after_failure, done

    failed, status, done = asyncio.run(run())
    assert failed.state == "failed" and failed.error_code == "no_paper"
    assert "out of labels" in failed.error
    assert status is not None and status.state.value == "no_paper"
    assert done.state == "printed" and done.attempts == 2


def test_without_a_printer_badges_wait_in_the_queue(station_path):
    async def run():
        station = open_station(station_path)
        queue = PrintQueue(station)
        job_id = queue.enqueue_badge(ANNA)
        printed_anything = await queue.print_next()
        state = queue.job(job_id).state
        station.close()
        return printed_anything, state

    assert asyncio.run(run()) == (False, "queued")


def test_a_badge_interrupted_by_a_crash_comes_back_failed_not_reprinted(station_path):
    station = open_station(station_path)
    queue = PrintQueue(station)
    job_id = queue.enqueue_badge(ANNA)
    with station.db.tx() as c:
        c.execute("UPDATE print_jobs SET state = 'printing', attempts = 1 WHERE id = ?", (job_id,))
    station.close()
    again = open_station(station_path)
    job = PrintQueue(again).job(job_id)
    again.close()
    assert job.state == "failed" and job.error_code == "interrupted"
    assert "may or may not have come out" in job.error


def test_only_unprinted_jobs_can_be_discarded_and_only_failed_ones_retried(station_path):
    station = open_station(station_path)
    queue = PrintQueue(station)
    queued = queue.enqueue_badge(ANNA)
    test_label = queue.enqueue_test()
    with pytest.raises(ValueError, match="not a failed job"):
        queue.retry(queued)
    queue.discard(queued)
    assert queue.job(queued) is None
    with station.db.tx() as c:
        c.execute("UPDATE print_jobs SET state = 'printed' WHERE id = ?", (test_label,))
    with pytest.raises(ValueError, match="cannot be discarded"):
        queue.discard(test_label)
    assert json.loads(station.db.get_meta("printer") or '""') == ""
    station.close()


def test_the_worker_prints_what_is_queued_while_it_runs(station_path):
    async def run():
        async with VirtualWorld(["niimbot-d110"]) as world:
            station = open_station(station_path)
            queue = PrintQueue(station, world.opener, status_every_s=60)
            queue.set_printer(world.target("niimbot-d110"))
            worker = asyncio.create_task(queue.run())
            ids = [queue.enqueue_badge(ANNA), queue.enqueue_test()]
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and any(queue.job(i).state != "printed" for i in ids):
                await asyncio.sleep(0.05)
            states = [queue.job(i).state for i in ids]
            worker.cancel()
            await asyncio.gather(worker, return_exceptions=True)
            station.close()
            return states, len(world.device("niimbot-d110").printed)

    states, printed = asyncio.run(run())
    assert states == ["printed", "printed"]
    assert printed == 2
