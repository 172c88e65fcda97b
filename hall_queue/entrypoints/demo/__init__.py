"""The demo hall: ≥ 10 windows of five kinds, A/B clerks, 31 items in 7 fields, two bundles, device tokens.
"""
