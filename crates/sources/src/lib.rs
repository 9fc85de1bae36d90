//! Sources: where shipped work comes from. Each source turns what it receives into
//! [`covalynce_domain::NewEvent`]s or says why it ignored it.
//!
//! The public entry for GitHub is [`github::verify_signature`] followed by
//! [`github::classify`]; for Jira [`jira::verify_signature`] and [`jira::classify`]; for
//! any other tool [`generic::normalize`]. Nothing here touches storage or the network.

pub mod generic;
pub mod git;
pub mod github;
pub mod jira;
pub mod local;
