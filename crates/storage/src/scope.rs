//! The key that proves a transaction's row level scope to PostgreSQL.
//!
//! Row level security (migrations 0006 and 0013) lets a transaction see one workspace's
//! rows, or all of them (the system scope, `*`). The scope is a setting any statement of
//! the application's role could change, so it counts only with a proof made with a key
//! the role cannot read: the server derives it from its secret key, the database keeps a
//! copy that only the tables' owner reads, and `covalynce_scope()` checks each proof.
//! The derivation lives here so the server and the test harness share it. SQLite has no
//! roles and no row level security; it ignores the key.

use hmac::{KeyInit, Mac};
use sha2::{Digest, Sha256};

/// What the scope key is derived for: a different context gives an unrelated key, so the
/// key that seals secrets is never itself handed to the database.
pub const SCOPE_KEY_CONTEXT: &[u8] = b"covalynce row-level scope v1";

/// 32 bytes: HMAC-SHA256(secret key, [`SCOPE_KEY_CONTEXT`]).
#[derive(Clone, PartialEq, Eq)]
pub struct ScopeKey([u8; 32]);

impl std::fmt::Debug for ScopeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ScopeKey(***)")
    }
}

impl ScopeKey {
    /// The scope key of a secret key (the raw bytes the secret key's hex stands for).
    pub fn derive(secret_key: &[u8]) -> Self {
        let mut mac = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(secret_key)
            .expect("HMAC takes keys of any size");
        mac.update(SCOPE_KEY_CONTEXT);
        Self(mac.finalize().into_bytes().into())
    }

    /// The scope key of a secret key written as 64 hex characters (as in `secret.key` or
    /// `COVALYNCE_SECRET_KEY`; surrounding whitespace is ignored).
    pub fn from_secret_hex(hex_key: &str) -> Option<Self> {
        let bytes = hex::decode(hex_key.trim()).ok()?;
        (bytes.len() == 32).then(|| Self::derive(&bytes))
    }

    /// A random key: for stores whose backend ignores it (SQLite) and for tests.
    pub fn random() -> Self {
        Self(rand::random())
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The per-scope token `sha256(key ‖ sha256(key ‖ scope))` that a transaction's proof
    /// is made from (the database binds it to the backend and the transaction, see
    /// [`PROOF_SQL`]). Knowing one scope's token tells nothing of another's.
    pub fn token(&self, scope: &str) -> [u8; 32] {
        let inner = Sha256::new()
            .chain_update(self.0)
            .chain_update(scope.as_bytes())
            .finalize();
        Sha256::new()
            .chain_update(self.0)
            .chain_update(inner)
            .finalize()
            .into()
    }
}

/// Sets a transaction's scope (`$1`) and its proof from the scope's token (`$2`, see
/// [`ScopeKey::token`]). `covalynce_scope()` (migration 0013) computes the same.
///
/// The token is a bind parameter: a statement's text is visible in `pg_stat_activity` to
/// every session of the role, parameters are not. The proof is bound to this backend and
/// this transaction's start, so one read by an injected statement is worthless once its
/// transaction ends. Every function and operator is schema-qualified: an injected
/// `SET search_path` on a pooled connection must not be able to put its own function
/// between the token and `sha256`.
pub const PROOF_SQL: &str = "SELECT pg_catalog.set_config('covalynce.scope', $1, true), \
    pg_catalog.set_config('covalynce.scope_proof', pg_catalog.encode(pg_catalog.sha256( \
        $2::bytea OPERATOR(pg_catalog.||) pg_catalog.convert_to( \
            ':' OPERATOR(pg_catalog.||) pg_catalog.pg_backend_pid()::text \
                OPERATOR(pg_catalog.||) ':' OPERATOR(pg_catalog.||) \
                pg_catalog.floor(pg_catalog.date_part('epoch', pg_catalog.transaction_timestamp()) \
                    OPERATOR(pg_catalog.*) 1000000)::bigint::text, \
            'UTF8')), 'hex'), true)";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scope_key_is_an_hmac_of_the_secret_key_and_never_the_key_itself() {
        let secret = [7u8; 32];
        let key = ScopeKey::derive(&secret);
        assert_ne!(key.as_bytes(), &secret);
        assert_eq!(
            ScopeKey::from_secret_hex(&format!("{}\n", hex::encode(secret))),
            Some(key.clone())
        );
        assert_eq!(ScopeKey::from_secret_hex("abcd"), None);
        assert_ne!(key.token("*"), key.token("0190-a"));
        assert_ne!(key.token("*"), ScopeKey::derive(&[8u8; 32]).token("*"));
        assert_eq!(format!("{key:?}"), "ScopeKey(***)");
    }
}
