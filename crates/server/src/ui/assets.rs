//! The UI's own CSS and JavaScript, compiled into the binary and served at URLs that
//! carry a hash of their content: cached for a year, and a new release is a new URL.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

const CSS: &str = include_str!("../../assets/app.css");
const JS: &str = include_str!("../../assets/app.js");

struct Asset {
    url: String,
    body: &'static str,
    content_type: &'static str,
}

fn asset(name: &str, body: &'static str, content_type: &'static str) -> Asset {
    let hash = hex::encode(&Sha256::digest(body.as_bytes())[..6]);
    Asset {
        url: format!("/assets/{hash}/{name}"),
        body,
        content_type,
    }
}

static ASSETS: LazyLock<[Asset; 2]> = LazyLock::new(|| {
    [
        asset("app.css", CSS, "text/css; charset=utf-8"),
        asset("app.js", JS, "text/javascript; charset=utf-8"),
    ]
});

pub fn css_url() -> &'static str {
    &ASSETS[0].url
}

pub fn js_url() -> &'static str {
    &ASSETS[1].url
}

pub async fn serve(Path((hash, file)): Path<(String, String)>) -> Response {
    let wanted = format!("/assets/{hash}/{file}");
    match ASSETS.iter().find(|a| a.url == wanted) {
        Some(a) => (
            [
                (header::CONTENT_TYPE, a.content_type),
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            ],
            a.body,
        )
            .into_response(),
        // An old hash after an upgrade: the page that asked is stale, not broken.
        None => (StatusCode::NOT_FOUND, "no such asset (reload the page)").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::CSS;

    /// A colour custom property from app.css, as linear-light relative luminance.
    fn luminance(name: &str) -> f64 {
        let decl = format!("--{name}: #");
        let at = CSS
            .find(&decl)
            .unwrap_or_else(|| panic!("--{name} is defined"))
            + decl.len();
        let hex = &CSS[at..at + 6];
        let channel = |i: usize| {
            let c = f64::from(u8::from_str_radix(&hex[i..i + 2], 16).unwrap()) / 255.0;
            if c <= 0.03928 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * channel(0) + 0.7152 * channel(2) + 0.0722 * channel(4)
    }

    fn contrast(a: &str, b: &str) -> f64 {
        let (x, y) = (luminance(a), luminance(b));
        (x.max(y) + 0.05) / (x.min(y) + 0.05)
    }

    #[test]
    fn the_obsidian_palette_is_named_as_the_brand_says() {
        for decl in [
            "--obsidian: #0B0C10",
            "--gunmetal: #1F2833",
            "--neon: #66FCF1",
        ] {
            assert!(CSS.contains(decl), "{decl}");
        }
    }

    /// WCAG AA: 4.5:1 for every colour text is drawn in, on both backgrounds it sits on.
    #[test]
    fn every_text_colour_meets_wcag_aa_on_both_backgrounds() {
        for fg in [
            "text", "muted", "neon", "neon-dim", "red", "green", "yellow",
        ] {
            for bg in ["obsidian", "gunmetal"] {
                let ratio = contrast(fg, bg);
                assert!(ratio >= 4.5, "--{fg} on --{bg}: {ratio:.2}:1");
            }
        }
        assert!(contrast("obsidian", "neon") >= 4.5, "primary buttons");
    }

    #[test]
    fn no_script_or_style_needs_unsafe_inline() {
        let js = super::JS;
        assert!(
            !js.contains("eval(") && !js.contains("new Function"),
            "CSP forbids eval"
        );
        assert!(
            !js.contains("setAttribute(\"style\""),
            "inline style attributes are blocked by CSP"
        );
    }
}
