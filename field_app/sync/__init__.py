"""Sync between the device and the hub: wire protocol, backoff, client, engine."""
