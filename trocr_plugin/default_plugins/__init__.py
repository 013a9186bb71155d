"""The built-in implementations, registered through the same hooks as third-party plugins."""
