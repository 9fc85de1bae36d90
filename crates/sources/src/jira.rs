//! Jira Cloud issue webhooks: an issue that moves into a status of category "done"
//! becomes an [`EventKind::IssueDone`] event.
//!
//! Contract (developer.atlassian.com, "Webhooks"; shapes from Jira's sample payloads):
//! `webhookEvent: "jira:issue_updated"`, `changelog.items[]` with `field: "status"`, and
//! `issue.fields.status.statusCategory.key == "done"`. Status *names* are per workflow
//! ("Done", "Shipped", "Closed"), so the category decides, never the name. Admin webhooks
//! with a secret carry `X-Hub-Signature: sha256=<hex HMAC-SHA256 of the raw body>`;
//! `X-Atlassian-Webhook-Identifier` names a delivery and is unchanged across retries.

use crate::github::{Classified, PayloadError, SignatureError, verify_hub_signature};
use covalynce_domain::facts::{ProjectContext, WorkItemFacts};
use covalynce_domain::{EventFacts, EventKind, NewEvent, Work};
use serde::Deserialize;
use serde_json::Value;

pub const SIGNATURE_HEADER: &str = "X-Hub-Signature";
pub const DELIVERY_HEADER: &str = "X-Atlassian-Webhook-Identifier";

/// Checks Jira's `X-Hub-Signature` over the raw body bytes.
pub fn verify_signature(
    secret: &[u8],
    body: &[u8],
    header: Option<&str>,
) -> Result<(), SignatureError> {
    verify_hub_signature(SIGNATURE_HEADER, secret, body, header)
}

#[derive(Deserialize)]
struct Payload {
    #[serde(rename = "webhookEvent")]
    webhook_event: Option<String>,
    timestamp: Option<i64>,
    issue: Option<Issue>,
    changelog: Option<Changelog>,
    user: Option<User>,
}

#[derive(Deserialize)]
struct Issue {
    id: Option<String>,
    key: Option<String>,
    #[serde(rename = "self")]
    self_url: Option<String>,
    #[serde(default)]
    fields: Fields,
}

#[derive(Deserialize, Default)]
struct Fields {
    summary: Option<String>,
    /// Plain text in classic payloads, an Atlassian Document (JSON) in newer ones.
    description: Option<Value>,
    status: Option<Status>,
    issuetype: Option<Named>,
    project: Option<Project>,
    #[serde(rename = "fixVersions", default)]
    fix_versions: Vec<Named>,
    resolution: Option<Named>,
    assignee: Option<User>,
}

#[derive(Deserialize)]
struct Status {
    name: Option<String>,
    #[serde(rename = "statusCategory")]
    status_category: Option<Category>,
}

#[derive(Deserialize)]
struct Category {
    key: Option<String>,
}

#[derive(Deserialize)]
struct Named {
    name: Option<String>,
}

#[derive(Deserialize)]
struct Project {
    key: Option<String>,
    name: Option<String>,
}

#[derive(Deserialize)]
struct User {
    #[serde(rename = "displayName")]
    display_name: Option<String>,
}

#[derive(Deserialize)]
struct Changelog {
    #[serde(default)]
    items: Vec<ChangeItem>,
}

#[derive(Deserialize)]
struct ChangeItem {
    field: Option<String>,
    #[serde(rename = "fromString")]
    from_string: Option<String>,
    #[serde(rename = "toString")]
    to_string: Option<String>,
}

fn shape(detail: &str) -> PayloadError {
    PayloadError::Shape {
        event: "jira".into(),
        detail: detail.into(),
    }
}

