"""The external API (/external-api/v1.0/, route `external_api`), for integrations such
as calendar plugins: an application exchanges its client credentials for a token that
acts for one user (token.py), then lists, reads, creates, changes and deletes that
user's rooms within the token's scopes (rooms.py). Its OpenAPI document is its own
(openapi.py); its 401 and 403 answers are errors.py's.
"""
