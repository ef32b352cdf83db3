"""Suite-wide settings.

Hypothesis runs derandomised (the same examples every run, so CI is
reproducible) and without per-example deadlines (timing belongs to the
benchmarks, and the 2-core machine may be busy).
"""

from hypothesis import settings

settings.register_profile("volresearch", deadline=None, derandomize=True, print_blob=True)
settings.load_profile("volresearch")
