//! The user directory (`microsoft.graph.user`): the record, its OData catalogue, Graph's rules for
//! creating, changing and querying users, and the operations behind `/users` and `/me`.

use switchboard_odata::QueryOptions;
use switchboard_odata::schema::{Caps, EntitySchema, Property, PropertyType};

use crate::credentials::{self, HashCost};
use crate::directory::{self, DirectoryPage};
use crate::error::{Error, ErrorKind, Family};
use crate::graph_time;
use crate::permissions;
use crate::principal::Principal;
use crate::store::{Store, UserKey};
use crate::tenants::Tenant;

/// A user as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// Object id (GUID, lowercase).
    pub id: String,
    /// Owning tenant.
    pub tenant_id: String,
    /// `displayName`.
    pub display_name: String,
    /// `userPrincipalName`, `alias@verified-domain`.
    pub user_principal_name: String,
    /// `mail`; Switchboard gives every user a mailbox, so it defaults to the UPN.
    pub mail: Option<String>,
    /// `givenName`.
    pub given_name: Option<String>,
    /// `surname`.
    pub surname: Option<String>,
    /// `jobTitle`.
    pub job_title: Option<String>,
    /// `businessPhones` (never null).
    pub business_phones: Vec<String>,
    /// `mobilePhone`.
    pub mobile_phone: Option<String>,
    /// `officeLocation`.
    pub office_location: Option<String>,
    /// `preferredLanguage`.
    pub preferred_language: Option<String>,
    /// `accountEnabled`: a disabled account cannot sign in.
    pub account_enabled: bool,
    /// `mailNickname`.
    pub mail_nickname: String,
    /// Argon2id hash of the password; `None` for accounts that cannot sign in with one.
    pub password_hash: Option<String>,
    /// `passwordProfile.forceChangePasswordNextSignIn`.
    pub force_change_password: bool,
    /// `createdDateTime`, epoch milliseconds.
    pub created_ms: i64,
}

/// The OData catalogue of `microsoft.graph.user`: which properties `$filter`, `$orderby`,
/// `$select` and `$search` may name, and the column behind each.
pub static USER_SCHEMA: EntitySchema = EntitySchema {
    type_name: "microsoft.graph.user",
    key_column: "id",
    properties: &[
        prop("id", "id", PropertyType::String, true, false, false),
        prop(
            "displayName",
            "display_name",
            PropertyType::String,
            true,
            true,
            true,
        ),
        prop(
            "userPrincipalName",
            "user_principal_name",
            PropertyType::String,
            true,
            true,
            true,
        ),
        prop("mail", "mail", PropertyType::String, true, true, true),
        prop(
            "givenName",
            "given_name",
            PropertyType::String,
            true,
            true,
            true,
        ),
        prop("surname", "surname", PropertyType::String, true, true, true),
        prop(
            "jobTitle",
            "job_title",
            PropertyType::String,
            true,
            true,
            true,
        ),
        prop(
            "businessPhones",
            "business_phones",
            PropertyType::StringCollection,
            true,
            false,
            false,
        ),
        prop(
            "mobilePhone",
            "mobile_phone",
            PropertyType::String,
            true,
            false,
            false,
        ),
        prop(
            "officeLocation",
            "office_location",
            PropertyType::String,
            true,
            true,
            false,
        ),
        prop(
            "preferredLanguage",
            "preferred_language",
            PropertyType::String,
            true,
            false,
            false,
        ),
        prop(
            "accountEnabled",
            "account_enabled",
            PropertyType::Boolean,
            true,
            false,
            false,
        ),
        prop(
            "mailNickname",
            "mail_nickname",
            PropertyType::String,
            true,
            false,
            true,
        ),
        prop(
            "createdDateTime",
            "created_ms",
            PropertyType::DateTime,
            true,
            true,
            false,
        ),
        // Selectable only: never stored, always null (users are deleted outright).
        prop(
            "deletedDateTime",
            "NULL",
            PropertyType::DateTime,
            false,
            false,
            false,
        ),
        prop(
            "passwordProfile",
            "NULL",
            PropertyType::String,
            false,
            false,
            false,
        ),
    ],
};

