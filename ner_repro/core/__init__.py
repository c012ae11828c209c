"""The contracts and services every stage uses; nothing here knows about a method or a figure.

errors (:class:`InputError`, the one error type for bad input), atomic (all-or-nothing file
writing), provenance (checksums, versions, device, run records, seeding), config (loading and
validating the configuration), session (the per-session ``.npz`` contract), embedding (the
per-run ``.npz`` contract), jobs (how a workflow job logs and fails), types (shared aliases).
"""
