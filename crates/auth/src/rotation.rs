//! Signing-key rotation. Keys rotate on a schedule, and a new key is published in the JWKS before
//! it signs anything, so relying parties that cache the JWKS already know it when the first token
//! it signed reaches them. The key it replaces stays published (and accepted) until every token it
//! signed has expired, then it is retired.
//!
//! [`maintain`] is one pass of that policy over the store; [`KeyMaintenance`] runs it in the
//! background of a server (at start, then every few minutes) and keeps the server's [`KeyRing`]
//! current (reloading it from the store on a shorter timer, so keys made by other nodes or by the
//! command line are published in time).

use std::sync::Arc;
use std::time::Duration;

use switchboard_domain::tenants::SigningKey;
use switchboard_domain::{Error, Store};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::keys::{KeyRing, generate_key_activating};

/// When keys rotate and retire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotationPolicy {
    /// A new key is made when the newest is this old (milliseconds); `None`: never
    /// automatically (only `switchboard keys rotate`).
    pub rotate_after_ms: Option<i64>,
    /// How long a new key is published before it signs, milliseconds.
    pub publish_lead_ms: i64,
    /// Lifetime of the tokens the keys sign, milliseconds: a superseded key is retired once the
    /// key after it has been signing this long.
    pub token_lifetime_ms: i64,
}

impl RotationPolicy {
    /// From the configuration's units: days (fractions allowed; `0` turns automatic rotation
    /// off) and seconds.
    pub fn new(
        rotation_days: f64,
        publish_lead_secs: i64,
        token_lifetime_secs: i64,
    ) -> RotationPolicy {
        let rotate_after_ms =
            (rotation_days > 0.0).then(|| ((rotation_days * 86_400_000.0) as i64).max(1));
        RotationPolicy {
            rotate_after_ms,
            publish_lead_ms: publish_lead_secs.max(0) * 1000,
            token_lifetime_ms: token_lifetime_secs.max(0) * 1000,
        }
    }

    /// How often the policy is applied: every five minutes, or more often when the periods are
    /// short (tests), never more than four times a second.
    pub fn check_every(&self) -> Duration {
        let mut ms: i64 = 5 * 60 * 1000;
        for period in [
            Some(self.publish_lead_ms),
            Some(self.token_lifetime_ms),
            self.rotate_after_ms,
        ]
        .into_iter()
        .flatten()
        {
            if period > 0 {
                ms = ms.min(period / 4);
            }
        }
        Duration::from_millis(ms.max(250) as u64)
    }

    /// How often the key ring re-reads the store: well within the publication lead, so a key
    /// another node (or the command line) made is published here before it signs there.
    pub fn reload_every(&self) -> Duration {
        let mut ms: i64 = 60 * 1000;
        if self.publish_lead_ms > 0 {
            ms = ms.min(self.publish_lead_ms / 4);
        }
        Duration::from_millis(ms.max(250) as u64)
    }
}

/// What one pass of [`maintain`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Maintenance {
    /// The key made, when the newest was due for rotation.
    pub created: Option<String>,
    /// The keys retired.
    pub retired: Vec<String>,
}

impl Maintenance {
    /// Whether anything changed.
    pub fn changed(&self) -> bool {
        self.created.is_some() || !self.retired.is_empty()
    }
}

fn published(k: &SigningKey, now: i64) -> bool {
    k.retire_ms.is_none_or(|r| r > now)
}

/// Whether `newer` replaces `older`: it activates later (or, at the same instant, was made later).
fn replaces(newer: &SigningKey, older: &SigningKey) -> bool {
    (newer.activate_ms, newer.created_ms, &newer.kid)
        > (older.activate_ms, older.created_ms, &older.kid)
}

/// The keys to retire at `now`: those replaced by a published key that has been signing for
/// longer than a token lives, so no unexpired token can carry them any more.
pub fn due_for_retirement(keys: &[SigningKey], policy: &RotationPolicy, now: i64) -> Vec<String> {
    keys.iter()
        .filter(|old| old.retire_ms.is_none())
        .filter(|old| {
            keys.iter().any(|new| {
                new.kid != old.kid
                    && published(new, now)
                    && replaces(new, old)
                    && new.activate_ms.saturating_add(policy.token_lifetime_ms) <= now
            })
        })
        .map(|k| k.kid.clone())
        .collect()
}

/// Whether a new key is due at `now`: rotation is on, the newest key is older than the rotation
/// period, and no key is already waiting to activate.
pub fn rotation_due(keys: &[SigningKey], policy: &RotationPolicy, now: i64) -> bool {
    let Some(period) = policy.rotate_after_ms else {
        return false;
    };
    if keys
        .iter()
        .any(|k| k.activate_ms > now && published(k, now))
    {
        return false;
    }
    keys.iter()
        .map(|k| k.created_ms)
        .max()
        .is_none_or(|newest| now.saturating_sub(newest) >= period)
}

/// Makes a new key that signs after the publication lead and stores it; returns its `kid`.
pub async fn publish_new_key(store: &dyn Store, publish_lead_ms: i64) -> Result<SigningKey, Error> {
    let activate = switchboard_domain::graph_time::now_ms() + publish_lead_ms.max(0);
    let key = tokio::task::spawn_blocking(move || generate_key_activating(activate))
        .await
        .map_err(|_| Error::internal("key generation task failed"))??;
    store.insert_signing_key(&key).await?;
    Ok(key)
}

