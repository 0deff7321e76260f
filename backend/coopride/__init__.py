"""CoopRide: a contributor-owned cooperative ride-sharing ledger."""
