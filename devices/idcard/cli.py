"""``onevisit devices read-idcard``: read one card and describe it as one JSON-ready object."""
from __future__ import annotations

from devices.base import DeviceError, DeviceURL, UnsupportedDeviceURL
from devices.idcard import open_reader

EXIT_OK = 0
EXIT_DEVICE = 1
EXIT_USAGE = 2


def _error(e: DeviceError) -> dict:
    return {"error": {"code": e.code, "message": str(e)}}


def read_idcard(url: str, timeout: float = 10.0, reveal: bool = False) -> tuple[dict, int]:
    """Wait up to ``timeout`` seconds for a card, read it and return (object, exit code).

    Names and document numbers are masked unless ``reveal``. ``sim://`` without ``card=``
    presents the sample resident card, so the command shows something on a bare machine.

    :param url: the reader's device URL.
    :param timeout: seconds to wait for a card.
    :param reveal: print names and numbers unmasked.
    """
    try:
        parsed = DeviceURL.parse(url)
        reader = open_reader(url)
    except UnsupportedDeviceURL as e:
        return _error(e), EXIT_USAGE
    except DeviceError as e:
        return _error(e), EXIT_DEVICE
    try:
        if parsed.scheme == "sim" and not parsed.query.get("card"):
            reader.simulator.present("resident")
        card = reader.wait_for_card(timeout)
    except DeviceError as e:
        return _error(e), EXIT_DEVICE
    finally:
        reader.close()
    shown = card if reveal else card.masked()
    return shown.as_dict(), EXIT_OK
