"""The server process freezes its start-up objects and collects young objects less often (in a child
process: the test process must keep its own collector as it is)."""

from __future__ import annotations

import subprocess
import sys


def test_a_server_process_freezes_what_start_up_loaded():
    code = (
        "import gc\n"
        "from focusdesk.server.app import create_app\n"
        "from focusdesk.server.gc_tuning import YOUNG_THRESHOLD, freeze_startup_objects\n"
        "create_app()\n"
        "frozen = freeze_startup_objects()\n"
        "assert frozen == gc.get_freeze_count() > 10_000, frozen\n"
        "assert gc.get_threshold()[0] == YOUNG_THRESHOLD\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
