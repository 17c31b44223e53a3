"""Users, roles and what each role may do; logins, sessions and API tokens."""
