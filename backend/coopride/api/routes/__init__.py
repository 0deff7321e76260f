"""One router per area; each handler checks who may call it, then hands over to a plain module."""
