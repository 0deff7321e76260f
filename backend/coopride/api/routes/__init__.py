"""One router per area. Each handler is a thin adapter: it takes the request's shape and the caller,
hands plain values to a service (`coopride.services`), commits, and returns the response shape."""
