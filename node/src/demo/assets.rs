//! The demo page's files, compiled into the binary.

use sha2::{Digest, Sha256};

/// One embedded file and how it is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Asset {
    /// The file name under `/demo/` (the page itself is served at `/`).
    pub name: &'static str,
    /// The `Content-Type` it is served with; module scripts are refused by browsers without a
    /// JavaScript type.
    pub content_type: &'static str,
    /// The file's bytes.
    pub body: &'static [u8],
}

/// The page, served at `/`.
pub const INDEX: Asset = Asset {
    name: "index.html",
    content_type: "text/html; charset=utf-8",
    body: include_bytes!("assets/index.html"),
};

/// The files the page loads, served at `/demo/<name>`.
pub const FILES: [Asset; 4] = [
    Asset {
        name: "board.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("assets/board.css"),
    },
    Asset {
        name: "board.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("assets/board.js"),
    },
    Asset {
        name: "signalr-lite.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("assets/signalr-lite.js"),
    },
    Asset {
        name: "transports.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("assets/transports.js"),
    },
];

/// The file served at `/demo/<name>`, if there is one.
pub fn find(name: &str) -> Option<Asset> {
    FILES.iter().copied().find(|asset| asset.name == name)
}

impl Asset {
    /// A strong entity tag derived from the content, so a new build's files are fetched again
    /// while unchanged ones are answered with 304.
    pub fn etag(&self) -> String {
        let digest = Sha256::digest(self.body);
        let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
        format!("\"{hex}\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_is_found_by_name_and_is_utf8_text() {
        for asset in FILES {
            assert_eq!(find(asset.name), Some(asset));
            assert!(!asset.body.is_empty(), "{} is empty", asset.name);
            assert!(
                std::str::from_utf8(asset.body).is_ok(),
                "{} is not UTF-8",
                asset.name
            );
        }
        assert!(std::str::from_utf8(INDEX.body).is_ok());
    }

    #[test]
    fn unknown_names_are_not_found() {
        for name in [
            "",
            "index.html",
            "../Cargo.toml",
            "board.js.map",
            "BOARD.JS",
        ] {
            assert_eq!(find(name), None, "{name:?}");
        }
    }

    #[test]
    fn content_types_match_the_file_kinds() {
        assert_eq!(INDEX.content_type, "text/html; charset=utf-8");
        let types: Vec<(&str, &str)> = FILES.iter().map(|a| (a.name, a.content_type)).collect();
        assert_eq!(
            types,
            [
                ("board.css", "text/css; charset=utf-8"),
                ("board.js", "text/javascript; charset=utf-8"),
                ("signalr-lite.js", "text/javascript; charset=utf-8"),
                ("transports.js", "text/javascript; charset=utf-8"),
            ]
        );
    }

    #[test]
    fn the_page_loads_exactly_the_served_files() {
        let page = std::str::from_utf8(INDEX.body).unwrap_or_default();
        assert!(page.contains("href=\"demo/board.css\""), "stylesheet link");
        assert!(page.contains("src=\"demo/board.js\""), "board script");
        let board = std::str::from_utf8(FILES[1].body).unwrap_or_default();
        assert!(
            board.contains("from \"./signalr-lite.js\""),
            "client import"
        );
        let client = std::str::from_utf8(FILES[2].body).unwrap_or_default();
        assert!(
            client.contains("from \"./transports.js\""),
            "transports import"
        );
    }

    #[test]
    fn entity_tags_are_quoted_and_differ_per_file() {
        let tags: Vec<String> = FILES.iter().chain([&INDEX]).map(Asset::etag).collect();
        for tag in &tags {
            assert_eq!(tag.len(), 26, "{tag}");
            assert!(tag.starts_with('"') && tag.ends_with('"'), "{tag}");
        }
        let mut unique = tags.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), tags.len());
        assert_eq!(INDEX.etag(), INDEX.etag());
    }
}
