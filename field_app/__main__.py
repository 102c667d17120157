"""`python -m field_app` runs the `field-app` command."""

import sys

from field_app.cli import main

sys.exit(main())
