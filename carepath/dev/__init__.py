"""Running Carepath on one machine: the platform runner and its supervisor, the embedded and Apache
Kafka brokers, the demo and its HTTP client."""