const fn prop(
    name: &'static str,
    column: &'static str,
    ty: PropertyType,
    filter: bool,
    orderby: bool,
    search: bool,
) -> Property {
    Property {
        name,
        column,
        ty,
        caps: Caps {
            filter,
            orderby,
            select: true,
            search,
            case_insensitive: true,
        },
    }
}

/// Graph's default property set for users (v1.0): what `GET /users` returns without `$select`.
pub const DEFAULT_PROPERTIES: &[&str] = &[
    "businessPhones",
    "displayName",
    "givenName",
    "id",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
];

/// The writable properties of a user, as a client sent them (each `None` when absent).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserInput {
    /// `accountEnabled`.
    pub account_enabled: Option<bool>,
    /// `displayName`.
    pub display_name: Option<String>,
    /// `mailNickname`.
    pub mail_nickname: Option<String>,
    /// `userPrincipalName`.
    pub user_principal_name: Option<String>,
    /// `passwordProfile.password`.
    pub password: Option<String>,
    /// `passwordProfile.forceChangePasswordNextSignIn`.
    pub force_change_password: Option<bool>,
    /// `mail` (outer `None`: absent; inner `None`: explicit null).
    pub mail: Option<Option<String>>,
    /// `givenName`.
    pub given_name: Option<Option<String>>,
    /// `surname`.
    pub surname: Option<Option<String>>,
    /// `jobTitle`.
    pub job_title: Option<Option<String>>,
    /// `businessPhones`.
    pub business_phones: Option<Vec<String>>,
    /// `mobilePhone`.
    pub mobile_phone: Option<Option<String>>,
    /// `officeLocation`.
    pub office_location: Option<Option<String>>,
    /// `preferredLanguage`.
    pub preferred_language: Option<Option<String>>,
}

/// A change to a user, validated; applied by the store inside its write transaction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserPatch {
    /// The changed properties (password already hashed into `password_hash`).
    pub input: UserInput,
    /// The new password's hash, when the patch changes the password.
    pub password_hash: Option<String>,
}

impl UserPatch {
    /// Applies the patch to a stored user.
    pub fn apply(&self, user: &mut UserRecord) {
        let i = &self.input;
        if let Some(v) = i.account_enabled {
            user.account_enabled = v;
        }
        if let Some(v) = &i.display_name {
            user.display_name = v.clone();
        }
        if let Some(v) = &i.mail_nickname {
            user.mail_nickname = v.clone();
        }
        if let Some(v) = &i.user_principal_name {
            user.user_principal_name = v.clone();
        }
        if let Some(v) = &self.password_hash {
            user.password_hash = Some(v.clone());
        }
        if let Some(v) = i.force_change_password {
            user.force_change_password = v;
        }
        for (field, value) in [
            (&mut user.mail, &i.mail),
            (&mut user.given_name, &i.given_name),
            (&mut user.surname, &i.surname),
            (&mut user.job_title, &i.job_title),
            (&mut user.mobile_phone, &i.mobile_phone),
            (&mut user.office_location, &i.office_location),
            (&mut user.preferred_language, &i.preferred_language),
        ] {
            if let Some(v) = value {
                field.clone_from(v);
            }
        }
        if let Some(v) = &i.business_phones {
            user.business_phones = v.clone();
        }
    }
}

fn invalid_value(property: &str) -> Error {
    Error::bad_request(
        Family::Directory,
        format!("Invalid value specified for property '{property}' of resource 'User'."),
    )
}

/// Checks a user principal name: `alias@domain` with Graph's allowed alias characters, and the
/// domain one of the tenant's verified domains.
pub fn check_user_principal_name(upn: &str, tenant: &Tenant) -> Result<(), Error> {
    let Some((alias, domain)) = upn.rsplit_once('@') else {
        return Err(invalid_value("userPrincipalName"));
    };
    let alias_ok = !alias.is_empty()
        && alias.len() <= 64
        && !alias.starts_with('.')
        && !alias.ends_with('.')
        && alias
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "'.-_!#^~".contains(c));
    if !alias_ok {
        return Err(invalid_value("userPrincipalName"));
    }
    if !domain.eq_ignore_ascii_case(&tenant.domain) {
        return Err(Error::bad_request(
            Family::Directory,
            "The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names in your organization.",
        ));
    }
    Ok(())
}

