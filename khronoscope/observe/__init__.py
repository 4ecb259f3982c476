"""What an always-on recorder tells its operators: Prometheus metrics and health endpoints."""
