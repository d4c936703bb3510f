//! Who is calling: the identity a validated access token stands for, and the check of a route's
//! permissions against it.

use crate::error::{Error, ErrorKind};
use crate::permissions::Permissions;

/// The caller of one request, as established by a validated access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The tenant the token was issued for (`tid`).
    pub tenant_id: String,
    /// The application the token was issued to (`appid`).
    pub client_id: String,
    /// A signed-in user (delegated) or the application itself (app-only).
    pub kind: PrincipalKind,
}

/// Delegated or application access.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalKind {
    /// A user signed in to an application: delegated scopes (`scp`).
    User {
        /// The user's object id (`oid`).
        user_id: String,
        /// Granted delegated scopes.
        scopes: Vec<String>,
    },
    /// The application acting as itself: application roles (`roles`).
    App {
        /// Granted application permissions.
        roles: Vec<String>,
    },
}

impl Principal {
    /// The signed-in user's id, for delegated tokens.
    pub fn user_id(&self) -> Option<&str> {
        match &self.kind {
            PrincipalKind::User { user_id, .. } => Some(user_id),
            PrincipalKind::App { .. } => None,
        }
    }

    /// Whether the token grants `name` (a delegated scope or an application role, by kind),
    /// compared case-insensitively as the identity platform does.
    pub fn has(&self, name: &str) -> bool {
        let granted = match &self.kind {
            PrincipalKind::User { scopes, .. } => scopes,
            PrincipalKind::App { roles } => roles,
        };
        granted.iter().any(|g| g.eq_ignore_ascii_case(name))
    }

    /// Refuses the call unless the token carries one of the permissions that allow it.
    pub fn require(&self, perms: &Permissions) -> Result<(), Error> {
        let allowed = match &self.kind {
            PrincipalKind::User { .. } => perms.delegated,
            PrincipalKind::App { .. } => perms.application,
        };
        if allowed.is_empty() {
            return Err(match &self.kind {
                PrincipalKind::App { .. } => Error::new(
                    ErrorKind::Forbidden,
                    perms.family_code(),
                    "This operation is not supported with application permissions; it requires a signed-in user (delegated permissions).",
                ),
                PrincipalKind::User { .. } => Error::new(
                    ErrorKind::Forbidden,
                    perms.family_code(),
                    "This operation requires application permissions; it is not supported with delegated permissions.",
                ),
            });
        }
        if allowed.iter().any(|p| self.has(p)) {
            Ok(())
        } else {
            Err(Error::insufficient_privileges(perms.family))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::permissions;

    fn app(roles: &[&str]) -> Principal {
        Principal {
            tenant_id: "t".into(),
            client_id: "c".into(),
            kind: PrincipalKind::App {
                roles: roles.iter().map(|r| r.to_string()).collect(),
            },
        }
    }

    #[test]
    fn roles_are_checked_case_insensitively() {
        assert!(
            app(&["user.read.all"])
                .require(&permissions::USERS_READ)
                .is_ok()
        );
        let err = app(&["Mail.Send"])
            .require(&permissions::USERS_READ)
            .unwrap_err();
        assert_eq!(err.code, "Authorization_RequestDenied");
    }

    #[test]
    fn delegated_only_routes_refuse_apps() {
        let err = app(&["User.Read.All"])
            .require(&permissions::ME_READ)
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Forbidden);
    }
}
