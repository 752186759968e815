"""Privacy (PIPA): a contact's data exported or erased on request, retention, the public privacy page."""
