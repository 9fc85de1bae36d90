//! Threads: a release that does not fit one X, Bluesky or Mastodon post becomes a numbered
//! thread whose every post fits, rather than one post that drops most of the release.
//!
//! A thread lives in a channel's variant as one text: its posts separated by a line of
//! three dashes (`---`). Posts on those platforms carry no markdown, so such a line never
//! occurs inside a drafted post, and a founder can split or join posts in the editor by
//! typing or deleting it. The publishers send each post as a reply to the one before.

use crate::Channel;

/// The line that separates the posts of a thread in a variant's text.
pub const BREAK: &str = "---";

/// A drafted thread has at most this many posts: a release that needs more says "…and N
/// more" in its last post and links the notes.
pub const MAX_POSTS: usize = 5;

/// The posts of a variant's text: one, or a thread's posts in order. Blank posts (two
/// breaks in a row, a break at the end) are dropped.
pub fn posts(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    let mut flush = |current: &mut Vec<&str>| {
        let post = current.join("\n").trim().to_owned();
        if !post.is_empty() {
            out.push(post);
        }
        current.clear();
    };
    for line in text.lines() {
        if line.trim() == BREAK {
            flush(&mut current);
        } else {
            current.push(line);
        }
    }
    flush(&mut current);
    out
}

/// The variant text of a thread's posts.
pub fn join(posts: &[String]) -> String {
    posts.join(&format!("\n\n{BREAK}\n\n"))
}

/// The first post of a variant that is over its channel's limit: (post number from 1, its
/// length as the platform counts it). Threads are checked post by post on the channels
/// that thread; elsewhere the text is one post.
pub fn over_limit(channel: Channel, text: &str) -> Option<(usize, usize)> {
    if channel.threads() {
        posts(text)
            .iter()
            .enumerate()
            .map(|(n, p)| (n + 1, channel.length(p)))
            .find(|(_, len)| *len > channel.limit())
    } else {
        let len = channel.length(text);
        (len > channel.limit()).then_some((1, len))
    }
}

