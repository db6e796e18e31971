"""Live updates: the WebSocket endpoint, the per-process hub and the bus between processes."""
