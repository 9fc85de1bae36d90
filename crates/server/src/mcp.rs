//! `covalynce mcp`: review cards from an AI assistant. An MCP server over stdio (the
//! official SDK, `rmcp`) that acts on a Covalynce server through its API with a token, so
//! the server's roles, checks and audit log apply; every request says it came from MCP
//! (`X-Covalynce-Client: mcp`), which the audit log records. Tools answer in a few words
//! plus the API's JSON as structured content. Logs go to stderr: stdout is the protocol.

use crate::remote::{Remote, RemoteError, describe, line};
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{
    CallToolResult, ContentBlock, Implementation, ListResourcesResult, PaginatedRequestParams,
    ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult, Resource,
    ResourceContents, ServerCapabilities, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt, tool, tool_handler, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

/// The pending stack, as a resource.
pub const PENDING_URI: &str = "covalynce://cards/pending";

#[derive(Clone)]
pub struct CovalynceMcp {
    remote: Arc<Remote>,
    tool_router: ToolRouter<Self>,
}

#[derive(Deserialize, JsonSchema)]
pub struct ListArgs {
    /// At most this many cards (default 20, at most 100).
    pub limit: Option<usize>,
}

#[derive(Deserialize, JsonSchema)]
pub struct CardArgs {
    /// The card's id.
    pub id: String,
}

#[derive(Deserialize, JsonSchema)]
pub struct EditArgs {
    pub id: String,
    /// The channel whose post to replace: linkedin, x, mastodon, bluesky, slack, discord.
    pub channel: String,
    /// The new post text.
    pub text: String,
}

#[derive(Deserialize, JsonSchema)]
pub struct RefineArgs {
    pub id: String,
    /// What to change, in words ("shorter", "mention the CSV export first").
    pub instruction: String,
    /// Only these channels' posts (default: all).
    pub channels: Option<Vec<String>>,
}

#[derive(Deserialize, JsonSchema)]
pub struct ApproveArgs {
    pub id: String,
    /// Channel names or ids to publish to; they must be named.
    pub channels: Vec<String>,
}

#[derive(Deserialize, JsonSchema)]
pub struct DraftArgs {
    /// A local git repository (any directory inside it).
    pub repo: String,
    /// Start of the range (exclusive); default: the previous tag.
    pub from: Option<String>,
    /// End of the range: a tag, branch or commit (default HEAD).
    pub to: Option<String>,
}

/// A tool's answer: a few words for the assistant and the JSON for programs.
fn done(text: String, structured: Value) -> CallToolResult {
    let mut r = CallToolResult::success(vec![ContentBlock::text(text)]);
    r.structured_content = Some(structured);
    r
}

/// A refusal the assistant should read (the server's own words), not a protocol error.
fn refused(e: impl std::fmt::Display) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(e.to_string())])
}

fn answer(r: Result<CallToolResult, RemoteError>) -> Result<CallToolResult, ErrorData> {
    Ok(r.unwrap_or_else(refused))
}

#[tool_router(router = tool_router)]
impl CovalynceMcp {
    pub fn new(remote: Remote) -> Self {
        Self {
            remote: Arc::new(remote),
            tool_router: Self::tool_router(),
        }
    }