/// Turns a verified Jira delivery into an event, or says why it starts no work.
pub fn classify(body: &[u8]) -> Result<Classified, PayloadError> {
    let p: Payload =
        serde_json::from_slice(body).map_err(|e| PayloadError::NotJson(e.to_string()))?;
    let name = p
        .webhook_event
        .ok_or_else(|| shape("webhookEvent is missing"))?;
    if name != "jira:issue_updated" {
        return Ok(Classified::Ignored(format!(
            "{name:?} is not watched: only issues moving to done (jira:issue_updated) are"
        )));
    }
    let issue = p.issue.ok_or_else(|| shape("issue is missing"))?;
    let id = issue.id.ok_or_else(|| shape("issue.id is missing"))?;
    let key = issue.key.ok_or_else(|| shape("issue.key is missing"))?;
    let status_change = p
        .changelog
        .iter()
        .flat_map(|c| c.items.iter())
        .find(|i| i.field.as_deref() == Some("status"));
    let Some(change) = status_change else {
        return Ok(Classified::Ignored(format!(
            "{key} changed, but not its status"
        )));
    };
    let f = issue.fields;
    let status = f.status.as_ref();
    let category = status
        .and_then(|s| s.status_category.as_ref())
        .and_then(|c| c.key.as_deref());
    let status_name = status
        .and_then(|s| s.name.clone())
        .or_else(|| change.to_string.clone())
        .unwrap_or_default();
    if category != Some("done") {
        return Ok(Classified::Ignored(format!(
            "{key} moved to {status_name:?}, whose category is {:?}, not done",
            category.unwrap_or("unknown")
        )));
    }
    // The site, from the issue's REST URL: keys are unique per site, not across sites.
    let site = issue
        .self_url
        .as_deref()
        .and_then(|u| u.split("://").nth(1))
        .and_then(|rest| rest.split('/').next())
        .unwrap_or("jira")
        .to_owned();
    let project = f.project.as_ref();
    let project_key = project.and_then(|p| p.key.clone()).unwrap_or_default();
    let summary = f.summary.unwrap_or_default();
    let description = f.description.as_ref().map(plain_text).unwrap_or_default();
    let browse = issue
        .self_url
        .as_deref()
        .and_then(|u| u.split("/rest/").next())
        .map(|base| format!("{base}/browse/{key}"));
    let label = if project_key.is_empty() {
        site.clone()
    } else {
        project_key.clone()
    };
    Ok(Classified::Events(vec![NewEvent {
        kind: EventKind::IssueDone,
        // Once per issue: reopened and done again is not news twice.
        dedup_key: format!("jira:{site}:{id}"),
        repo: label,
        title: format!("{key}: {summary}"),
        occurred_at: p.timestamp,
        facts: EventFacts {
            project: ProjectContext {
                project_name: project.and_then(|p| p.name.clone()),
                ..ProjectContext::default()
            },
            work: Work::Item(WorkItemFacts {
                key: Some(key),
                summary: Some(summary),
                body: Some(description),
                url: browse,
                issue_type: f.issuetype.and_then(|t| t.name),
                project: Some(project_key),
                status: Some(status_name),
                from_status: change.from_string.clone(),
                fix_versions: f.fix_versions.into_iter().filter_map(|v| v.name).collect(),
                resolution: f.resolution.and_then(|r| r.name),
                author: f
                    .assignee
                    .and_then(|a| a.display_name)
                    .or_else(|| p.user.and_then(|u| u.display_name)),
                site: Some(site),
                ..WorkItemFacts::default()
            }),
        },
    }]))
}

