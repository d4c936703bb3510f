//! The permission matrix: for every Graph operation Switchboard serves, the delegated scopes and
//! the application roles that allow it (Graph's "least privileged" and every higher one). This
//! table is the single source of truth; `docs/permissions.md` prints it.

use crate::error::Family;

/// The permissions that allow one operation.
#[derive(Debug, Clone, Copy)]
pub struct Permissions {
    /// Whose error vocabulary a refusal uses.
    pub family: Family,
    /// Delegated scopes, any one of which allows the call; empty = not allowed for delegated tokens.
    pub delegated: &'static [&'static str],
    /// Application roles, any one of which allows the call; empty = not allowed for app-only tokens.
    pub application: &'static [&'static str],
}

impl Permissions {
    /// The 403 code of this operation's workload.
    pub fn family_code(&self) -> &'static str {
        match self.family {
            Family::Directory => "Authorization_RequestDenied",
            Family::Outlook => "ErrorAccessDenied",
            Family::Teams | Family::Protocol => "Forbidden",
        }
    }
}

/// `GET /me`.
pub const ME_READ: Permissions = Permissions {
    family: Family::Directory,
    delegated: &[
        "User.Read",
        "User.ReadWrite",
        "User.ReadBasic.All",
        "User.Read.All",
        "User.ReadWrite.All",
        "Directory.Read.All",
        "Directory.ReadWrite.All",
    ],
    application: &[],
};

/// `GET /users`, `GET /users/{id}`.
pub const USERS_READ: Permissions = Permissions {
    family: Family::Directory,
    delegated: &[
        "User.ReadBasic.All",
        "User.Read.All",
        "User.ReadWrite.All",
        "Directory.Read.All",
        "Directory.ReadWrite.All",
    ],
    application: &[
        "User.Read.All",
        "User.ReadWrite.All",
        "Directory.Read.All",
        "Directory.ReadWrite.All",
    ],
};

/// `POST /users`, `PATCH /users/{id}`, `DELETE /users/{id}`.
pub const USERS_WRITE: Permissions = Permissions {
    family: Family::Directory,
    delegated: &["User.ReadWrite.All", "Directory.ReadWrite.All"],
    application: &["User.ReadWrite.All", "Directory.ReadWrite.All"],
};

/// `GET /applications`, `GET /applications/{id}`.
pub const APPLICATIONS_READ: Permissions = Permissions {
    family: Family::Directory,
    delegated: &[
        "Application.Read.All",
        "Application.ReadWrite.All",
        "Directory.Read.All",
        "Directory.ReadWrite.All",
    ],
    application: &[
        "Application.Read.All",
        "Application.ReadWrite.All",
        "Directory.Read.All",
        "Directory.ReadWrite.All",
    ],
};

/// `POST /applications`, `DELETE /applications/{id}`, `addPassword`, `removePassword`.
pub const APPLICATIONS_WRITE: Permissions = Permissions {
    family: Family::Directory,
    delegated: &["Application.ReadWrite.All"],
    application: &["Application.ReadWrite.All"],
};

/// `GET /organization`.
pub const ORGANIZATION_READ: Permissions = Permissions {
    family: Family::Directory,
    delegated: &[
        "User.Read",
        "Organization.Read.All",
        "Directory.Read.All",
        "Directory.ReadWrite.All",
    ],
    application: &[
        "Organization.Read.All",
        "Directory.Read.All",
        "Directory.ReadWrite.All",
    ],
};

/// `GET /domains`, `GET /domains/{id}`.
pub const DOMAINS_READ: Permissions = Permissions {
    family: Family::Directory,
    delegated: &[
        "Domain.Read.All",
        "Directory.Read.All",
        "Directory.ReadWrite.All",
    ],
    application: &[
        "Domain.Read.All",
        "Directory.Read.All",
        "Directory.ReadWrite.All",
    ],
};

/// `POST /chats` (and `/me/chats`, `/users/{id}/chats`).
pub const CHAT_CREATE: Permissions = Permissions {
    family: Family::Teams,
    delegated: &["Chat.Create", "Chat.ReadWrite"],
    application: &["Chat.Create", "Chat.ReadWrite.All"],
};