/// Graph's password complexity rule: 8 to 256 characters, with three of the four classes
/// (lower case, upper case, digits, symbols).
pub fn check_password(password: &str) -> Result<(), Error> {
    let classes = [
        password.chars().any(|c| c.is_lowercase()),
        password.chars().any(|c| c.is_uppercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_alphanumeric()),
    ];
    let len = password.chars().count();
    if (8..=256).contains(&len) && classes.iter().filter(|c| **c).count() >= 3 {
        Ok(())
    } else {
        Err(Error::bad_request(
            Family::Directory,
            "The specified password does not comply with password complexity requirements. Please provide a different password.",
        ))
    }
}

fn conflict_to_graph(e: Error) -> Error {
    if e.kind == ErrorKind::Conflict {
        Error::bad_request(
            Family::Directory,
            "Another object with the same value for property userPrincipalName already exists.",
        )
    } else {
        e
    }
}

/// The user directory's operations, for one tenant's store.
pub struct Directory<'a> {
    /// The store holding the directory.
    pub store: &'a dyn Store,
    /// Argon2 cost for new passwords.
    pub hash_cost: HashCost,
}

/// One page of users, and how to ask for the next.
pub type UserPage = DirectoryPage<UserRecord>;

/// How `/users` was asked: Graph's "advanced query" mode needs `ConsistencyLevel: eventual`.
#[derive(Debug, Clone, Copy, Default)]
pub struct DirectoryQueryMode {
    /// `ConsistencyLevel: eventual` was sent.
    pub eventual: bool,
}

