"""A whole desk process (focusdesk.station.desk.Desk: sync loop, printer queue, presence reports) with a
virtual printer that is out of paper — for the "killed desk turns offline" test.

    python -m tests.desk_child SERVER_URL TOKEN STATION_ID STATION_NAME DB_PATH EVENT_ID

Prints ``ready`` once the desk has its replica and has reported its printer's state, then runs until killed.
"""

from __future__ import annotations

import asyncio
import sys

from focusdesk.station.api import ServerApi
from focusdesk.station.desk import Desk
from focusdesk.station.engine import Station
from focusdesk.station.printing import PrintQueue
from focusdesk.station.sync import SyncLoop
from printers.virtual.world import VirtualWorld


async def main(url: str, token: str, station_id: str, name: str, db_path: str, event_id: int) -> None:
    async with VirtualWorld(["niimbot-b1"]) as world:
        station = Station.open(station_id=station_id, station_name=name, event_id=event_id, path=db_path)
        api = ServerApi(url, token)
        printing = PrintQueue(station, world.opener)
        printing.set_printer(world.target("niimbot-b1"))
        world.device("niimbot-b1").faults.paper_out = True
        desk = Desk(station, api, SyncLoop(station, api, live=True, backoff_base_s=0.05, backoff_cap_s=0.5), printing)
        await desk.start()
        await printing.refresh_status()
        while station.cursor().seq is None or desk.presence.sent == 0:
            await asyncio.sleep(0.02)
        print("ready", flush=True)
        await asyncio.sleep(3600)


if __name__ == "__main__":
    url, token, station_id, name, db_path, event_id = sys.argv[1:]
    asyncio.run(main(url, token, station_id, name, db_path, int(event_id)))
