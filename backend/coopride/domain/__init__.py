"""Domain logic with no HTTP or database: geography, regions, pricing, trace checks, matching."""
