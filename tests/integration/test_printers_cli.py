"""`focusdesk printers …` as a technician uses it."""

from __future__ import annotations

import subprocess
import sys

import zxingcpp
from PIL import Image

from focusdesk.cli import main
from printers.badge import BadgeContent, render_badge
from printers.models import MODELS
from printers.raster import Bitmap

SECRET = "q8Zk3vN1xYp0T7wLmR2sAe"


def test_models_lists_one_model_per_line_with_dots_dpi_and_transport(capsys):
    assert main(["printers", "models"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == list(MODELS)
    b1 = next(line for line in lines if line.startswith("niimbot-b1 "))
    assert "384 dots" in b1 and "203 dpi" in b1 and "ble" in b1
    ql = next(line for line in lines if line.startswith("brother-ql820nwb "))
    assert "720 dots" in ql and "300 dpi" in ql and "tcp" in ql


def test_render_writes_the_exact_raster_the_printer_receives(tmp_path, capsys):
    out = tmp_path / "badge.png"
    argv = ["printers", "render", "--model", "niimbot-d110", "--name", "Zoë Ångström", "--company", "Acme"]
    assert main([*argv, "--ticket", "Staff", "--qr", SECRET, "--out", str(out)]) == 0
    assert "96×400 dots" in capsys.readouterr().out
    png = Image.open(out)
    assert png.mode == "1"
    expected = render_badge(
        BadgeContent(name="Zoë Ångström", second_line="Acme", ribbon="Staff", qr=SECRET), MODELS["niimbot-d110"]
    )
    assert Bitmap.from_image(png).difference(expected) is None
    assert [r.text for r in zxingcpp.read_barcodes(png.convert("L"))] == [SECRET]


def test_print_on_a_virtual_printer_reports_success_and_saves_what_it_decoded(tmp_path, capsys):
    decoded = tmp_path / "decoded.png"
    argv = ["printers", "print", "--model", "phomemo-d30", "--virtual", "--name", "김민준", "--qr", SECRET]
    assert main([*argv, "--decoded-out", str(decoded)]) == 0
    assert "Printed on Phomemo D30" in capsys.readouterr().out
    expected = render_badge(BadgeContent(name="김민준", qr=SECRET), MODELS["phomemo-d30"])
    assert Bitmap.from_image(Image.open(decoded)).difference(expected) is None


def test_test_print_and_status_on_a_virtual_network_printer(capsys):
    assert main(["printers", "test", "--model", "brother-ql820nwb", "--virtual"]) == 0
    assert "Printed on Brother QL-820NWB" in capsys.readouterr().out
    assert main(["printers", "status", "--model", "brother-ql820nwb", "--virtual"]) == 0
    assert "ready" in capsys.readouterr().out


def test_bad_input_gets_one_sentence_and_exit_status_2(capsys):
    assert main(["printers", "render", "--model", "nope", "--name", "x", "--out", "/dev/null"]) == 2
    err = capsys.readouterr().err
    assert "Unknown printer model 'nope'" in err and "niimbot-b1" in err
    assert main(["printers", "render", "--model", "niimbot-b1", "--media", "99x99", "--name", "x", "--out", "x"]) == 2
    assert "50x30" in capsys.readouterr().err
    long_secret = "x" * 120
    argv = ["printers", "render", "--model", "niimbot-d11", "--media", "12x40", "--name", "x", "--qr", long_secret]
    assert main([*argv, "--out", "/dev/null"]) == 2
    assert "QR" in capsys.readouterr().err


def test_an_unreachable_network_printer_fails_the_print_with_the_address():
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "focusdesk.cli",
            "printers",
            "print",
            "--model",
            "brother-ql820nwb",
            "--address",
            "127.0.0.1:9",
            "--name",
            "Ana Li",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "127.0.0.1:9" in result.stderr and "Traceback" not in result.stderr


def test_scan_without_bluetooth_says_so_plainly():
    """This machine has no Bluetooth stack (no D-Bus system bus); a desk must say that, not show a traceback."""
    import os

    if os.path.exists("/run/dbus/system_bus_socket") or os.path.exists("/var/run/dbus/system_bus_socket"):
        import pytest

        pytest.skip("this machine has a system D-Bus, so Bluetooth may be available here")
    result = subprocess.run(
        [sys.executable, "-m", "focusdesk.cli", "printers", "scan", "--timeout", "1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "Bluetooth is not available on this machine" in result.stderr
    assert "Traceback" not in result.stderr
