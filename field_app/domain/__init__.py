"""Pure domain code: models, vocabularies, eligibility and geography. No UI, no I/O, no clock."""
