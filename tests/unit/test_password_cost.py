"""Staff passwords are stored with the production argon2id cost (the test templates' cheap demo hashes
are a test-only shortcut, tests/conftest.py), and a cheap hash still verifies through the same code."""
from __future__ import annotations

from argon2 import extract_parameters
from argon2.profiles import RFC_9106_LOW_MEMORY

from hall_queue.access.auth import hash_password, verify_password


def test_production_hash_has_at_least_the_rfc_9106_low_memory_cost():
    stored = hash_password("a-staff-password")
    params = extract_parameters(stored)
    assert stored.startswith("$argon2id$")
    assert params.memory_cost >= 64 * 1024  # KiB: 64 MiB per check
    assert params.time_cost >= RFC_9106_LOW_MEMORY.time_cost
    assert params.parallelism >= 1
    assert verify_password(stored, "a-staff-password")
    assert not verify_password(stored, "a-staff-passwore")


def test_the_tests_cheap_demo_hash_verifies_and_is_cheaper_than_production():
    from tests.conftest import CHEAP_TEST_HASHER

    cheap = CHEAP_TEST_HASHER.hash("onevisit-demo")
    assert verify_password(cheap, "onevisit-demo") and not verify_password(cheap, "onevisit-demX")
    assert extract_parameters(cheap).memory_cost < extract_parameters(hash_password("onevisit-demo")).memory_cost
