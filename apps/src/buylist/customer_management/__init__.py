"""customer-management: the worker that stores purchase events and the API that reads them back."""
