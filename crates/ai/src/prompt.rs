//! What is sent to a provider, and what may be: the workspace's privacy setting decides,
//! and secrets are redacted from everything, always.

use crate::verify::Facts;
use covalynce_drafting::Channel;

/// What may leave the machine (a workspace setting, defined in `domain`).
pub use covalynce_domain::Privacy;

#[derive(Debug, Clone, PartialEq)]
pub struct Prompt {
    pub system: String,
    pub user: String,
    pub max_tokens: u32,
}

/// A request to write (or refine) one channel's post.
pub struct PostRequest<'a> {
    pub channel: Channel,
    /// sassy, plain or technical.
    pub voice: &'a str,
    pub facts: &'a Facts,
    /// The offline drafter's post: the baseline the AI improves on.
    pub offline: &'a str,
    /// "Make it shorter", … (refine); None for a first draft.
    pub instruction: Option<&'a str>,
}

fn redact(s: &str) -> String {
    covalynce_understanding::redact_secrets(s).0
}

impl Prompt {
    /// None when nothing may leave the machine.
    pub fn for_post(req: &PostRequest<'_>, privacy: Privacy) -> Option<Prompt> {
        if privacy == Privacy::Offline {
            return None;
        }
        let channel = req.channel;
        let system = format!(
            "You write {channel} posts announcing software changes for the team that shipped them. \
             Voice: {voice}. Use only the facts given: never add a version number, link, feature, \
             number or name that is not in them. Keep every link exactly as given. Stay within \
             {limit} {unit}. Answer with the post text only, no preamble, no quotes.",
            channel = channel.as_str(),
            voice = req.voice,
            limit = channel.limit(),
            unit = match channel {
                Channel::X => "weighted characters (links count 23)",
                Channel::Bluesky => "graphemes",
                _ => "characters",
            },
        );
        let mut user = String::from("Facts:\n");
        for line in &req.facts.lines {
            user.push_str("- ");
            user.push_str(&redact(line));
            user.push('\n');
        }
        if privacy == Privacy::Diffs && !req.facts.diffs.is_empty() {
            user.push_str("\nDiffs:\n");
            for d in &req.facts.diffs {
                user.push_str(&redact(d));
                user.push('\n');
            }
        }
        user.push_str("\nCurrent draft:\n");
        user.push_str(&redact(req.offline));
        user.push('\n');
        // A thread keeps its form: the publishers send each post as a reply to the last.
        let posts = covalynce_drafting::thread::posts(req.offline).len();
        if channel.threads() && posts > 1 {
            user.push_str(&format!(
                "\nThe current draft is a thread of {posts} posts, separated by lines of three dashes (---). \
                 Keep it a thread of at most {posts} posts in that form, each post within the limit \
                 and ending with its counter (1/{posts}, 2/{posts}, …).\n"
            ));
        }
        match req.instruction {
            Some(i) => {
                user.push_str("\nRewrite the current draft: ");
                user.push_str(&redact(i));
            }
            None => user.push_str("\nImprove the current draft for this platform and voice."),
        }
        Some(Prompt {
            system,
            user,
            max_tokens: 1024,
        })
    }
}
