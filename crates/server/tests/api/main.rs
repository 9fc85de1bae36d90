//! The server, end to end over real HTTP, on SQLite and on PostgreSQL.

mod accounts;
mod ai;
mod bluesky;
mod browser;
mod cards;
mod channels;
mod cli;
mod crash;
mod draft;
mod evaluation;
mod fakes;
mod github_hooks;
mod helpers;
mod jobs;
mod linkedin;
mod mastodon;
mod openapi;
mod operations;
mod pds;
mod publishing;
mod replicas;
mod sign_in_with_github;
mod sources;
mod ui;
mod watch;
mod x;
