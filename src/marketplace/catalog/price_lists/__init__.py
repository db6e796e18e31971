"""A supplier's buyer groups and price lists, and the one pricing function (`service.quote`)."""
