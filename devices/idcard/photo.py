"""Hook for turning the card's 1024-byte WLT photo into an image.

The photo file on every card type is in WLT format (GA/T 490 "机读相片", described in patent
CN1779717A). Its decoders are closed vendor binaries shipped with each reader (for example a
``libwlt.so`` / ``WltRS.dll`` exposing a ``decode(wlt) -> bmp`` entry point), so this package
never decodes WLT itself: :class:`~devices.idcard.text.IdentityCard` keeps ``photo_wlt`` as
raw bytes and a kiosk that has a vendor library wraps it in a :class:`PhotoDecoder`::

    class VendorWlt:
        def __init__(self, path):
            self._lib = ctypes.CDLL(path)

        def decode(self, wlt: bytes) -> bytes:
            out = ctypes.create_string_buffer(38862)     # 102x126 24-bit BMP
            if self._lib.unpack(wlt, out, 1) != 1:
                raise PhotoDecodeError("vendor decoder rejected the WLT data")
            return out.raw

    image = decode_photo(card.photo_wlt, VendorWlt("/opt/vendor/libwlt.so"))

Without a decoder the kiosk shows no photo; nothing else depends on it.
"""
from __future__ import annotations

from typing import Protocol, runtime_checkable

from devices.idcard.frames import IdCardError


class PhotoDecodeError(IdCardError):
    """A vendor decoder could not decode a WLT photo."""

    code = "photo"


@runtime_checkable
class PhotoDecoder(Protocol):
    """Anything that turns WLT bytes into an image file's bytes (BMP, JPEG or PNG)."""

    def decode(self, wlt: bytes) -> bytes:
        """Decode one WLT photo.

        :param wlt: the 1024 bytes read from the card.
        :raises PhotoDecodeError: when the data cannot be decoded.
        """
        ...


def decode_photo(wlt: bytes, decoder: PhotoDecoder | None) -> bytes | None:
    """Decode a WLT photo with the configured vendor decoder, or return None without one.

    :param wlt: the raw photo file.
    :param decoder: a vendor decoder, or None when the kiosk has none.
    :raises PhotoDecodeError: when the decoder fails (its own errors are wrapped).
    """
    if decoder is None or not wlt:
        return None
    try:
        return decoder.decode(wlt)
    except PhotoDecodeError:
        raise
    except Exception as e:  # a vendor binding may raise anything; keep our error contract
        raise PhotoDecodeError(f"photo decoder failed: {e}") from e
