"""Listening's pure domain: no MongoDB, no Kafka, no FastAPI."""