/// `GET /chats`, `GET /me/chats`: the signed-in user's chats (delegated only).
pub const CHATS_READ: Permissions = Permissions {
    family: Family::Teams,
    delegated: &["Chat.ReadBasic", "Chat.Read", "Chat.ReadWrite"],
    application: &[],
};

/// `GET /users/{id}/chats`.
pub const CHATS_READ_FOR_USER: Permissions = Permissions {
    family: Family::Teams,
    delegated: &["Chat.ReadBasic", "Chat.Read", "Chat.ReadWrite"],
    application: &["Chat.ReadBasic.All", "Chat.Read.All", "Chat.ReadWrite.All"],
};

/// `GET /chats/{id}`.
pub const CHAT_READ: Permissions = Permissions {
    family: Family::Teams,
    delegated: &["Chat.ReadBasic", "Chat.Read", "Chat.ReadWrite"],
    application: &["Chat.ReadBasic.All", "Chat.Read.All", "Chat.ReadWrite.All"],
};

/// `PATCH /chats/{id}`.
pub const CHAT_UPDATE: Permissions = Permissions {
    family: Family::Teams,
    delegated: &["Chat.ReadWrite"],
    application: &["Chat.ReadWrite.All"],
};

/// `DELETE /chats/{id}`.
pub const CHAT_DELETE: Permissions = Permissions {
    family: Family::Teams,
    delegated: &["Chat.ManageDeletion.All"],
    application: &["Chat.ManageDeletion.All"],
};

/// `hideForUser`, `unhideForUser`, `markChatReadForUser`, `markChatUnreadForUser`.
pub const CHAT_USER_STATE: Permissions = Permissions {
    family: Family::Teams,
    delegated: &["Chat.ReadWrite"],
    application: &[],
};

/// `GET /chats/{id}/members[/{membership-id}]`.
pub const CHAT_MEMBERS_READ: Permissions = Permissions {
    family: Family::Teams,
    delegated: &[
        "ChatMember.Read",
        "ChatMember.ReadWrite",
        "Chat.ReadBasic",
        "Chat.Read",
        "Chat.ReadWrite",
    ],
    application: &[
        "ChatMember.Read.All",
        "ChatMember.ReadWrite.All",
        "Chat.ReadBasic.All",
        "Chat.Read.All",
        "Chat.ReadWrite.All",
    ],
};

/// `POST /chats/{id}/members`, `DELETE /chats/{id}/members/{membership-id}`.
pub const CHAT_MEMBERS_WRITE: Permissions = Permissions {
    family: Family::Teams,
    delegated: &["ChatMember.ReadWrite", "Chat.ReadWrite"],
    application: &["ChatMember.ReadWrite.All", "Chat.ReadWrite.All"],
};

/// `POST /chats/{id}/messages`: a signed-in member sends (`Teamwork.Migrate.All` is for imports
/// into chats in migration mode only, so applications cannot send).
pub const CHAT_MESSAGE_SEND: Permissions = Permissions {
    family: Family::Teams,
    delegated: &["ChatMessage.Send", "Chat.ReadWrite"],
    application: &[],
};

/// `GET /chats/{id}/messages[/{message-id}]`.
pub const CHAT_MESSAGES_READ: Permissions = Permissions {
    family: Family::Teams,
    delegated: &["Chat.Read", "Chat.ReadWrite"],
    application: &["Chat.Read.All", "Chat.ReadWrite.All"],
};

/// `PATCH /chats/{id}/messages/{message-id}` (the sender's edit).
pub const CHAT_MESSAGE_UPDATE: Permissions = Permissions {
    family: Family::Teams,
    delegated: &["Chat.ReadWrite"],
    application: &[],
};

/// `softDelete`, `undoSoftDelete` on a chat message (the sender's own).
pub const CHAT_MESSAGE_DELETE: Permissions = Permissions {
    family: Family::Teams,
    delegated: &["Chat.ReadWrite"],
    application: &[],
};

/// `setReaction`, `unsetReaction` on a chat message.
pub const CHAT_MESSAGE_REACT: Permissions = Permissions {
    family: Family::Teams,
    delegated: &["ChatMessage.Send", "Chat.ReadWrite"],
    application: &[],
};

/// `GET /users/{id}/chats/getAllMessages[/delta]`: every chat of a user (applications only).
pub const CHAT_MESSAGES_ALL: Permissions = Permissions {
    family: Family::Teams,
    delegated: &[],
    application: &["Chat.Read.All", "Chat.ReadWrite.All"],
};

