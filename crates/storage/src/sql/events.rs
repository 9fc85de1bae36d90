//! Deliveries and the events they carry: ingest (deduplicated, one transaction per batch) and their reads.

use crate::{DeliveryRecord, EventFilter, EventRecord, IngestOutcome, PreparedIngest, Result};
use async_trait::async_trait;
use covalynce_domain::{EventId, SourceId, WorkspaceId};

#[async_trait]
pub trait EventStore {
    /// Stores deliveries and their events in one transaction, deduplicating by delivery id
    /// and by the events' own keys, and enqueues each new event's next job.
    /// Returns one outcome per input, in input order.
    async fn ingest(&self, batch: &[PreparedIngest]) -> Result<Vec<IngestOutcome>>;
    async fn list_deliveries(
        &self,
        ws: WorkspaceId,
        source: Option<SourceId>,
        limit: i64,
    ) -> Result<Vec<DeliveryRecord>>;
    async fn delivery_body(&self, ws: WorkspaceId, guid: &str) -> Result<Option<Vec<u8>>>;
    async fn list_events(&self, ws: WorkspaceId, filter: &EventFilter) -> Result<Vec<EventRecord>>;
    async fn event(&self, ws: WorkspaceId, id: EventId) -> Result<Option<EventRecord>>;
    async fn event_by_id(&self, id: EventId) -> Result<Option<EventRecord>>;
    async fn set_event_status(
        &self,
        id: EventId,
        status: covalynce_domain::EventStatus,
        reason: Option<&str>,
    ) -> Result<()>;
}

