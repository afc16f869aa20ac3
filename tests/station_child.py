"""A desk process for kill -9 tests: checks people in as fast as it can and says so after each action.

    python -m tests.station_child SERVER_URL TOKEN STATION_ID DB_PATH EVENT_ID ATTENDEE_ID...

Each line ``returned <cmd_seq> <attendee_id>`` is printed (and flushed) only after the action returned,
i.e. after its local transaction committed. The sync loop runs (live channel) the whole time, so a kill
lands anywhere: mid-action, mid-send, between an answer and its recording.
"""

from __future__ import annotations

import asyncio
import sys

from focusdesk.station.api import ServerApi
from focusdesk.station.engine import Station
from focusdesk.station.sync import SyncLoop


async def main(url: str, token: str, station_id: str, db_path: str, event_id: int, people: list[str]) -> None:
    station = Station.open(station_id=station_id, station_name="Child", event_id=event_id, path=db_path)
    api = ServerApi(url, token)
    sync = SyncLoop(station, api, live=True, backoff_base_s=0.05, backoff_cap_s=0.5)
    sync.start()
    while station.cursor().seq is None:  # a new desk acts once it has its replica
        await asyncio.sleep(0.01)
    print("ready", flush=True)
    for attendee_id in people:
        result = station.check_in(attendee_id)
        print(f"returned {result.cmd_seq} {attendee_id}", flush=True)
        await asyncio.sleep(0.002)  # let the sender run between actions
    print("done", flush=True)
    await asyncio.sleep(3600)


if __name__ == "__main__":
    url, token, station_id, db_path, event_id, *people = sys.argv[1:]
    asyncio.run(main(url, token, station_id, db_path, int(event_id), people))