    #[tool(
        description = "List the cards waiting for review (oldest first): id, risk light and title."
    )]
    async fn list_pending(
        &self,
        Parameters(a): Parameters<ListArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        answer(
            self.remote
                .cards("pending", a.limit.unwrap_or(20))
                .await
                .map(|cards| {
                    let text = if cards.is_empty() {
                        "No card is waiting for review.".to_owned()
                    } else {
                        cards.iter().map(line).collect::<Vec<_>>().join("\n")
                    };
                    done(text, json!({ "cards": cards }))
                }),
        )
    }

    #[tool(
        description = "Show one card: its post for each channel, its risk light and the reasons."
    )]
    async fn show_card(
        &self,
        Parameters(a): Parameters<CardArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        answer(self.remote.card(&a.id).await.map(|c| done(describe(&c), c)))
    }

    #[tool(
        description = "Replace one channel's post on a pending card (a new revision; the draft is kept)."
    )]
    async fn edit_variant(
        &self,
        Parameters(a): Parameters<EditArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        answer(
            self.remote
                .edit(&a.id, &a.channel, &a.text)
                .await
                .map(|c| done(format!("Edited the {} post of {}.", a.channel, a.id), c)),
        )
    }

    #[tool(
        description = "Ask the workspace's AI to rewrite a card as instructed (when AI drafting is set up); the facts stay the card's."
    )]
    async fn refine(
        &self,
        Parameters(a): Parameters<RefineArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        answer(
            self.remote
                .refine(&a.id, &a.instruction, a.channels.as_deref())
                .await
                .map(|c| done(format!("Refined {}:\n{}", a.id, describe(&c)), c)),
        )
    }

    #[tool(
        description = "Approve a pending card to named channels; it is published once. Red cards are refused: a person edits them first. Needs an editor's token."
    )]
    async fn approve(
        &self,
        Parameters(a): Parameters<ApproveArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        if a.channels.is_empty() {
            return Ok(refused(
                "Name the channels to publish to (list them with show_card's channels or the Channels page).",
            ));
        }
        let card = match self.remote.card(&a.id).await {
            Ok(c) => c,
            Err(e) => return Ok(refused(e)),
        };
        if card["risk"] == "red" {
            let reasons: Vec<&str> = card["risk_reasons"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            return Ok(refused(format!(
                "{} is red ({}): an assistant cannot approve it; a person edits it first.",
                a.id,
                reasons.join("; ")
            )));
        }
        answer(
            async {
                let ids = self.remote.channel_ids(&a.channels).await?;
                // A thread cut from an over-long text is a person's yes, not an assistant's.
                let c = self.remote.approve(&a.id, &ids, false).await?;
                Ok(done(
                    format!(
                        "Approved {} to {}; it goes out shortly.",
                        a.id,
                        a.channels.join(", ")
                    ),
                    c,
                ))
            }
            .await,
        )
    }

    #[tool(description = "Dismiss a pending card: it will not be posted (undo in the web UI).")]
    async fn dismiss(
        &self,
        Parameters(a): Parameters<CardArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        answer(
            self.remote
                .dismiss(&a.id)
                .await
                .map(|c| done(format!("Dismissed {}.", a.id), c)),
        )
    }

    #[tool(
        description = "Draft release notes and posts for a range of a local git repository, offline (nothing is stored or sent)."
    )]
    async fn draft_release_notes(
        &self,
        Parameters(a): Parameters<DraftArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        let drafted = tokio::task::spawn_blocking(move || {
            let req = covalynce_app::drafting::Request {
                repo: std::path::Path::new(&a.repo),
                from: a.from.as_deref(),
                to: a.to.as_deref().unwrap_or("HEAD"),
                voice: covalynce_drafting::Voice::default(),
            };
            covalynce_app::drafting::draft(&req).map(|out| {
                (
                    covalynce_app::drafting::render(
                        &out,
                        covalynce_app::drafting::Format::Markdown,
                    ),
                    covalynce_app::drafting::render(&out, covalynce_app::drafting::Format::Json),
                )
            })
        })
        .await
        .map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
        Ok(match drafted {
            Ok((markdown, json)) => {
                done(markdown, serde_json::from_str(&json).unwrap_or(Value::Null))
            }
            Err(e) => refused(format!("{e:#}")),
        })
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for CovalynceMcp {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_resources()
                .build(),
        )
        .with_server_info(Implementation::new("covalynce", env!("CARGO_PKG_VERSION")))
        .with_instructions(
            "Review Covalynce's cards: list_pending, show_card, then edit_variant, refine, approve (to named channels) or dismiss. The pending stack is the resource covalynce://cards/pending.",
        )
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        Ok(ListResourcesResult::with_all_items(vec![
            Resource::new(PENDING_URI, "pending cards")
                .with_description("The cards waiting for review, oldest first (JSON).")
                .with_mime_type("application/json"),
        ]))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        if request.uri != PENDING_URI {
            return Err(ErrorData::resource_not_found(
                format!("there is no resource {}", request.uri),
                None,
            ));
        }
        let cards = self
            .remote
            .cards("pending", 100)
            .await
            .map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
        let text = serde_json::to_string_pretty(&cards).unwrap_or_default();
        Ok(ReadResourceResult::new(vec![ResourceContents::text(text, PENDING_URI)]).into())
    }
}

/// Serves MCP on stdin/stdout until the client closes it.
pub async fn serve(remote: Remote) -> anyhow::Result<()> {
    let service = CovalynceMcp::new(remote)
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| anyhow::anyhow!("starting the MCP server: {e}"))?;
    service
        .waiting()
        .await
        .map_err(|e| anyhow::anyhow!("the MCP session ended with an error: {e}"))?;
    Ok(())
}
