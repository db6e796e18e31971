"""Outbound webhooks: signed, retried deliveries of a company's events to its endpoints."""
