"""The HTTP API's request and response shapes (pydantic), one module per area, and the validated types
they share (`types`). Shapes of a stored entity extend the table's base in `coopride.models`, so a
field list is written once."""
