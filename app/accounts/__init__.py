"""Accounts: customers, staff and admins; login, registration and password reset."""