/// `GET /chats/{id}/installedApps[/{id}[/chat]]`.
pub const CHAT_APPS_READ: Permissions = Permissions {
    family: Family::Teams,
    delegated: &[
        "TeamsAppInstallation.ReadForChat",
        "TeamsAppInstallation.ReadWriteSelfForChat",
        "TeamsAppInstallation.ReadWriteForChat",
    ],
    application: &[
        "TeamsAppInstallation.ReadForChat.All",
        "TeamsAppInstallation.ReadWriteSelfForChat.All",
        "TeamsAppInstallation.ReadWriteForChat.All",
    ],
};

/// Installing, upgrading, removing and (re)binding apps in chats.
pub const CHAT_APPS_WRITE: Permissions = Permissions {
    family: Family::Teams,
    delegated: &[
        "TeamsAppInstallation.ReadWriteSelfForChat",
        "TeamsAppInstallation.ReadWriteForChat",
    ],
    application: &[
        "TeamsAppInstallation.ReadWriteSelfForChat.All",
        "TeamsAppInstallation.ReadWriteForChat.All",
    ],
};

/// `GET /appCatalogs/teamsApps[/{id}[/appDefinitions[/{id}]]]`.
pub const CATALOG_READ: Permissions = Permissions {
    family: Family::Teams,
    delegated: &[
        "AppCatalog.Read.All",
        "AppCatalog.ReadWrite.All",
        "Directory.Read.All",
        "Directory.ReadWrite.All",
    ],
    application: &[
        "AppCatalog.Read.All",
        "AppCatalog.ReadWrite.All",
        "Directory.Read.All",
        "Directory.ReadWrite.All",
    ],
};

/// `POST /appCatalogs/teamsApps`, `POST /appCatalogs/teamsApps/{id}/appDefinitions`,
/// `DELETE /appCatalogs/teamsApps/{id}`.
pub const CATALOG_WRITE: Permissions = Permissions {
    family: Family::Teams,
    delegated: &["AppCatalog.ReadWrite.All", "Directory.ReadWrite.All"],
    application: &["AppCatalog.ReadWrite.All", "Directory.ReadWrite.All"],
};

/// Listing and reading mail messages (`GET …/messages[/{id}]`).
pub const MAIL_READ: Permissions = Permissions {
    family: Family::Outlook,
    delegated: &["Mail.ReadBasic", "Mail.Read", "Mail.ReadWrite"],
    application: &["Mail.ReadBasic.All", "Mail.Read", "Mail.ReadWrite"],
};

/// Reading mail attachments, and a message's whole MIME (`…/$value`, which carries its body and
/// files): `Mail.ReadBasic` shows neither.
pub const MAIL_ATTACHMENTS_READ: Permissions = Permissions {
    family: Family::Outlook,
    delegated: &["Mail.Read", "Mail.ReadWrite"],
    application: &["Mail.Read", "Mail.ReadWrite"],
};

/// Creating, changing, moving, copying and deleting mail messages.
pub const MAIL_WRITE: Permissions = Permissions {
    family: Family::Outlook,
    delegated: &["Mail.ReadWrite"],
    application: &["Mail.ReadWrite"],
};

/// Sending mail (`send`, `sendMail`).
pub const MAIL_SEND: Permissions = Permissions {
    family: Family::Outlook,
    delegated: &["Mail.Send"],
    application: &["Mail.Send"],
};

/// Listing and reading mail folders.
pub const MAIL_FOLDERS_READ: Permissions = Permissions {
    family: Family::Outlook,
    delegated: &["Mail.ReadBasic", "Mail.Read", "Mail.ReadWrite"],
    application: &["Mail.ReadBasic.All", "Mail.Read", "Mail.ReadWrite"],
};

/// Creating, renaming and deleting mail folders.
pub const MAIL_FOLDERS_WRITE: Permissions = Permissions {
    family: Family::Outlook,
    delegated: &["Mail.ReadWrite"],
    application: &["Mail.ReadWrite"],
};

