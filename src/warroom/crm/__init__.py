"""HubSpot: customer tickets as an incident's customer context, and its status written back to them."""
