"""What the agent concluded about a call, and how that moves the contact on (see services)."""