/// The matrix: every served route and the permissions that allow it. `docs/permissions.md` is
/// generated from this table (`markdown()`), and a test keeps the two equal.
pub const MATRIX: &[(&str, &str, &Permissions)] = &[
    ("GET", "/me", &ME_READ),
    ("GET", "/users", &USERS_READ),
    ("GET", "/users/$count", &USERS_READ),
    ("GET", "/users/{id | userPrincipalName}", &USERS_READ),
    ("POST", "/users", &USERS_WRITE),
    ("PATCH", "/users/{id | userPrincipalName}", &USERS_WRITE),
    ("DELETE", "/users/{id | userPrincipalName}", &USERS_WRITE),
    ("GET", "/applications", &APPLICATIONS_READ),
    ("GET", "/applications/{id}", &APPLICATIONS_READ),
    ("POST", "/applications", &APPLICATIONS_WRITE),
    ("DELETE", "/applications/{id}", &APPLICATIONS_WRITE),
    (
        "POST",
        "/applications/{id}/addPassword",
        &APPLICATIONS_WRITE,
    ),
    (
        "POST",
        "/applications/{id}/removePassword",
        &APPLICATIONS_WRITE,
    ),
    ("GET", "/organization", &ORGANIZATION_READ),
    ("GET", "/organization/{id}", &ORGANIZATION_READ),
    ("GET", "/domains", &DOMAINS_READ),
    ("GET", "/domains/{id}", &DOMAINS_READ),
    ("POST", "/chats", &CHAT_CREATE),
    ("GET", "/chats", &CHATS_READ),
    ("GET", "/users/{id}/chats", &CHATS_READ_FOR_USER),
    ("GET", "/chats/{chat-id}", &CHAT_READ),
    ("GET", "/chats/{chat-id}/lastMessagePreview", &CHAT_READ),
    ("PATCH", "/chats/{chat-id}", &CHAT_UPDATE),
    ("DELETE", "/chats/{chat-id}", &CHAT_DELETE),
    (
        "POST",
        "/chats/{chat-id}/hideForUser (unhideForUser, markChatReadForUser, markChatUnreadForUser)",
        &CHAT_USER_STATE,
    ),
    ("GET", "/chats/{chat-id}/members", &CHAT_MEMBERS_READ),
    (
        "GET",
        "/chats/{chat-id}/members/{membership-id}",
        &CHAT_MEMBERS_READ,
    ),
    ("POST", "/chats/{chat-id}/members", &CHAT_MEMBERS_WRITE),
    (
        "DELETE",
        "/chats/{chat-id}/members/{membership-id}",
        &CHAT_MEMBERS_WRITE,
    ),
    ("POST", "/chats/{chat-id}/messages", &CHAT_MESSAGE_SEND),
    ("GET", "/chats/{chat-id}/messages", &CHAT_MESSAGES_READ),
    (
        "GET",
        "/chats/{chat-id}/messages/{message-id}",
        &CHAT_MESSAGES_READ,
    ),
    (
        "PATCH",
        "/chats/{chat-id}/messages/{message-id}",
        &CHAT_MESSAGE_UPDATE,
    ),
    (
        "POST",
        "/chats/{chat-id}/messages/{message-id}/softDelete (undoSoftDelete)",
        &CHAT_MESSAGE_DELETE,
    ),
    (
        "POST",
        "/chats/{chat-id}/messages/{message-id}/setReaction (unsetReaction)",
        &CHAT_MESSAGE_REACT,
    ),
    (
        "GET",
        "/users/{id}/chats/getAllMessages",
        &CHAT_MESSAGES_ALL,
    ),
    (
        "GET",
        "/users/{id}/chats/getAllMessages/delta",
        &CHAT_MESSAGES_ALL,
    ),
    ("GET", "/appCatalogs/teamsApps", &CATALOG_READ),
    ("GET", "/appCatalogs/teamsApps/{teamsApp-id}", &CATALOG_READ),
    (
        "GET",
        "/appCatalogs/teamsApps/{teamsApp-id}/appDefinitions",
        &CATALOG_READ,
    ),
    (
        "GET",
        "/appCatalogs/teamsApps/{teamsApp-id}/appDefinitions/{definition-id}",
        &CATALOG_READ,
    ),
    ("POST", "/appCatalogs/teamsApps", &CATALOG_WRITE),
    (
        "POST",
        "/appCatalogs/teamsApps/{teamsApp-id}/appDefinitions",
        &CATALOG_WRITE,
    ),
    (
        "DELETE",
        "/appCatalogs/teamsApps/{teamsApp-id}",
        &CATALOG_WRITE,
    ),
    ("GET", "/chats/{chat-id}/installedApps", &CHAT_APPS_READ),
    (
        "GET",
        "/chats/{chat-id}/installedApps/{installation-id}",
        &CHAT_APPS_READ,
    ),
    ("POST", "/chats/{chat-id}/installedApps", &CHAT_APPS_WRITE),
    (
        "POST",
        "/chats/{chat-id}/installedApps/{installation-id}/upgrade",
        &CHAT_APPS_WRITE,
    ),
    (
        "DELETE",
        "/chats/{chat-id}/installedApps/{installation-id}",
        &CHAT_APPS_WRITE,
    ),
    (
        "GET",
        "/chats/{chat-id}/installedApps/{installation-id}/chat",
        &CHAT_APPS_READ,
    ),
    (
        "POST",
        "/chats/{chat-id}/installedApps/{installation-id}/chat/$ref",
        &CHAT_APPS_WRITE,
    ),
    (
        "PUT",
        "/chats/{chat-id}/installedApps/{installation-id}/chat/$ref",
        &CHAT_APPS_WRITE,
    ),
    (
        "DELETE",
        "/chats/{chat-id}/installedApps/{installation-id}/chat/$ref",
        &CHAT_APPS_WRITE,
    ),
    ("GET", "/users/{id}/mailFolders", &MAIL_FOLDERS_READ),
    (
        "GET",
        "/users/{id}/mailFolders/{folder-id}",
        &MAIL_FOLDERS_READ,
    ),
    (
        "GET",
        "/users/{id}/mailFolders/{folder-id}/childFolders",
        &MAIL_FOLDERS_READ,
    ),
    ("POST", "/users/{id}/mailFolders", &MAIL_FOLDERS_WRITE),
    (
        "POST",
        "/users/{id}/mailFolders/{folder-id}/childFolders",
        &MAIL_FOLDERS_WRITE,
    ),
    (
        "PATCH",
        "/users/{id}/mailFolders/{folder-id}",
        &MAIL_FOLDERS_WRITE,
    ),
    (
        "DELETE",
        "/users/{id}/mailFolders/{folder-id}",
        &MAIL_FOLDERS_WRITE,
    ),
    ("GET", "/users/{id}/messages", &MAIL_READ),
    (
        "GET",
        "/users/{id}/mailFolders/{folder-id}/messages",
        &MAIL_READ,
    ),
    ("GET", "/users/{id}/messages/{message-id}", &MAIL_READ),
    (
        "GET",
        "/users/{id}/messages/{message-id}/$value",
        &MAIL_ATTACHMENTS_READ,
    ),
    ("POST", "/users/{id}/messages", &MAIL_WRITE),
    (
        "POST",
        "/users/{id}/mailFolders/{folder-id}/messages",
        &MAIL_WRITE,
    ),
    ("PATCH", "/users/{id}/messages/{message-id}", &MAIL_WRITE),
    ("DELETE", "/users/{id}/messages/{message-id}", &MAIL_WRITE),
    (
        "POST",
        "/users/{id}/messages/{message-id}/permanentDelete",
        &MAIL_WRITE,
    ),
    (
        "POST",
        "/users/{id}/messages/{message-id}/move (copy)",
        &MAIL_WRITE,
    ),
    (
        "POST",
        "/users/{id}/messages/{message-id}/createReply (createReplyAll, createForward)",
        &MAIL_WRITE,
    ),
    ("POST", "/users/{id}/messages/{message-id}/send", &MAIL_SEND),
    (
        "POST",
        "/users/{id}/messages/{message-id}/reply (replyAll, forward)",
        &MAIL_SEND,
    ),
    ("POST", "/users/{id}/sendMail", &MAIL_SEND),
    (
        "GET",
        "/users/{id}/mailFolders/{folder-id}/messages/delta",
        &MAIL_READ,
    ),
    ("GET", "/users/{id}/mailFolders/delta", &MAIL_FOLDERS_READ),
    (
        "GET",
        "/users/{id}/messages/{message-id}/attachments",
        &MAIL_ATTACHMENTS_READ,
    ),
    (
        "GET",
        "/users/{id}/messages/{message-id}/attachments/{attachment-id}",
        &MAIL_ATTACHMENTS_READ,
    ),
    (
        "GET",
        "/users/{id}/messages/{message-id}/attachments/{attachment-id}/$value",
        &MAIL_ATTACHMENTS_READ,
    ),
    (
        "POST",
        "/users/{id}/messages/{message-id}/attachments",
        &MAIL_WRITE,
    ),
    (
        "DELETE",
        "/users/{id}/messages/{message-id}/attachments/{attachment-id}",
        &MAIL_WRITE,
    ),
];

