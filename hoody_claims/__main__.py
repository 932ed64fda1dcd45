"""``python -m hoody_claims`` is the ``hoody-claims`` command."""

from .cli import main

raise SystemExit(main())
