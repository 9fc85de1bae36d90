//! Text length as each platform counts it.

use unicode_segmentation::UnicodeSegmentation;

/// Every URL counts as this many characters on X and Mastodon, whatever its length.
pub const LINK_LENGTH: usize = 23;

/// X's weighted length (twitter-text v3): code points in the Latin-ish ranges weigh 1,
/// everything else (CJK, emoji) 2; an emoji sequence counts once (as 2); URLs count 23.
pub fn x_weighted_length(text: &str) -> usize {
    with_links(text, |segment| {
        segment
            .graphemes(true)
            .map(|g| {
                let mut chars = g.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) if light(c) => 1,
                    (Some(c), Some(_)) if light(c) && g.chars().all(light) => g.chars().count(),
                    _ => 2,
                }
            })
            .sum()
    })
}

fn light(c: char) -> bool {
    matches!(c as u32, 0..=4351 | 8192..=8205 | 8208..=8223 | 8242..=8247)
}

/// Bluesky counts graphemes (what a reader sees as one character).
pub fn grapheme_count(text: &str) -> usize {
    text.graphemes(true).count()
}

/// Mastodon counts code points, and every URL as 23.
pub fn mastodon_length(text: &str) -> usize {
    with_links(text, |segment| segment.chars().count())
}

/// Sums `count` over the text between URLs, plus [`LINK_LENGTH`] per URL.
fn with_links(text: &str, count: impl Fn(&str) -> usize) -> usize {
    let mut total = 0;
    let mut rest = text;
    while let Some(start) = find_url(rest) {
        total += count(&rest[..start]);
        let end = rest[start..]
            .find(char::is_whitespace)
            .map_or(rest.len(), |e| start + e);
        total += LINK_LENGTH;
        rest = &rest[end..];
    }
    total + count(rest)
}

fn find_url(s: &str) -> Option<usize> {
    [s.find("https://"), s.find("http://")]
        .into_iter()
        .flatten()
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn x_counts_like_twitter_text() {
        assert_eq!(x_weighted_length("hello"), 5);
        assert_eq!(x_weighted_length("日本語"), 6, "CJK weighs 2");
        assert_eq!(x_weighted_length("🚀"), 2);
        assert_eq!(x_weighted_length("👩‍💻"), 2, "one emoji sequence");
        assert_eq!(
            x_weighted_length("see https://example.com/a/very/long/path/that/goes/on"),
            4 + 23
        );
        assert_eq!(x_weighted_length("é"), 1);
    }

    #[test]
    fn bluesky_and_mastodon() {
        assert_eq!(grapheme_count("👩‍💻 ok"), 4);
        assert_eq!(
            mastodon_length("x https://example.com/long/long/long/long"),
            2 + 23
        );
    }

    proptest! {
        #[test]
        fn lengths_never_panic_and_links_cap_length(s in "\\PC{0,200}") {
            let _ = x_weighted_length(&s);
            let _ = grapheme_count(&s);
            let _ = mastodon_length(&s);
        }

        #[test]
        fn any_url_counts_23(path in "[a-z/]{0,200}") {
            let url = format!("https://example.com/{path}");
            prop_assert_eq!(x_weighted_length(&url), 23);
            prop_assert_eq!(mastodon_length(&url), 23);
        }
    }
}
