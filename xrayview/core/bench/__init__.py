"""The benchmark behind ``xrayview bench``: runner, timed items, layer arithmetic."""
