"""The category tree: staff edit it, everyone reads it (cached), products are filed in it."""
