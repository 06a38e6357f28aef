//! `spec/SOURCE.toml`: where each vendored document came from, one table per document.
//!
//! ```toml
//! [conversation]
//! url = "https://developers.sinch.com/_bundle/docs/conversation/api-reference/conversation.yaml"
//! retrieved = "2026-01-13T09:22:41Z"
//! sha256 = "…"
//! converted_from_3_1 = false
//! ```
//!
//! Only the small subset of TOML these files use is read: `[table]` headers, `key = value` lines
//! and `#` comments, values being basic (`"…"`) or literal (`'…'`) strings, booleans or bare
//! words. Keys before any header (the single-document format of earlier versions) belong to
//! `[conversation]`. Tables and keys this tool does not write are kept as they were.

/// What `--write` records for one document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub url: String,
    /// `YYYY-MM-DDTHH:MM:SSZ`.
    pub retrieved: String,
    /// SHA-256 of the bytes written, lowercase hex.
    pub sha256: String,
    pub converted_from_3_1: bool,
}

/// The table that keys outside any table belong to (the old single-document format).
pub const LEGACY_TABLE: &str = "conversation";

/// A parsed `SOURCE.toml`: tables in file order, each with its keys and raw value text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceToml {
    tables: Vec<(String, Vec<(String, String)>)>,
}

impl SourceToml {
    /// Parses the file's text; a line that is not a header, a `key = value` or a comment is an
    /// error naming its number.
    pub fn parse(text: &str) -> Result<SourceToml, String> {
        let mut doc = SourceToml::default();
        let mut current: Option<usize> = None;
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(rest) = line.strip_prefix('[') {
                let name = rest
                    .split_once(']')
                    .map(|(name, after)| (name.trim(), after.trim()))
                    .filter(|(name, after)| {
                        !name.is_empty() && (after.is_empty() || after.starts_with('#'))
                    })
                    .map(|(name, _)| name.trim_matches('"').to_string())
                    .ok_or_else(|| format!("line {}: malformed table header", n + 1))?;
                current = Some(doc.table_index(&name));
                continue;
            }
            let (key, value) = line
                .split_once('=')
                .map(|(k, v)| (k.trim().trim_matches('"'), v.trim()))
                .filter(|(k, v)| !k.is_empty() && !v.is_empty())
                .ok_or_else(|| format!("line {}: expected `key = value`", n + 1))?;
            let t = match current {
                Some(t) => t,
                None => doc.table_index(LEGACY_TABLE),
            };
            let entries = &mut doc.tables[t].1;
            match entries.iter_mut().find(|(k, _)| k == key) {
                Some(e) => e.1 = value.to_string(),
                None => entries.push((key.to_string(), value.to_string())),
            }
        }
        Ok(doc)
    }

    fn table_index(&mut self, name: &str) -> usize {
        match self.tables.iter().position(|(t, _)| t == name) {
            Some(i) => i,
            None => {
                self.tables.push((name.to_string(), Vec::new()));
                self.tables.len() - 1
            }
        }
    }

    /// The table names, in file order.
    pub fn tables(&self) -> impl Iterator<Item = &str> {
        self.tables.iter().map(|(t, _)| t.as_str())
    }

    /// A value as a string: strings unquoted and unescaped, anything else as written.
    pub fn get(&self, table: &str, key: &str) -> Option<String> {
        let (_, entries) = self.tables.iter().find(|(t, _)| t == table)?;
        let (_, raw) = entries.iter().find(|(k, _)| k == key)?;
        Some(unquote(raw))
    }

    /// Replaces `table`'s keys with `record`, leaving every other table as it was.
    pub fn set(&mut self, table: &str, record: &Record) {
        let t = self.table_index(table);
        self.tables[t].1 = vec![
            ("url".into(), quote(&record.url)),
            ("retrieved".into(), quote(&record.retrieved)),
            ("sha256".into(), quote(&record.sha256)),
            (
                "converted_from_3_1".into(),
                record.converted_from_3_1.to_string(),
            ),
        ];
    }

    /// The file's text: tables in `order` first, then any others in file order.
    pub fn render(&self, order: &[&str]) -> String {
        let mut s = String::from(
            "# Where the vendored specs beside this file came from; written by\n\
             # `cargo xtask update-spec --write`. One table per document: the URL it was read from,\n\
             # when (UTC), and the SHA-256 of the bytes written.\n",
        );
        let mut tables: Vec<&(String, Vec<(String, String)>)> = Vec::new();
        for name in order {
            tables.extend(self.tables.iter().filter(|(t, _)| t == name));
        }
        tables.extend(
            self.tables
                .iter()
                .filter(|(t, _)| !order.contains(&t.as_str())),
        );
        for (name, entries) in tables {
            s.push_str(&format!("\n[{name}]\n"));
            for (k, v) in entries {
                s.push_str(&format!("{k} = {v}\n"));
            }
        }
        s
    }
}