/// The matrix as a Markdown page.
pub fn markdown() -> String {
    let mut out = String::from(
        "# Permissions\n\n\
         Every Graph route checks the caller's token before anything else. A delegated token (a signed-in user) \
         needs one of the route's delegated scopes (`scp`); an app-only token needs one of its application roles \
         (`roles`). A token without one gets `403` with the workload's code (`Authorization_RequestDenied` in the \
         directory, `Forbidden` in Teams, `ErrorAccessDenied` in Outlook). `GET /users/{id}` for the caller's own \
         id also accepts `User.Read`. `POST /$batch` needs only a valid token; each request inside it is \
         checked against this table as if sent alone ([batch.md](batch.md)).\n\n\
         This page is generated from `crates/domain/src/permissions.rs` (`MATRIX`); a test fails when they differ.\n\n\
         | Method | Route | Delegated (any of) | Application (any of) |\n|---|---|---|---|\n",
    );
    let list = |names: &[&str]| {
        if names.is_empty() {
            "not supported".to_string()
        } else {
            names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    for (method, route, perms) in MATRIX {
        out.push_str(&format!(
            "| {method} | `{route}` | {} | {} |\n",
            list(perms.delegated),
            list(perms.application)
        ));
    }
    out
}

/// Every application role Switchboard knows; the administrator application holds all of them.
pub const ALL_APPLICATION_ROLES: &[&str] = &[
    "User.Read.All",
    "User.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
    "Organization.Read.All",
    "Domain.Read.All",
    "Application.Read.All",
    "Application.ReadWrite.All",
    "Chat.Create",
    "Chat.ReadBasic.All",
    "Chat.Read.All",
    "Chat.ReadWrite.All",
    "Chat.ManageDeletion.All",
    "ChatMember.Read.All",
    "ChatMember.ReadWrite.All",
    "TeamsAppInstallation.ReadForChat.All",
    "TeamsAppInstallation.ReadWriteSelfForChat.All",
    "TeamsAppInstallation.ReadWriteForChat.All",
    "AppCatalog.Read.All",
    "AppCatalog.ReadWrite.All",
    "Teamwork.Migrate.All",
    "Mail.ReadBasic.All",
    "Mail.Read",
    "Mail.ReadWrite",
    "Mail.Send",
];

/// Every delegated scope Switchboard knows; the administrator application may request all of them.
pub const ALL_DELEGATED_SCOPES: &[&str] = &[
    "User.Read",
    "User.ReadWrite",
    "User.ReadBasic.All",
    "User.Read.All",
    "User.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
    "Organization.Read.All",
    "Domain.Read.All",
    "Application.Read.All",
    "Application.ReadWrite.All",
    "Chat.Create",
    "Chat.ReadBasic",
    "Chat.Read",
    "Chat.ReadWrite",
    "Chat.ManageDeletion.All",
    "ChatMember.Read",
    "ChatMember.ReadWrite",
    "ChatMessage.Send",
    "ChatMessage.Read",
    "TeamsAppInstallation.ReadForChat",
    "TeamsAppInstallation.ReadWriteSelfForChat",
    "TeamsAppInstallation.ReadWriteForChat",
    "AppCatalog.Read.All",
    "AppCatalog.ReadWrite.All",
    "Mail.ReadBasic",
    "Mail.Read",
    "Mail.ReadWrite",
    "Mail.Send",
];

#[cfg(test)]
mod tests {
    #[test]
    fn docs_page_is_current() {
        let committed = include_str!("../../../docs/permissions.md");
        assert_eq!(
            committed,
            super::markdown(),
            "regenerate docs/permissions.md from permissions::markdown()"
        );
    }
}
