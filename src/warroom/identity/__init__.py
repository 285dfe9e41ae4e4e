"""Identity: single sign-on with OpenID Connect, group rules mapping to roles and teams, SCIM provisioning."""