/// The posts of a thread made of `head`, `lines` and `tail` (link and hashtags), each within
/// the channel's limit with its "n/N" counter; `None` when a thread cannot hold the head.
/// Lines beyond [`MAX_POSTS`] posts, and the `hidden` changes the post never offered as
/// lines, are counted ("…and 4 more") in the last post.
pub(crate) fn compose(
    channel: Channel,
    head: &str,
    lines: &[String],
    tail: &str,
    hidden: usize,
) -> Option<Vec<String>> {
    let lines: Vec<&str> = lines
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty())
        .collect();
    // Room for the counter ("\n\n5/5"), so numbering never pushes a post over.
    let limit = channel
        .limit()
        .checked_sub(channel.length(&format!("\n\n{MAX_POSTS}/{MAX_POSTS}")))?;
    if channel.length(head) > limit {
        return None;
    }
    // Fewer lines never make more posts, so the most lines that fit in MAX_POSTS are found
    // by bisection, as in a single post.
    let packed = |kept: usize| pack(channel, limit, head, &lines, kept, tail, hidden);
    let (kept, posts) = match packed(lines.len()) {
        Some(p) if p.len() <= MAX_POSTS => (lines.len(), p),
        _ => {
            let (mut lo, mut hi) = (0, lines.len());
            if packed(0).is_none_or(|p| p.len() > MAX_POSTS) {
                return None;
            }
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                if packed(mid).is_some_and(|p| p.len() <= MAX_POSTS) {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            (lo, packed(lo)?)
        }
    };
    let n = posts.len();
    // Filled in turn, the last post got what was left over (Monolog 3.10.0 on X: five
    // changes, four, then one). The same posts are shared out evenly: the smallest size
    // that still packs into as many posts, found by bisection.
    let posts = if n > 1 {
        // Never so small that the first post is the head alone.
        let within = |size: usize| {
            pack(channel, size, head, &lines, kept, tail, hidden)
                .filter(|p| p.len() <= n && (kept == 0 || p[0] != head))
        };
        let (mut lo, mut hi) = (0, limit); // !within(lo) (nothing fits 0), within(hi)
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if within(mid).is_some() {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        within(hi).unwrap_or(posts)
    } else {
        posts
    };
    let n = posts.len();
    Some(
        posts
            .into_iter()
            .enumerate()
            .map(|(k, p)| format!("{p}\n\n{}/{n}", k + 1))
            .collect(),
    )
}

/// Head, the first `kept` lines (and "…and N more" for the rest) and the tail, packed
/// into as few posts as fit `limit`; `None` when a single line cannot fit a post. A tail
/// that needs a post of its own takes the line before it along, so no post is a bare link.
fn pack(
    channel: Channel,
    limit: usize,
    head: &str,
    lines: &[&str],
    kept: usize,
    tail: &str,
    hidden: usize,
) -> Option<Vec<String>> {
    /// One post: the head (first post only), its lines, and the tail (last post only).
    struct Post<'a> {
        head: Option<&'a str>,
        lines: Vec<&'a str>,
        tail: Option<&'a str>,
    }
    fn render(p: &Post) -> String {
        let mut blocks: Vec<String> = Vec::new();
        blocks.extend(p.head.map(str::to_owned));
        if !p.lines.is_empty() {
            blocks.push(p.lines.join("\n"));
        }
        blocks.extend(p.tail.map(str::to_owned));
        blocks.join("\n\n")
    }
    let fits = |p: &Post| channel.length(&render(p)) <= limit;
    let dropped = lines.len() - kept + hidden;
    let more = (dropped > 0).then(|| format!("…and {dropped} more"));
    let mut posts: Vec<Post> = vec![Post {
        head: Some(head),
        lines: Vec::new(),
        tail: None,
    }];
    for line in lines[..kept].iter().copied().chain(more.as_deref()) {
        let last = posts.last_mut()?;
        last.lines.push(line);
        if fits(last) {
            continue;
        }
        last.lines.pop();
        let alone = Post {
            head: None,
            lines: vec![line],
            tail: None,
        };
        if !fits(&alone) {
            return None;
        }
        posts.push(alone);
    }
    if !tail.is_empty() {
        let last = posts.last_mut()?;
        last.tail = Some(tail);
        if !fits(last) {
            last.tail = None;
            // The tail goes on in a post of its own, with the last line for company when
            // the post it leaves keeps something.
            let keeps = last.head.is_some() || last.lines.len() > 1;
            let mut next = Post {
                head: None,
                lines: Vec::new(),
                tail: Some(tail),
            };
            if keeps && let Some(line) = last.lines.last().copied() {
                next.lines.push(line);
                if fits(&next) {
                    last.lines.pop();
                } else {
                    next.lines.clear();
                }
            }
            if !fits(&next) {
                return None;
            }
            posts.push(next);
        }
    }
    Some(posts.iter().map(render).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_variant_text_splits_into_its_posts_at_lines_of_three_dashes() {
        let text = "First post\nwith two lines\n\n---\n\nSecond post ---\n---\n---\nThird";
        assert_eq!(
            posts(text),
            ["First post\nwith two lines", "Second post ---", "Third"]
        );
        assert_eq!(posts(&join(&posts(text))), posts(text));
        assert_eq!(posts("One post only."), ["One post only."]);
    }

    #[test]
    fn over_limit_names_the_post_that_is_too_long() {
        let long = "word ".repeat(70);
        let thread = join(&["short".to_owned(), long.clone()]);
        assert_eq!(over_limit(Channel::X, &thread), Some((2, 349)));
        assert_eq!(over_limit(Channel::X, "short"), None);
        // Slack does not thread: the whole text is one message, dashes and all.
        assert_eq!(over_limit(Channel::Slack, &thread), None);
    }

    #[test]
    fn the_link_never_stands_alone_in_the_last_post() {
        // Six lines fill the second post exactly so the link cannot join it.
        let lines: Vec<String> = (0..10)
            .map(|n| format!("🐛 Fix the {n}th thing that broke when files were empty"))
            .collect();
        let tail = "https://github.com/acme/rocket/releases/tag/v1.2.0\n\n#rustlang #cli";
        for channel in [Channel::X, Channel::Bluesky] {
            let thread =
                compose(channel, "🚀 Rocket v1.2.0 fixes ten bugs!", &lines, tail, 0).unwrap();
            let last = thread.last().unwrap();
            assert!(last.contains("releases/tag/v1.2.0"), "{last}");
            assert!(
                last.contains("🐛 Fix the"),
                "{channel:?}: a line goes with the link: {last}"
            );
        }
    }

    /// Monolog 3.10.0 on X was five changes, then four, then one with the link: the same
    /// three posts now share the changes out.
    #[test]
    fn a_thread_shares_its_changes_out_evenly() {
        let head =
            "✨ Monolog 3.10.0 adds handling of inode changes to reopen files in StreamHandler!";
        let lines: Vec<String> = [
            "✨ Add automatic empty directory cleanup in RotatingFileHandler",
            "✨ Rotate files based on timezone",
            "✨ Add NoDiscard attr",
            "✨ Replace deprecated code in MongoDB classes and allow 2.0+",
            "✨ Remove deprecated curl_close() calls for PHP 8.5 compatibility",
            "🐛 Avoid collecting duplicate logs if the file cannot be locked",
            "🐛 Fix json formatter does not catch to string exceptions",
            "🐛 Avoid empty espace on empty trace",
            "🐛 Fix PHP 8.5 __sleep deprecation",
        ]
        .map(str::to_owned)
        .to_vec();
        let tail = "https://github.com/Seldaek/monolog/releases/tag/3.10.0\n\n#php";
        let thread = compose(Channel::X, head, &lines, tail, 0).unwrap();
        assert_eq!(thread.len(), 3, "{thread:#?}");
        let changes: Vec<usize> = thread
            .iter()
            .map(|p| p.lines().filter(|l| lines.iter().any(|x| x == l)).count())
            .collect();
        assert_eq!(changes.iter().sum::<usize>(), lines.len());
        assert!(changes.iter().all(|&n| n >= 2), "{changes:?}: {thread:#?}");
    }

    /// Sharing out never leaves the headline alone in the first post.
    #[test]
    fn the_first_post_keeps_a_change_beside_the_headline() {
        let head = format!("✨ {}", "word ".repeat(40).trim());
        let lines: Vec<String> = (0..4)
            .map(|i| format!("✨ Change number {i} of four, told"))
            .collect();
        let tail = format!("https://example.com/{}", "r".repeat(40));
        let thread = compose(Channel::X, &head, &lines, &tail, 0).unwrap();
        assert!(thread.len() > 1, "{thread:#?}");
        assert!(thread[0].contains("Change number 0"), "{thread:#?}");
    }

    proptest! {
        /// Whatever the release, every post of a drafted thread fits its platform, carries
        /// its counter, and the thread never exceeds MAX_POSTS; every line is either in a
        /// post or counted.
        #[test]
        fn every_post_of_a_thread_fits_and_is_numbered(
            words in proptest::collection::vec("[a-zé🚀]{1,12}", 1..400),
            per_line in 3usize..40,
            channel in prop_oneof![Just(Channel::X), Just(Channel::Bluesky), Just(Channel::Mastodon)],
        ) {
            let lines: Vec<String> = words.chunks(per_line).map(|c| format!("• {}", c.join(" "))).collect();
            let head = "🚀 acme 1.2.0 adds dark mode!";
            let tail = "https://github.com/acme/acme/releases/tag/v1.2.0\n\n#rust";
            let Some(thread) = compose(channel, head, &lines, tail, 0) else {
                // Only a line longer than a whole post can stop a thread.
                prop_assert!(lines.iter().any(|l| channel.length(l) > channel.limit() - 5));
                return Ok(());
            };
            prop_assert!(thread.len() <= MAX_POSTS);
            let n = thread.len();
            let mut listed = 0;
            for (k, post) in thread.iter().enumerate() {
                prop_assert!(channel.length(post) <= channel.limit(), "{post}");
                let counter = format!("\n\n{}/{n}", k + 1);
                prop_assert!(post.ends_with(&counter), "{post}");
                listed += lines.iter().filter(|l| post.lines().any(|p| p == l.as_str())).count();
            }
            prop_assert!(thread[0].starts_with(head));
            prop_assert!(thread[n - 1].contains("releases/tag/v1.2.0"));
            let joined = thread.join("\n");
            let more = joined
                .split("…and ")
                .nth(1)
                .and_then(|r| r.split(' ').next())
                .and_then(|d| d.parse::<usize>().ok())
                .unwrap_or(0);
            prop_assert!(listed + more >= lines.len(), "{listed} + {more} of {}", lines.len());
            prop_assert_eq!(posts(&join(&thread)).len(), n);
        }
    }
}
