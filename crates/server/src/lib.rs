//! The edge around the pipeline: configuration, the HTTP server (API, webhooks, health,
//! metrics, docs), the background worker pool, and the command line.
//!
//! The pipeline itself lives in its own crates — sources → understanding → drafting →
//! cards → publishing — with storage beneath; this crate wires them to the outside world.

pub mod ai;
pub mod analytics;
pub mod auth;
pub mod billing;
pub mod cli;
pub mod config;
pub mod crypto;
pub mod demo;
pub mod draft;
pub mod github;
pub mod github_project;
pub mod http;
pub mod jobs;
pub mod mcp;
pub mod remote;
pub mod startup;
pub mod telemetry;
pub mod tokens;
pub mod ui;
pub mod watch;

pub use config::Config;
pub use startup::Application;
