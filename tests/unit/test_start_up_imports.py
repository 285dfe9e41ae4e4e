"""What a server or worker imports before it answers: libraries only a rare request needs load on first use
(warroom.identity.scim_api, warroom.identity.oidc), so every start skips them (0.5-0.6 s of a ~4 s
`warroom serve` start here). tests/integration/test_scim.py and test_sso.py show they load when asked."""

from __future__ import annotations

import subprocess
import sys

import pytest

FIRST_USE_ONLY = ("scim2_models", "joserfc", "warroom.identity.scim_handlers")


@pytest.mark.parametrize("module", ["warroom.app", "warroom.wiring"])
def test_starting_imports_none_of_what_loads_on_first_use(module: str) -> None:
    probe = f"import sys, {module}; print(' '.join(m for m in {FIRST_USE_ONLY!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "", f"importing {module} loaded {done.stdout.strip()}"
