"""What a service is (`spec`) and the one factory that builds it (`factory`)."""
