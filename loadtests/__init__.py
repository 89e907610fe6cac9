"""Locust load tests, the `make load` runner and the autoscaling preview."""