/// The queries, once for both backends (`impl_store!`).
macro_rules! impl_events {
    ($store:ty, $db:ty) => {

        #[async_trait::async_trait]
        impl $crate::EventStore for $store {
            async fn ingest(
                &self,
                prepared: &[$crate::PreparedIngest],
            ) -> $crate::Result<Vec<$crate::IngestOutcome>> {
                use std::collections::HashMap;
                if prepared.is_empty() {
                    return Ok(Vec::new());
                }
                let batch: Vec<&$crate::Ingest> = prepared.iter().map(|p| &p.item).collect();
                // A few multi-row statements per batch, not a few per delivery: each
                // statement is a round trip to the database, and the batch is what waits.
                let order = $crate::sql::lock_order(prepared);
                let delivery_ids: Vec<covalynce_domain::DeliveryId> =
                    batch.iter().map(|_| covalynce_domain::DeliveryId::new()).collect();
                let mut tx = self.pools.write($crate::unit::Scope::System).await?;

                let mut qb = sqlx::QueryBuilder::<$db>::new(
                    "INSERT INTO deliveries (id, workspace_id, source_id, guid, event_name, outcome, reason, body, body_encoding, size, received_at) ",
                );
                qb.push_values(order.iter(), |mut row, &i| {
                    let d = &batch[i];
                    row.push_bind(delivery_ids[i].to_string())
                        .push_bind(d.workspace_id.to_string())
                        .push_bind(d.source_id.to_string())
                        .push_bind(d.guid.as_str())
                        .push_bind(d.event_name.clone())
                        .push_bind(d.outcome.as_str())
                        .push_bind(d.reason.clone())
                        .push_bind(prepared[i].body.as_slice())
                        .push_bind("lz4")
                        .push_bind(prepared[i].size)
                        .push_bind(d.received_at);
                });
                qb.push(" ON CONFLICT (source_id, guid) DO NOTHING RETURNING id");
                let inserted: Vec<String> = qb.build_query_scalar().fetch_all(&mut *tx).await?;
                let inserted: std::collections::HashSet<String> = inserted.into_iter().collect();
                let is_new: Vec<bool> = delivery_ids
                    .iter()
                    .map(|id| inserted.contains(&id.to_string()))
                    .collect();

                // Events of the new deliveries, in lock order.
                struct Pending<'a> {
                    delivery: usize,
                    id: covalynce_domain::EventId,
                    event: &'a covalynce_domain::NewEvent,
                    data: &'a str,
                }
                let mut pending = Vec::new();
                for &i in &order {
                    if !is_new[i] {
                        continue;
                    }
                    for (e, data) in batch[i].events.iter().zip(&prepared[i].event_data) {
                        pending.push(Pending { delivery: i, id: covalynce_domain::EventId::new(), event: e, data });
                    }
                }
                let mut new_events = std::collections::HashSet::new();
                for chunk in pending.chunks(500) {
                    let mut qb = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO events (id, workspace_id, source_id, delivery_id, kind, dedup_key, repo, title, data, occurred_at, created_at) ",
                    );
                    qb.push_values(chunk.iter(), |mut row, p| {
                        let d = &batch[p.delivery];
                        row.push_bind(p.id.to_string())
                            .push_bind(d.workspace_id.to_string())
                            .push_bind(d.source_id.to_string())
                            .push_bind(delivery_ids[p.delivery].to_string())
                            .push_bind(p.event.kind.as_str())
                            .push_bind(p.event.dedup_key.clone())
                            .push_bind(p.event.repo.clone())
                            .push_bind(p.event.title.clone())
                            .push_bind(p.data)
                            .push_bind(p.event.occurred_at)
                            .push_bind(d.received_at);
                    });
                    qb.push(" ON CONFLICT (workspace_id, dedup_key) DO NOTHING RETURNING id");
                    let ids: Vec<String> = qb.build_query_scalar().fetch_all(&mut *tx).await?;
                    new_events.extend(ids);
                }

                // Each new event's next step, in the same transaction: no event without its job.
                let jobs: Vec<(&Pending, covalynce_domain::JobKind)> = pending
                    .iter()
                    .filter(|p| new_events.contains(&p.id.to_string()))
                    .filter_map(|p| p.event.kind.next_job().map(|k| (p, k)))
                    .collect();
                for chunk in jobs.chunks(500) {
                    let mut qb = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO jobs (id, workspace_id, kind, payload, run_at, created_at, updated_at) ",
                    );
                    qb.push_values(chunk.iter(), |mut row, (p, kind)| {
                        let d = &batch[p.delivery];
                        row.push_bind(covalynce_domain::JobId::new().to_string())
                            .push_bind(d.workspace_id.to_string())
                            .push_bind(kind.as_str())
                            .push_bind(covalynce_domain::Job::DraftEvent { event: p.id }.payload())
                            .push_bind(d.received_at)
                            .push_bind(d.received_at)
                            .push_bind(d.received_at);
                    });
                    qb.build().execute(&mut *tx).await?;
                }

                // Events that were already stored (by an earlier delivery, or by another
                // delivery in this batch): point at the stored one.
                let mut existing: HashMap<(covalynce_domain::WorkspaceId, &str), covalynce_domain::EventId> = HashMap::new();
                for p in pending.iter().filter(|p| !new_events.contains(&p.id.to_string())) {
                    let ws = batch[p.delivery].workspace_id;
                    if existing.contains_key(&(ws, p.event.dedup_key.as_str())) {
                        continue;
                    }
                    let id: String = sqlx::query_scalar(
                        "SELECT id FROM events WHERE workspace_id = $1 AND dedup_key = $2",
                    )
                    .bind(ws.to_string())
                    .bind(p.event.dedup_key.clone())
                    .fetch_one(&mut *tx)
                    .await?;
                    existing.insert(
                        (ws, p.event.dedup_key.as_str()),
                        $crate::sql::parse_id(&id, covalynce_domain::EventId::parse)?,
                    );
                }

                let mut touched: Vec<(covalynce_domain::SourceId, i64)> = Vec::new();
                for (i, d) in batch.iter().enumerate().filter(|(i, _)| is_new[*i]) {
                    let _ = i;
                    match touched.iter_mut().find(|(s, _)| *s == d.source_id) {
                        Some((_, at)) => *at = (*at).max(d.received_at),
                        None => touched.push((d.source_id, d.received_at)),
                    }
                }
                touched.sort();
                for (source, at) in touched {
                    sqlx::query(
                        "UPDATE sources SET last_delivery_at = $1
                         WHERE id = $2 AND (last_delivery_at IS NULL OR last_delivery_at < $1)",
                    )
                    .bind(at)
                    .bind(source.to_string())
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;

                let mut outcomes = vec![$crate::IngestOutcome::Duplicate; batch.len()];
                let mut events_of: Vec<Vec<$crate::StoredEvent>> = vec![Vec::new(); batch.len()];
                for p in &pending {
                    let new = new_events.contains(&p.id.to_string());
                    let id = if new {
                        p.id
                    } else {
                        existing[&(batch[p.delivery].workspace_id, p.event.dedup_key.as_str())]
                    };
                    events_of[p.delivery].push($crate::StoredEvent { id, kind: p.event.kind, new });
                }
                for (i, events) in events_of.into_iter().enumerate() {
                    if is_new[i] {
                        outcomes[i] = $crate::IngestOutcome::Stored { delivery_id: delivery_ids[i], events };
                    }
                }
                Ok(outcomes)
            }

            async fn list_deliveries(
                &self,
                ws: covalynce_domain::WorkspaceId,
                source: Option<covalynce_domain::SourceId>,
                limit: i64,
            ) -> $crate::Result<Vec<$crate::DeliveryRecord>> {
                let mut tx = self.pools.read($crate::unit::Scope::Workspace(ws)).await?;
                let rows: Vec<$crate::sql::DeliveryRow> = sqlx::query_as(
                    "SELECT id, source_id, guid, event_name, outcome, reason,
                            size, received_at
                     FROM deliveries
                     WHERE workspace_id = $1 AND ($2 IS NULL OR source_id = $2)
                     ORDER BY id DESC LIMIT $3",
                )
                .bind(ws.to_string())
                .bind(source.map(|s| s.to_string()))
                .bind(limit)
                .fetch_all(&mut *tx)
                .await?;
                tx.commit().await?;
                $crate::sql::collect(rows)
            }

            async fn delivery_body(
                &self,
                ws: covalynce_domain::WorkspaceId,
                guid: &str,
            ) -> $crate::Result<Option<Vec<u8>>> {
                let mut tx = self.pools.read($crate::unit::Scope::Workspace(ws)).await?;
                let row: Option<(Vec<u8>, String)> = sqlx::query_as(
                    "SELECT body, body_encoding FROM deliveries WHERE workspace_id = $1 AND guid = $2",
                )
                .bind(ws.to_string())
                .bind(guid)
                .fetch_optional(&mut *tx)
                .await?;
                tx.commit().await?;
                row.map(|(body, encoding)| $crate::sql::decode_body(body, &encoding)).transpose()
            }

            async fn list_events(
                &self,
                ws: covalynce_domain::WorkspaceId,
                f: &$crate::EventFilter,
            ) -> $crate::Result<Vec<$crate::EventRecord>> {
                let mut tx = self.pools.read($crate::unit::Scope::Workspace(ws)).await?;
                let rows: Vec<$crate::sql::EventRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM events
                     WHERE workspace_id = $1
                       AND ($2 IS NULL OR kind = $2)
                       AND ($3 IS NULL OR status = $3)
                       AND ($4 IS NULL OR id < $4)
                       AND ($6 IS NULL OR lower(repo) = lower($6))
                     ORDER BY id DESC LIMIT $5",
                    $crate::sql::EVENT_COLS
                )))
                .bind(ws.to_string())
                .bind(f.kind.map(|k| k.as_str()))
                .bind(f.status.map(|s| s.as_str()))
                .bind(f.before.map(|b| b.to_string()))
                .bind(f.limit)
                .bind(f.repo.as_deref())
                .fetch_all(&mut *tx)
                .await?;
                tx.commit().await?;
                $crate::sql::collect(rows)
            }

            async fn event(
                &self,
                ws: covalynce_domain::WorkspaceId,
                id: covalynce_domain::EventId,
            ) -> $crate::Result<Option<$crate::EventRecord>> {
                let mut tx = self.pools.read($crate::unit::Scope::Workspace(ws)).await?;
                let row: Option<$crate::sql::EventRow> =
                    sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "SELECT {} FROM events WHERE id = $1 AND workspace_id = $2",
                        $crate::sql::EVENT_COLS
                    )))
                    .bind(id.to_string())
                    .bind(ws.to_string())
                    .fetch_optional(&mut *tx)
                    .await?;
                tx.commit().await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn event_by_id(
                &self,
                id: covalynce_domain::EventId,
            ) -> $crate::Result<Option<$crate::EventRecord>> {
                let mut tx = self.pools.read($crate::unit::Scope::System).await?;
                let row: Option<$crate::sql::EventRow> =
                    sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "SELECT {} FROM events WHERE id = $1",
                        $crate::sql::EVENT_COLS
                    )))
                    .bind(id.to_string())
                    .fetch_optional(&mut *tx)
                    .await?;
                tx.commit().await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn set_event_status(
                &self,
                id: covalynce_domain::EventId,
                status: covalynce_domain::EventStatus,
                reason: Option<&str>,
            ) -> $crate::Result<()> {
                let mut tx = self.pools.relaxed($crate::unit::Scope::System).await?;
                sqlx::query("UPDATE events SET status = $1, status_reason = $2 WHERE id = $3")
                    .bind(status.as_str())
                    .bind(reason)
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }
        }
    };
}

pub(crate) use impl_events;
