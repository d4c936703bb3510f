//! Switchboard's identity platform: the token-signing key ring, access tokens (issued by the
//! token endpoint, validated on every Graph call), and the token endpoint's grants with the
//! Microsoft identity platform's answers and errors; signing-key rotation; and the validation of
//! tokens from external OpenID Connect issuers the configuration trusts.

pub mod endpoint;
pub mod external;
pub mod keys;
pub mod rotation;
pub mod tokens;
pub mod validated;

pub use endpoint::{IdentityError, TokenService};
pub use external::{TrustedIssuer, TrustedIssuers};
pub use keys::KeyRing;
pub use rotation::{KeyMaintenance, RotationPolicy};
pub use tokens::TokenIssuer;