/// A description as plain text: a string as is; an Atlassian Document's text nodes, a
/// line per paragraph or list item.
fn plain_text(v: &Value) -> String {
    fn walk(v: &Value, out: &mut String) {
        if let Some(t) = v.get("text").and_then(Value::as_str) {
            out.push_str(t);
        }
        if let Some(children) = v.get("content").and_then(Value::as_array) {
            let block = matches!(
                v.get("type").and_then(Value::as_str),
                Some("paragraph" | "listItem" | "heading")
            );
            let list_item = v.get("type").and_then(Value::as_str) == Some("listItem");
            if list_item {
                out.push_str("- ");
            }
            for c in children {
                walk(c, out);
            }
            if block && !out.ends_with('\n') {
                out.push('\n');
            }
        }
    }
    match v {
        Value::String(s) => s.clone(),
        Value::Object(_) => {
            let mut out = String::new();
            walk(v, &mut out);
            out.trim().to_owned()
        }
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn delivery(category: &str, status: &str, items: Value) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "timestamp": 1_763_900_000_000_i64,
            "webhookEvent": "jira:issue_updated",
            "issue_event_type_name": "issue_generic",
            "user": {"accountId": "5b10a2844c20165700ede21g", "displayName": "Ada Lovelace"},
            "issue": {
                "id": "10002",
                "self": "https://acme.atlassian.net/rest/api/2/10002",
                "key": "ROCK-42",
                "fields": {
                    "summary": "Export reports as CSV",
                    "description": "Customers can download any report as CSV.",
                    "status": {"name": status, "id": "10001", "statusCategory": {"id": 3, "key": category, "name": "Done"}},
                    "issuetype": {"name": "Story"},
                    "project": {"key": "ROCK", "name": "Rocket"},
                    "fixVersions": [{"name": "2.4.0"}],
                    "resolution": {"name": "Done"},
                    "assignee": {"displayName": "Grace Hopper"}
                }
            },
            "changelog": {"id": "10400", "items": items}
        }))
        .unwrap()
    }

    fn to_status(name: &str) -> Value {
        json!([{"field": "status", "fieldtype": "jira", "from": "3", "fromString": "In Progress", "to": "10001", "toString": name}])
    }

    #[test]
    fn an_issue_moved_into_a_done_category_status_is_an_event_whatever_the_status_is_called() {
        let Classified::Events(events) =
            classify(&delivery("done", "Shipped", to_status("Shipped"))).unwrap()
        else {
            panic!("expected an event")
        };
        let e = &events[0];
        assert_eq!(e.kind, EventKind::IssueDone);
        assert_eq!(e.dedup_key, "jira:acme.atlassian.net:10002");
        assert_eq!(e.title, "ROCK-42: Export reports as CSV");
        assert_eq!(e.repo, "ROCK");
        assert_eq!(
            e.facts.to_value()["url"],
            "https://acme.atlassian.net/browse/ROCK-42"
        );
        assert_eq!(e.facts.to_value()["fix_versions"], json!(["2.4.0"]));
        assert_eq!(e.facts.to_value()["author"], "Grace Hopper");
        assert_eq!(e.occurred_at, Some(1_763_900_000_000));
    }

    #[test]
    fn a_status_named_done_in_another_category_is_not_done() {
        let c = classify(&delivery("indeterminate", "Done", to_status("Done"))).unwrap();
        assert!(
            matches!(&c, Classified::Ignored(r) if r.contains("not done")),
            "{c:?}"
        );
    }

    #[test]
    fn other_changes_and_events_are_ignored_with_a_reason() {
        let assignee = json!([{"field": "assignee", "fromString": "a", "toString": "b"}]);
        assert!(matches!(
            classify(&delivery("done", "Done", assignee)).unwrap(),
            Classified::Ignored(r) if r.contains("not its status")
        ));
        let created = br#"{"webhookEvent":"jira:issue_created","issue":{"id":"1","key":"A-1"}}"#;
        assert!(matches!(classify(created).unwrap(), Classified::Ignored(_)));
        assert!(matches!(
            classify(b"not json"),
            Err(PayloadError::NotJson(_))
        ));
        assert!(matches!(
            classify(br#"{"webhookEvent":"jira:issue_updated"}"#),
            Err(PayloadError::Shape { .. })
        ));
    }

    #[test]
    fn atlassian_document_descriptions_become_plain_lines() {
        let adf = json!({"type": "doc", "version": 1, "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": "Adds CSV export."}]},
            {"type": "bulletList", "content": [
                {"type": "listItem", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "one click"}]}]}
            ]}
        ]});
        assert_eq!(plain_text(&adf), "Adds CSV export.\n- one click");
    }

    #[test]
    fn the_signature_header_is_named_in_errors() {
        let e = verify_signature(b"k", b"{}", None).unwrap_err();
        assert_eq!(e.to_string(), "the X-Hub-Signature header is missing");
        let good = crate::github::sign(b"k", b"{}");
        assert_eq!(verify_signature(b"k", b"{}", Some(&good)), Ok(()));
    }
}
