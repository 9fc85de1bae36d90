//! Publishing: putting an approved card on a channel, exactly once.
//!
//! Each channel kind is a module with one entry. The publisher job (in the server) records
//! a publication as `publishing` before calling it and `published`/`failed` after; a channel
//! must make a repeated call with the same idempotency key harmless, so a crash between the
//! call and the second record can be retried safely.

pub mod outbox;
