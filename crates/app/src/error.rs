//! One error for every use case. Adapters map it to their own answers by an exhaustive
//! `match` (the server's `ApiError`, a UI message), so a new variant that no adapter
//! answers does not compile.

use covalynce_storage::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Nothing of that id in this workspace (the same answer whether it exists elsewhere
    /// or not at all).
    #[error("{0}")]
    NotFound(String),
    /// The thing is not in a state that allows this (an approved card cannot be dismissed).
    #[error("{0}")]
    Conflict(String),
    /// The request names something invalid (no channel, an unknown channel).
    #[error("{0}")]
    Invalid(String),
    /// The request cannot be honoured as sent: a step of a flow this person did not start
    /// here, or that has expired (an OAuth callback with the wrong `state`).
    #[error("{0}")]
    BadRequest(String),
    /// Who is asking could not be told (a wrong email or password: the same answer for
    /// both).
    #[error("{0}")]
    Unauthorized(String),
    /// The role does not allow this.
    #[error("{0}")]
    Forbidden(String),
    /// The workspace's plan does not allow more (seats, cards this period).
    #[error("{0}")]
    PlanLimit(String),
    /// A service outside Covalynce (GitHub) did not answer as it documents: worth another
    /// try later.
    #[error("{0}")]
    Unavailable(String),
    /// The store failed; adapters tell "unavailable" from a fault by
    /// [`StoreError::is_unavailable`] and never show the cause.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl AppError {
    /// Nothing of this id in the workspace: `there is no channel "…" in this workspace`.
    pub fn missing<T: covalynce_domain::Id>(id: T) -> Self {
        Self::NotFound(format!(
            "there is no {} \"{id}\" in this workspace",
            T::NOUN
        ))
    }
}
