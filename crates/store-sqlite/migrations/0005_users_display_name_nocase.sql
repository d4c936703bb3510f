-- `startswith(displayName, '…')` is case-insensitive, so the filter compiler adds a range on
-- `display_name COLLATE NOCASE`; this index is what that range seeks (the binary-collated
-- `users_display_name` serves `$orderby=displayName`). Without it a prefix filter reads the whole
-- directory of the tenant.
CREATE INDEX users_display_name_nocase ON users (tenant_id, display_name COLLATE NOCASE, id);