/// A TOML basic string.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The value of a basic or literal string; other values (booleans, numbers) as written.
fn unquote(raw: &str) -> String {
    if let Some(inner) = raw.strip_prefix('\'').and_then(|r| r.split_once('\'')) {
        return inner.0.to_string();
    }
    let Some(body) = raw.strip_prefix('"') else {
        // A bare value, without any trailing comment.
        return raw.split('#').next().unwrap_or_default().trim().to_string();
    };
    let mut out = String::new();
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => break,
            '\\' => match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some('b') => out.push('\u{8}'),
                Some('f') => out.push('\u{c}'),
                Some(u @ ('u' | 'U')) => {
                    let len = if u == 'u' { 4 } else { 8 };
                    let hex: String = chars.by_ref().take(len).collect();
                    if let Some(ch) = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                        out.push(ch);
                    }
                }
                Some(other) => out.push(other),
                None => break,
            },
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(url: &str) -> Record {
        Record {
            url: url.into(),
            retrieved: "2026-01-13T09:22:41Z".into(),
            sha256: "ab".repeat(32),
            converted_from_3_1: false,
        }
    }

    #[test]
    fn the_single_table_format_is_read_as_conversation() {
        let old = "# Where spec/conversation.yaml came from; written by `cargo xtask update-spec --write`.\n\
                   url = \"https://example.test/conversation.yaml\"\n\
                   retrieved = \"2025-01-01T00:00:00Z\"\n\
                   sha256 = \"00ff\"\n\
                   converted_from_3_1 = true\n";
        let t = SourceToml::parse(old).unwrap();
        assert_eq!(t.tables().collect::<Vec<_>>(), ["conversation"]);
        assert_eq!(
            t.get("conversation", "url").as_deref(),
            Some("https://example.test/conversation.yaml")
        );
        assert_eq!(
            t.get("conversation", "converted_from_3_1").as_deref(),
            Some("true")
        );
        // Written back, it becomes a table.
        let text = t.render(&["conversation"]);
        assert!(
            text.contains("\n[conversation]\nurl = \"https://example.test/conversation.yaml\"\n")
        );
        assert_eq!(SourceToml::parse(&text).unwrap(), t);
    }

    #[test]
    fn setting_one_table_keeps_the_others() {
        let text = "[batch]\nurl = \"https://b\"\nextra = 'kept'\n\n[other]\nx = 1 # note\n";
        let mut t = SourceToml::parse(text).unwrap();
        t.set("conversation", &record("https://c"));
        let out = t.render(&["conversation", "templates", "batch"]);
        let again = SourceToml::parse(&out).unwrap();
        assert_eq!(
            again.tables().collect::<Vec<_>>(),
            ["conversation", "batch", "other"]
        );
        assert_eq!(
            again.get("conversation", "url").as_deref(),
            Some("https://c")
        );
        assert_eq!(again.get("batch", "url").as_deref(), Some("https://b"));
        assert_eq!(again.get("batch", "extra").as_deref(), Some("kept"));
        assert_eq!(again.get("other", "x").as_deref(), Some("1"));
        // Replacing a table replaces its keys.
        t.set("batch", &record("https://b2"));
        assert_eq!(t.get("batch", "extra"), None);
        assert_eq!(t.get("batch", "url").as_deref(), Some("https://b2"));
    }

    #[test]
    fn strings_round_trip() {
        for s in ["plain", "quote \" and \\ back", "tab\tnew\nline", "\u{1}"] {
            assert_eq!(unquote(&quote(s)), s);
        }
        assert_eq!(unquote("\"\\u00e9\""), "é");
    }

    #[test]
    fn nonsense_is_refused_with_its_line() {
        assert!(SourceToml::parse("[ok]\nnot a pair\n")
            .unwrap_err()
            .contains("line 2"));
        assert!(SourceToml::parse("[unclosed\n").is_err());
    }
}
