"""Shared test set-up."""

collect_ignore_glob = ["../fixtures/*"]
