"""Hypothesis profiles. CI sets HYPOTHESIS_PROFILE=ci: derandomized (the same examples on
every run, so a red build is reproducible), a bounded number of examples, no deadline (a
shared 2-core runner must not turn slowness into failures). Locally the "dev" profile runs
more, random examples; failures print a reproduction blob either way."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", derandomize=True, max_examples=30, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=100, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
