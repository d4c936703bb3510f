//! Switchboard's identity platform: the token-signing key ring, access tokens (issued by the
//! token endpoint, validated on every Graph call), and the token endpoint's grants with the
//! Microsoft identity platform's answers and errors.

pub mod endpoint;
pub mod keys;
pub mod tokens;

pub use endpoint::{IdentityError, TokenService};
pub use keys::KeyRing;
pub use tokens::TokenIssuer;
