//! `/api/v1`: every handler takes [`Auth`](super::extract::Auth) and stays inside its
//! workspace. Collections answer `{"data": [...], "meta": {...}}`, objects `{"data": {...}}`.

pub mod account;
pub mod ai;
pub mod analytics;
pub mod cards;
pub mod changelog;
pub mod channels;
pub mod deliveries;
pub mod events;
pub mod jobs;
pub mod members;
pub mod publications;
pub mod sources;
pub mod workspace;

use serde::{Deserialize, Serialize};

#[derive(Serialize, utoipa::ToSchema)]
pub struct Data<T> {
    pub data: T,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct List<T> {
    pub data: Vec<T>,
    pub meta: ListMeta,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ListMeta {
    pub count: usize,
    /// Pass as `before` to get the next (older) page; absent on the last page.
    pub next_before: Option<String>,
}

impl<T> List<T> {
    /// `limit` is what was asked for: a full page means there may be more.
    pub fn page(data: Vec<T>, limit: i64, cursor: impl Fn(&T) -> String) -> Self {
        let next_before = (data.len() as i64 == limit && limit > 0)
            .then(|| data.last().map(&cursor))
            .flatten();
        Self {
            meta: ListMeta {
                count: data.len(),
                next_before,
            },
            data,
        }
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct Paging {
    /// At most this many items (1–200, default 50).
    pub limit: Option<i64>,
    /// Only items older than this id (from `meta.next_before`).
    pub before: Option<String>,
}

impl Paging {
    pub fn limit(&self) -> i64 {
        self.limit.unwrap_or(50).clamp(1, 200)
    }
}

pub use covalynce_app::connect::{given, signing_secret};

pub fn time(ms: i64) -> String {
    covalynce_domain::time::format_rfc3339(ms)
}
