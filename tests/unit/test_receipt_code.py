"""The kiosk's scanner types the receipt's QR (a progress-page URL); the agent takes the look-up code out of it."""
from kiosk.agent import receipt_code


def test_the_receipt_qr_as_the_scanner_types_it_gives_the_code():
    assert receipt_code("https://hall.example.cn/c/AbC_d-1234567890xyzQ\n") == "AbC_d-1234567890xyzQ"
    assert receipt_code("/c/AbC_d-1234567890xyzQ?x=1") == "AbC_d-1234567890xyzQ"
    assert receipt_code("  AbC_d-1234567890xyzQ ") == "AbC_d-1234567890xyzQ"
