"""The enhancement pipeline and its parts (recipe, super-resolution, tiling, dehazing,
stop rule, self-ensemble). Import the modules themselves: ``stop_rule`` and ``recipe``
are free of torch (the viewer builds its controls from them at start-up), the others
are not; this package file imports nothing."""
