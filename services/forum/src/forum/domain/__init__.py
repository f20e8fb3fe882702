"""Pure forum rules: no MongoDB, no Kafka, no FastAPI."""
