//! The application layer: the use cases, one module per aggregate, each taking who acts as
//! a type (`Acting<Editor>`) that only this crate makes, after checking the role. HTTP
//! handlers, the UI, background jobs, the CLI and MCP are adapters: they parse their input,
//! call a use case, and render its answer or its [`AppError`].
//!
//! Use cases: [`cards`], [`changelog`] (the public page and feeds), [`channels`] (with [`connect`]), [`sources`], [`publications`],
//! [`workspace`], [`members`], [`accounts`], [`ai`] (settings and refine), [`images`]
//! (release images). The application's
//! own work: [`jobs`] (the worker pool: drafting, publishing, the CI gate, renewals),
//! [`github`] (GitHub's API for sources with a token), [`drafting`] (the offline draft of a
//! local range), [`analytics`], [`billing`], [`secrets`]. See ARCHITECTURE.md.

pub mod accounts;
mod acting;
pub mod ai;
pub mod analytics;
pub mod audit;
pub mod billing;
pub mod cards;
pub mod changelog;
pub mod channels;
pub mod connect;
pub mod demo;
pub mod drafting;
mod error;
pub mod github;
pub mod images;
pub mod ingest;
pub mod jobs;
pub mod members;
pub mod oauth;
pub mod operator;
pub mod password;
pub mod publications;
pub mod queue;
pub mod secrets;
pub mod sign_in;
pub mod sources;
pub mod tokens;
pub mod workspace;

pub use acting::{Acting, Actor, Editor, MinRole, Owner, Principal, Viewer};
pub use error::AppError;

use covalynce_storage::Store;
use std::sync::Arc;
use tokio::sync::Notify;

/// The use cases over one store. Cheap to clone.
#[derive(Clone)]
pub struct App {
    store: Arc<dyn Store>,
    /// Wakes the job workers when a use case queued work due now (an approval's
    /// publications); without it they find the work on their next pass.
    wake: Option<Arc<Notify>>,
}

impl App {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store, wake: None }
    }

    /// The same use cases, waking these workers when they queue work.
    pub fn waking(mut self, workers: Arc<Notify>) -> Self {
        self.wake = Some(workers);
        self
    }

    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    fn wake_workers(&self) {
        if let Some(w) = &self.wake {
            w.notify_waiters();
        }
    }
}
