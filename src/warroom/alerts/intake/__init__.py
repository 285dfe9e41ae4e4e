"""One module per wire format: each turns a sender's request into normalised AlertEventIn values."""
