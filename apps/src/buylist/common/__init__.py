"""Settings, logging, metrics, the HTTP error edge and the event schema shared by every component."""
