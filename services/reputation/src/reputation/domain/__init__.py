"""Pure reputation rules (SPEC 4): no MongoDB, no Kafka."""
