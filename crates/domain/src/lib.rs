//! Switchboard's domain layer: the Graph resources (tenants, applications, users, …), the rules
//! Graph applies to them, who may do what (principals and permissions), and the store contract
//! that every storage backend implements.
//!
//! This crate knows nothing of HTTP or of any database driver: the HTTP layer turns requests into
//! calls here, and the store crates implement [`store::Store`].

pub mod applications;
pub mod change_tokens;
pub mod chat_messages;
pub mod chats;
pub mod credentials;
pub mod directory;
pub mod error;
pub mod graph_time;
pub mod mail;
pub mod mail_attachments;
pub mod mail_delta;
pub mod mail_search;
pub mod message_body;
pub mod paging;
pub mod permissions;
pub mod principal;
pub mod store;
pub mod teams_apps;
pub mod tenants;
pub mod testing;
pub mod users;

pub use error::{Error, ErrorKind, Family};
pub use principal::Principal;
pub use store::{Store, StoreError};
