"""One router per resource; each route is thin: parse, call a service, shape the answer."""
