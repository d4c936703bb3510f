//! Black-box tests: the real server over real HTTP with real tokens on the real store. Each test
//! starts its own server on 127.0.0.1:0 with a fresh data directory (see `harness`).

mod harness;

mod applications;
mod batch;
mod chat_messages;
mod chats;
mod durability;
mod external_idp;
mod identity;
mod keys;
mod mail;
mod protocol;
mod teams_apps;
mod tenants;
mod tls;
mod users;
