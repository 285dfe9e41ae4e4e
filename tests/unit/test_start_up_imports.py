"""What a server or worker imports before it answers: libraries only a rare request or job needs load on
first use (warroom.identity.scim_api, warroom.identity.oidc; stix2 in warroom.intel.feeds and export,
stix2-matcher in warroom.intel.match), so every start skips them (0.5-0.6 s, and 0.75 s more for the STIX
libraries, of a `warroom serve` start here). tests/integration/test_scim.py, test_sso.py and test_intel.py
show they load when asked."""

from __future__ import annotations

import subprocess
import sys

import pytest

FIRST_USE_ONLY = ("scim2_models", "joserfc", "warroom.identity.scim_handlers", "stix2", "stix2matcher")


@pytest.mark.parametrize("module", ["warroom.app", "warroom.wiring"])
def test_starting_imports_none_of_what_loads_on_first_use(module: str) -> None:
    probe = f"import sys, {module}; print(' '.join(m for m in {FIRST_USE_ONLY!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "", f"importing {module} loaded {done.stdout.strip()}"
