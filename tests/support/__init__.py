"""Code shared by the test tiers and the benchmarks: builders, waits, the API proxy, podrun."""