impl Directory<'_> {
    async fn tenant(&self, caller: &Principal) -> Result<Tenant, Error> {
        self.store.tenant(&caller.tenant_id).await?.ok_or_else(|| {
            Error::unauthenticated("Access token validation failure. Unknown tenant.")
        })
    }

    /// `GET /users/{id | userPrincipalName}`.
    pub async fn get(&self, caller: &Principal, key: &str) -> Result<UserRecord, Error> {
        let is_self = caller
            .user_id()
            .is_some_and(|id| id.eq_ignore_ascii_case(key));
        if is_self {
            caller.require(&permissions::ME_READ)?;
        } else {
            caller.require(&permissions::USERS_READ)?;
        }
        self.find(caller, key).await
    }

    /// `GET /me`.
    pub async fn me(&self, caller: &Principal) -> Result<UserRecord, Error> {
        caller.require(&permissions::ME_READ)?;
        let id = caller.user_id().unwrap_or_default().to_string();
        self.find(caller, &id).await
    }

    /// Looks a user up in the caller's tenant without a permission check (for the other
    /// resource families, which check their own permissions first).
    pub async fn find(&self, caller: &Principal, key: &str) -> Result<UserRecord, Error> {
        let store_key = user_key(key);
        self.store
            .user(&caller.tenant_id, &store_key)
            .await?
            .ok_or_else(|| Error::not_found(Family::Directory, key))
    }

    /// `GET /users`: Graph's directory query rules, then one page from the store.
    pub async fn list(
        &self,
        caller: &Principal,
        q: &QueryOptions,
        mode: DirectoryQueryMode,
    ) -> Result<UserPage, Error> {
        caller.require(&permissions::USERS_READ)?;
        let prepared = directory::prepare(q, &USER_SCHEMA, "user", mode.eventual)?;
        let page = self
            .store
            .list_users(&caller.tenant_id, &prepared.query)
            .await
            .map_err(|e| Error::from(e).in_family(Family::Directory))?;
        Ok(prepared.finish(page))
    }

    /// `POST /users`.
    pub async fn create(&self, caller: &Principal, input: UserInput) -> Result<UserRecord, Error> {
        caller.require(&permissions::USERS_WRITE)?;
        let tenant = self.tenant(caller).await?;
        let required = |v: Option<&str>, name: &str| -> Result<String, Error> {
            match v {
                Some(s) if !s.trim().is_empty() => Ok(s.to_string()),
                _ => Err(invalid_value(name)),
            }
        };
        let display_name = required(input.display_name.as_deref(), "displayName")?;
        let upn = required(input.user_principal_name.as_deref(), "userPrincipalName")?;
        let mail_nickname = required(input.mail_nickname.as_deref(), "mailNickname")?;
        let account_enabled = input
            .account_enabled
            .ok_or_else(|| invalid_value("accountEnabled"))?;
        let password = required(input.password.as_deref(), "passwordProfile")?;
        check_user_principal_name(&upn, &tenant)?;
        check_password(&password)?;
        let password_hash = self.hash(password).await?;
        let mut user = UserRecord {
            id: uuid::Uuid::new_v4().to_string(),
            tenant_id: tenant.id.clone(),
            display_name,
            mail: Some(upn.clone()),
            user_principal_name: upn,
            given_name: None,
            surname: None,
            job_title: None,
            business_phones: Vec::new(),
            mobile_phone: None,
            office_location: None,
            preferred_language: None,
            account_enabled,
            mail_nickname,
            password_hash: None,
            force_change_password: true,
            created_ms: graph_time::now_ms(),
        };
        UserPatch {
            input,
            password_hash: Some(password_hash),
        }
        .apply(&mut user);
        self.store
            .insert_user(&user)
            .await
            .map_err(|e| conflict_to_graph(Error::from(e)))?;
        Ok(user)
    }

    /// `PATCH /users/{id}`.
    pub async fn update(
        &self,
        caller: &Principal,
        key: &str,
        input: UserInput,
    ) -> Result<(), Error> {
        caller.require(&permissions::USERS_WRITE)?;
        let tenant = self.tenant(caller).await?;
        let existing = self.find(caller, key).await?;
        for (value, name) in [
            (&input.display_name, "displayName"),
            (&input.mail_nickname, "mailNickname"),
            (&input.user_principal_name, "userPrincipalName"),
        ] {
            if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
                return Err(invalid_value(name));
            }
        }
        if let Some(upn) = &input.user_principal_name {
            check_user_principal_name(upn, &tenant)?;
        }
        let password_hash = match &input.password {
            Some(p) => {
                check_password(p)?;
                Some(self.hash(p.clone()).await?)
            }
            None => None,
        };
        let patch = UserPatch {
            input,
            password_hash,
        };
        self.store
            .update_user(&caller.tenant_id, &existing.id, &patch)
            .await
            .map_err(|e| conflict_to_graph(Error::from(e)))?
            .ok_or_else(|| Error::not_found(Family::Directory, key))?;
        Ok(())
    }

    /// `DELETE /users/{id}`.
    pub async fn delete(&self, caller: &Principal, key: &str) -> Result<(), Error> {
        caller.require(&permissions::USERS_WRITE)?;
        let existing = self.find(caller, key).await?;
        if self
            .store
            .delete_user(&caller.tenant_id, &existing.id)
            .await?
        {
            Ok(())
        } else {
            Err(Error::not_found(Family::Directory, key))
        }
    }

    async fn hash(&self, password: String) -> Result<String, Error> {
        let cost = self.hash_cost;
        // Argon2 is deliberately slow: keep it off the async worker threads.
        tokio::task::spawn_blocking(move || credentials::hash(&password, cost))
            .await
            .map_err(|_| Error::internal("the password hashing task failed"))
    }
}

/// How a URL names a user: a GUID is an object id, anything else a user principal name.
pub fn user_key(key: &str) -> UserKey {
    if uuid::Uuid::try_parse(key).is_ok() {
        UserKey::Id(key.to_ascii_lowercase())
    } else {
        UserKey::Upn(key.to_string())
    }
}
