"""xrayview: a desktop X-ray enhancement viewer (super-resolution, dehazing, reader studies).

This module holds the version only and imports nothing heavy.
"""

__version__ = "0.1.0"
