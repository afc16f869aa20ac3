"""The live channel: hub, per-connection queues, and the /api/v1/live endpoint."""
