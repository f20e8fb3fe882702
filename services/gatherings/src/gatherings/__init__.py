"""Gatherings service: online community events, a special guest, and verifiable giveaways."""
