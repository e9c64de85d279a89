"""Hypothesis profiles.

* ``default`` (what a plain ``pytest`` uses) and ``ci``: derandomized, so every run on every
  machine draws the same examples and a red run is reproducible; a bounded number of
  examples; no deadline (a shared 2-core runner must not turn slowness into failures).
* ``deep`` (``HYPOTHESIS_PROFILE=deep pytest``): fresh random examples, several hundred per
  property, to run before a change is called done; what it finds is a bug to fix, not a seed
  to pin. ``HYPOTHESIS_SEED``-free: each run explores anew.

Failures print a reproduction blob either way.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_SLOW = [HealthCheck.too_slow]
settings.register_profile("ci", derandomize=True, max_examples=30, deadline=None,
                          print_blob=True, suppress_health_check=_SLOW)
settings.register_profile("default", parent=settings.get_profile("ci"))
settings.register_profile("deep", max_examples=300, deadline=None, print_blob=True,
                          suppress_health_check=_SLOW + [HealthCheck.data_too_large])
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "default")
settings.load_profile(PROFILE)
