//! A person's answer to a publication that did not simply go out: retry a failed or
//! unknown one (same idempotency key), or confirm an unknown one they found posted.

use crate::audit::Action;
use crate::{Acting, App, AppError, Editor};
use covalynce_domain::PublicationId;
use covalynce_storage::{PublicationChange, PublicationRecord};

impl App {
    /// Sends a failed or unknown publication again, with its original idempotency key; its
    /// card is approved again until it settles.
    pub async fn retry_publication(
        &self,
        who: &Acting<Editor>,
        id: PublicationId,
    ) -> Result<Box<PublicationRecord>, AppError> {
        let change = self
            .store()
            .retry_publication(who.workspace().id, id)
            .await?;
        self.wake_workers();
        let p = settled(
            change,
            id,
            "only a failed or unknown publication on an existing channel can be retried",
        )?;
        self.record(who, Action::RetryPublication, p.id, serde_json::json!({}))
            .await;
        Ok(p)
    }

    /// Marks an unknown publication as published: a person checked that it is there.
    pub async fn confirm_publication(
        &self,
        who: &Acting<Editor>,
        id: PublicationId,
    ) -> Result<Box<PublicationRecord>, AppError> {
        let change = self
            .store()
            .confirm_publication(who.workspace().id, id)
            .await?;
        let p = settled(change, id, "only an unknown publication can be confirmed")?;
        self.record(who, Action::ConfirmPublication, p.id, serde_json::json!({}))
            .await;
        Ok(p)
    }
}

fn settled(
    change: PublicationChange,
    id: PublicationId,
    what: &str,
) -> Result<Box<PublicationRecord>, AppError> {
    match change {
        PublicationChange::Done(p) => Ok(p),
        PublicationChange::NotFound => Err(AppError::missing(id)),
        PublicationChange::Conflict(status) => Err(AppError::Conflict(format!(
            "publication {id} is {}; {what}",
            status.as_str()
        ))),
    }
}
