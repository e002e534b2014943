"""Helpers shared by the service tests: processes, services, signed webhooks."""
