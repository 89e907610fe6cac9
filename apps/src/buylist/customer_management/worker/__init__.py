"""customer-management-worker: stores purchase events from Kafka in MongoDB."""
