"""What the cooperative does, one module per area, below the web layer: each function takes plain
values or domain types, reads and writes through the caller's database session (the caller commits),
reads the chain and relays to it, and refuses with an error from `errors`."""
