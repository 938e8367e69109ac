"""One script per framework; each runs a single case in its own process and prints one JSON line."""
