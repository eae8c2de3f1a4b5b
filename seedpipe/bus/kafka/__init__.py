"""The Kafka bus (aiokafka): ``kafka://host:9092``; consumer groups, batch sends, TLS/SASL."""
