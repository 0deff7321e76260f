"""Exactly-once settlement of co-signed trip receipts: batching, sending, confirming, reconciling."""
