"""Quality control: the national 120 indicators computed from what the hub records."""
