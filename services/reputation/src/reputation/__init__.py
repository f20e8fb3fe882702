"""Reputation service."""
