-- Applications registered through Graph (POST /applications) keep their redirect URIs by
-- platform: `redirect_uris` stays the list of every registered URI (what sign-in checks), and these
-- say which of them are single-page-app and public-client (native) URIs; the rest are web URIs.
-- Lists are JSON arrays (TEXT).

ALTER TABLE applications ADD COLUMN spa_redirect_uris TEXT NOT NULL DEFAULT '[]';
ALTER TABLE applications ADD COLUMN public_client_redirect_uris TEXT NOT NULL DEFAULT '[]';
