"""rsad.auth.users."""
