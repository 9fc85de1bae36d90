//! Sources: where shipped work comes from. Each source turns what it receives into
//! [`covalynce_domain::NewEvent`]s or says why it ignored it.
//!
//! The public entry for GitHub is [`github::verify_signature`] followed by
//! [`github::classify`]; nothing here touches storage or the network.

pub mod git;
pub mod github;
