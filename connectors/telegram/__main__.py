"""``python -m connectors.telegram``: the Telegram command line (:mod:`connectors.telegram.cli`)."""

import sys

from connectors.telegram.cli import main

sys.exit(main())
