"""``python -m hoody_claims.gate ...`` — the same as ``hoody-claims gate ...``."""

import sys

from .cli import main

sys.exit(main())
