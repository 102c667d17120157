"""Referring a returnee to a partner's service: create, cancel, and the slip the returnee keeps."""
