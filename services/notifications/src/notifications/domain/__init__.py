"""Pure rules of the notifications service (no Mongo, no Kafka, no FastAPI)."""