/// One pass of the rotation policy over the store at `now`.
pub async fn maintain(
    store: &dyn Store,
    policy: &RotationPolicy,
    now: i64,
) -> Result<Maintenance, Error> {
    let keys = store.signing_keys().await?;
    let mut done = Maintenance::default();
    if rotation_due(&keys, policy, now) {
        done.created = Some(publish_new_key(store, policy.publish_lead_ms).await?.kid);
    }
    for kid in due_for_retirement(&keys, policy, now) {
        store.set_signing_key_retire(&kid, Some(now)).await?;
        done.retired.push(kid);
    }
    Ok(done)
}

/// The background task applying the rotation policy and reloading the key ring. Stop it with
/// [`KeyMaintenance::stop`].
pub struct KeyMaintenance {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl KeyMaintenance {
    /// Starts the task: a pass of [`maintain`] now and every [`RotationPolicy::check_every`], a
    /// ring reload every [`RotationPolicy::reload_every`] and after every change.
    pub fn start(
        store: Arc<dyn Store>,
        ring: Arc<KeyRing>,
        policy: RotationPolicy,
    ) -> KeyMaintenance {
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            let check_every = policy.check_every();
            let reload_every = policy.reload_every();
            let mut next_check = tokio::time::Instant::now();
            loop {
                if tokio::time::Instant::now() >= next_check {
                    next_check = tokio::time::Instant::now() + check_every;
                    match maintain(
                        store.as_ref(),
                        &policy,
                        switchboard_domain::graph_time::now_ms(),
                    )
                    .await
                    {
                        Ok(done) => {
                            if let Some(kid) = &done.created {
                                tracing::info!(
                                    kid,
                                    "published a new signing key; it signs after the publication lead"
                                );
                            }
                            for kid in &done.retired {
                                tracing::info!(kid, "retired a signing key");
                            }
                        }
                        Err(e) => tracing::warn!("signing-key rotation failed: {e}"),
                    }
                }
                if let Err(e) = ring.reload(store.as_ref()).await {
                    tracing::warn!("reloading the signing keys failed: {e}");
                }
                let wake = (tokio::time::Instant::now() + reload_every).min(next_check);
                tokio::select! {
                    _ = tokio::time::sleep_until(wake) => {}
                    _ = stopped.changed() => break,
                }
            }
        });
        KeyMaintenance { stop, task }
    }

    /// Stops the task and waits for it.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(kid: &str, created: i64, activate: i64, retire: Option<i64>) -> SigningKey {
        SigningKey {
            kid: kid.into(),
            private_pkcs8: Vec::new(),
            created_ms: created,
            activate_ms: activate,
            retire_ms: retire,
        }
    }

    const POLICY: RotationPolicy = RotationPolicy {
        rotate_after_ms: Some(1000),
        publish_lead_ms: 100,
        token_lifetime_ms: 500,
    };

    #[test]
    fn rotates_when_the_newest_key_is_old_and_none_waits() {
        let keys = [key("a", 0, 0, None)];
        assert!(!rotation_due(&keys, &POLICY, 999));
        assert!(rotation_due(&keys, &POLICY, 1000));
        let waiting = [key("a", 0, 0, None), key("b", 1000, 1100, None)];
        assert!(!rotation_due(&waiting, &POLICY, 1050));
        assert!(
            !rotation_due(&waiting, &POLICY, 1999),
            "b is the newest now"
        );
        let off = RotationPolicy {
            rotate_after_ms: None,
            ..POLICY
        };
        assert!(!rotation_due(&keys, &off, 1_000_000));
    }

    #[test]
    fn retires_once_the_next_key_has_signed_for_a_token_lifetime() {
        let keys = [key("a", 0, 0, None), key("b", 1000, 1100, None)];
        assert!(
            due_for_retirement(&keys, &POLICY, 1100).is_empty(),
            "b just started signing"
        );
        assert!(
            due_for_retirement(&keys, &POLICY, 1599).is_empty(),
            "a's last tokens are still valid"
        );
        assert_eq!(due_for_retirement(&keys, &POLICY, 1600), ["a"]);
        // The signing key itself is never retired, and a retired key replaces nothing.
        let b_retired = [key("a", 0, 0, None), key("b", 1000, 1100, Some(1200))];
        assert!(due_for_retirement(&b_retired, &POLICY, 5000).is_empty());
    }

    #[test]
    fn intervals_follow_short_periods() {
        assert_eq!(
            RotationPolicy::new(30.0, 3600, 3599).check_every(),
            Duration::from_secs(300)
        );
        assert_eq!(
            RotationPolicy::new(30.0, 3600, 3599).reload_every(),
            Duration::from_secs(60)
        );
        assert_eq!(
            RotationPolicy::new(30.0, 2, 4).reload_every(),
            Duration::from_millis(500)
        );
        assert_eq!(RotationPolicy::new(0.0, 3600, 3599).rotate_after_ms, None);
    }
}
