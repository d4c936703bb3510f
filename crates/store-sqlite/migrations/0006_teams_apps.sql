-- The Teams app catalogue and apps installed in chats: what the tables of 0003 lacked.
--
-- teams_app_definitions gains what a manifest says about the app's identity and the
-- resource-specific permissions it asks for (Graph's `authorization`); installations get an index
-- by app (for removing an app from the catalogue) and a view for filtering. Lists are JSON arrays
-- (TEXT); instants are epoch milliseconds.

ALTER TABLE teams_app_definitions ADD COLUMN azure_ad_app_id TEXT;
ALTER TABLE teams_app_definitions ADD COLUMN required_permissions TEXT NOT NULL DEFAULT '[]';

CREATE INDEX chat_installed_apps_app ON chat_installed_apps (teams_app_id);

-- Installations with their catalogue app and installed definition, for
-- `$filter=teamsApp/externalId eq '…'` on a chat's installedApps.
CREATE VIEW chat_installed_app_view AS
    SELECT i.id, i.chat_id, i.teams_app_id, i.definition_id, i.bound_chat_id, i.permissions, i.created_ms,
           a.external_id AS app_external_id, a.display_name AS app_display_name,
           a.distribution_method AS app_distribution_method,
           d.version AS definition_version, d.display_name AS definition_display_name
    FROM chat_installed_apps AS i
    JOIN teams_apps AS a ON a.id = i.teams_app_id
    JOIN teams_app_definitions AS d ON d.id = i.definition_id;
