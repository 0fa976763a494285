"""Payment channels: the adapter interface and its implementations."""
