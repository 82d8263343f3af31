//! The MySQL/MariaDB reading of the common dialect.
//!
//! Every query here is written once, for SQLite and Postgres: `$N` placeholders, `ON
//! CONFLICT`, `excluded.`, `RETURNING`. MariaDB takes none of those spellings, so each
//! query goes through [`Db::sql`] and, on MySQL, is rewritten once and kept (the queries
//! are string literals, so the cache holds one entry per call site):
//! - `$N` becomes `?`. MySQL binds by position, so a query must name `$1`, `$2`, … in
//!   order, each once; the binds the caller attaches then line up. A query that repeats a
//!   placeholder binds the value twice instead (on every database).
//! - `ON CONFLICT … DO NOTHING` becomes `INSERT IGNORE` (affected rows stay 0 on a
//!   duplicate, which the claim queries rely on). Unlike Postgres it also turns a foreign
//!   key miss into a warning; no query here inserts a dangling reference on purpose.
//! - `ON CONFLICT (…) DO UPDATE SET a = excluded.a` becomes `ON DUPLICATE KEY UPDATE a =
//!   VALUES(a)`. MySQL applies the assignments left to right, so a later one that reads an
//!   earlier column sees the new value; every upsert here reads only columns it assigns at
//!   or after that point.
//! - Quoting and `||` follow Postgres through the connection's `sql_mode` (`ANSI_QUOTES`,
//!   `PIPES_AS_CONCAT`, set in `Db::connect`), so they need no rewriting.
//!
//! What the rewriting does not cover, found on MariaDB 10.11 through sqlx 0.8's `Any`:
//! - A prepared `INSERT`/`DELETE … RETURNING` names no result columns (the values are
//!   there): read such rows by position.
//! - `SUM()` is a DECIMAL, which `Any` cannot decode; `COUNT`/`MIN`/`MAX` of integers are
//!   fine, and `CAST(… AS BIGINT)` (rewritten to `AS SIGNED`) makes a sum an integer.
//! - sqlx connects with `CLIENT_FOUND_ROWS`: an `UPDATE`'s affected rows are the rows
//!   matched, as on Postgres, but an `ON DUPLICATE KEY UPDATE` reports 1 for an insert and
//!   1 or 2 for a duplicate, so no caller may read an upsert's count (the `INSERT IGNORE`
//!   form keeps 0 for a duplicate).
//! - Text outside keys is `LONGTEXT`, which arrives as a blob: read it with `RowText`.
//!
//! What cannot be rewritten mechanically is refused (a conditional upsert's `WHERE`, an
//! `UPDATE … RETURNING`, which MariaDB lacks): such a call site spells its MySQL form out
//! with [`Db::pick`]. A refused query is logged and sent unchanged, so it fails as a
//! syntax error on the database instead of taking the process down.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use super::{Db, DbKind};

static MYSQL: LazyLock<Mutex<HashMap<&'static str, &'static str>>> = LazyLock::new(Default::default);

impl Db {
    /// `query` in the live database's dialect (see the module docs).
    pub fn sql(&self, query: &'static str) -> &'static str {
        if self.kind() != DbKind::Mysql {
            return query;
        }
        let mut cache = MYSQL.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(done) = cache.get(query) {
            return done;
        }
        let done: &'static str = match to_mysql(query) {
            Ok(q) => Box::leak(q.into_boxed_str()),
            Err(why) => {
                tracing::error!(%why, query, "query has no MySQL form");
                query
            }
        };
        cache.insert(query, done);
        done
    }

    /// As [`Db::sql`], for a query assembled at run time (not cached).
    pub fn sql_string(&self, query: String) -> String {
        if self.kind() != DbKind::Mysql {
            return query;
        }
        to_mysql(&query).unwrap_or_else(|why| {
            tracing::error!(%why, query, "query has no MySQL form");
            query
        })
    }

    /// `common` on SQLite and Postgres, `mysql` (already in MySQL's spelling, `?`
    /// placeholders) on MySQL: for the statements [`Db::sql`] cannot rewrite.
    pub fn pick(&self, common: &'static str, mysql: &'static str) -> &'static str {
        if self.kind() == DbKind::Mysql { mysql } else { common }
    }
}

/// Rewrites one common-dialect statement for MySQL/MariaDB.
pub(crate) fn to_mysql(query: &str) -> Result<String, String> {
    let q = placeholders(query)?;
    let q = upsert(&q)?;
    // MySQL casts to SIGNED (a BIGINT); `AS BIGINT` is a syntax error there.
    let q = q.replace(" AS BIGINT)", " AS SIGNED)");
    if q.trim_start().to_ascii_uppercase().starts_with("UPDATE") && find_word(&q, "RETURNING").is_some() {
        return Err("MariaDB has no UPDATE … RETURNING".into());
    }
    Ok(q)
}

/// `$1`, `$2`, … to `?`, outside string literals; they must come in order, once each.
fn placeholders(query: &str) -> Result<String, String> {
    let mut out = String::with_capacity(query.len());
    let mut next = 1u32;
    let mut in_string = false;
    let mut chars = query.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        if c == '\'' {
            in_string = !in_string;
        }
        if c != '$' || in_string {
            out.push(c);
            continue;
        }
        let mut digits = String::new();
        while let Some(&(_, d)) = chars.peek().filter(|(_, d)| d.is_ascii_digit()) {
            digits.push(d);
            chars.next();
        }
        match digits.parse::<u32>() {
            Ok(n) if n == next => {
                out.push('?');
                next += 1;
            }
            Ok(n) => return Err(format!("placeholder ${n} where ${next} was due: MySQL binds by position")),
            Err(_) => out.push('$'),
        }
    }
    Ok(out)
}

/// `ON CONFLICT` to `INSERT IGNORE` or `ON DUPLICATE KEY UPDATE`.
fn upsert(query: &str) -> Result<String, String> {
    let Some(at) = find_word(query, "ON CONFLICT") else { return Ok(query.to_string()) };
    let (head, clause) = query.split_at(at);
    let rest = clause["ON CONFLICT".len()..].trim_start();
    // The conflict target, if any: MySQL matches on whichever unique key is hit.
    let rest = match rest.strip_prefix('(') {
        Some(r) => &r[r.find(')').ok_or("unclosed conflict target")? + 1..],
        None => rest,
    }
    .trim_start();
    if let Some(after) = strip_word(rest, "DO NOTHING") {
        let insert = find_word(head, "INSERT INTO").ok_or("ON CONFLICT outside an INSERT")?;
        let mut out = String::with_capacity(query.len());
        out.push_str(&head[..insert]);
        out.push_str("INSERT IGNORE INTO");
        out.push_str(head[insert + "INSERT INTO".len()..].trim_end());
        if !after.trim().is_empty() {
            out.push(' ');
            out.push_str(after.trim_start());
        }
        return Ok(out);
    }
    let set = strip_word(rest, "DO UPDATE SET").ok_or("expected DO NOTHING or DO UPDATE SET")?;
    let (assignments, returning) = match find_word(set, "RETURNING") {
        Some(r) => set.split_at(r),
        None => (set, ""),
    };
    if find_word(assignments, "WHERE").is_some() {
        return Err("a conditional upsert (DO UPDATE … WHERE) needs its MySQL form spelled out".into());
    }
    Ok(format!("{}ON DUPLICATE KEY UPDATE {}{returning}", head, excluded(assignments.trim_start())))
}

/// `excluded.col` to `VALUES(col)`.
fn excluded(assignments: &str) -> String {
    let mut out = String::with_capacity(assignments.len());
    let mut rest = assignments;
    while let Some(at) = find_word(rest, "excluded.") {
        out.push_str(&rest[..at]);
        let tail = &rest[at + "excluded.".len()..];
        let end = tail.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(tail.len());
        out.push_str(&format!("VALUES({})", &tail[..end]));
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// Byte offset of `word` in `s` where it is not part of a longer identifier.
fn find_word(s: &str, word: &str) -> Option<usize> {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut from = 0;
    while let Some(i) = s[from..].find(word).map(|i| i + from) {
        let before = s[..i].chars().next_back().is_none_or(|c| !ident(c));
        let after = s[i + word.len()..].chars().next().is_none_or(|c| !ident(c) || word.ends_with('.'));
        if before && after {
            return Some(i);
        }
        from = i + word.len();
    }
    None
}

fn strip_word<'a>(s: &'a str, word: &str) -> Option<&'a str> {
    (find_word(s, word) == Some(0)).then(|| &s[word.len()..])
}

#[cfg(test)]
mod tests {
    use super::to_mysql;

    /// Every query literal that goes through `Db::sql` or `Db::sql_string(format!(…))` in
    /// the sources has a MySQL form: a query the rewriter refuses is caught here, not on a
    /// MariaDB at run time. (`format!` arguments read as a plain word.)
    #[test]
    fn every_ported_query_has_a_mysql_form() {
        let mut checked = 0;
        let mut refused = Vec::new();
        for file in rust_sources(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src"))) {
            let text = std::fs::read_to_string(&file).unwrap();
            for (marker, formatted) in [(".sql(", false), (".sql_string(", true)] {
                for (at, _) in text.match_indices(marker) {
                    let mut rest = text[at + marker.len()..].trim_start();
                    if formatted {
                        let Some(args) = rest.strip_prefix("format!(") else { continue };
                        rest = args.trim_start();
                    }
                    let Some(body) = rest.strip_prefix('"') else { continue };
                    let mut q = literal(body);
                    if formatted {
                        q = format_args_as_words(&q);
                    }
                    checked += 1;
                    if let Err(why) = to_mysql(&q) {
                        refused.push(format!("{}: {why}: {q}", file.display()));
                    }
                }
            }
        }
        assert!(checked >= 30, "found only {checked} ported queries: is the scan broken?");
        assert!(refused.is_empty(), "{}", refused.join("\n"));
    }

    fn rust_sources(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                out.extend(rust_sources(&path));
            } else if path.extension().is_some_and(|e| e == "rs") && !path.ends_with("dialect.rs") {
                out.push(path);
            }
        }
        out
    }

    /// A Rust string literal's value, from just after its opening quote.
    fn literal(src: &str) -> String {
        let mut out = String::new();
        let mut chars = src.chars();
        while let Some(c) = chars.next() {
            match c {
                '"' => break,
                '\\' => match chars.next() {
                    Some('n') => out.push('\n'),
                    Some('\n') => {
                        let rest: String = chars.by_ref().collect();
                        return out + &literal(rest.trim_start());
                    }
                    Some(other) => out.push(other),
                    None => break,
                },
                c => out.push(c),
            }
        }
        out
    }

    fn format_args_as_words(q: &str) -> String {
        let mut out = String::new();
        let mut rest = q;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            if rest[open..].starts_with("{{") {
                out.push('{');
                rest = &rest[open + 2..];
                continue;
            }
            let close = rest[open..].find('}').map_or(rest.len(), |c| open + c + 1);
            out.push('x');
            rest = &rest[close..];
        }
        out + rest
    }

    #[test]
    fn placeholders_become_positional_and_must_come_in_order() {
        assert_eq!(
            to_mysql("SELECT a FROM t WHERE b = $1 AND c = '$2' AND d = $2").unwrap(),
            "SELECT a FROM t WHERE b = ? AND c = '$2' AND d = ?"
        );
        assert!(to_mysql("SELECT 1 WHERE a = $1 OR b = $1").unwrap_err().contains("$1 where $2"));
        assert!(to_mysql("SELECT 1 WHERE a = $2 AND b = $1").is_err());
        assert_eq!(to_mysql("SELECT $10x").unwrap_err(), "placeholder $10 where $1 was due: MySQL binds by position");
    }

    #[test]
    fn do_nothing_is_insert_ignore() {
        assert_eq!(
            to_mysql("INSERT INTO t (a, b) VALUES ($1, $2) ON CONFLICT (a) DO NOTHING").unwrap(),
            "INSERT IGNORE INTO t (a, b) VALUES (?, ?)"
        );
        assert_eq!(
            to_mysql("INSERT INTO t (a) VALUES ($1)\n ON CONFLICT DO NOTHING RETURNING a").unwrap(),
            "INSERT IGNORE INTO t (a) VALUES (?) RETURNING a"
        );
    }

    #[test]
    fn do_update_is_on_duplicate_key_update() {
        assert_eq!(
            to_mysql(
                "INSERT INTO t (k, a, b) VALUES ($1, $2, $3) ON CONFLICT (k) DO UPDATE SET a = excluded.a,\n b = CASE WHEN t.b < excluded.b THEN excluded.b ELSE t.b END"
            )
            .unwrap(),
            "INSERT INTO t (k, a, b) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE a = VALUES(a),\n b = CASE WHEN t.b < VALUES(b) THEN VALUES(b) ELSE t.b END"
        );
        // `not_excluded.x` is someone else's column.
        assert!(
            to_mysql("INSERT INTO t (k) VALUES ($1) ON CONFLICT (k) DO UPDATE SET k = not_excluded.k")
                .unwrap()
                .ends_with("k = not_excluded.k")
        );
    }

    #[test]
    fn what_mysql_cannot_say_is_refused() {
        assert!(
            to_mysql("INSERT INTO t (k) VALUES ($1) ON CONFLICT (k) DO UPDATE SET k = excluded.k WHERE t.k < $2")
                .is_err()
        );
        assert!(to_mysql("UPDATE t SET a = 1 WHERE b = $1 RETURNING a").is_err());
        assert!(to_mysql("INSERT INTO t (a) VALUES ($1) RETURNING a").is_ok());
        assert!(to_mysql("DELETE FROM t WHERE a = $1 RETURNING a").is_ok());
        assert_eq!(
            to_mysql("SELECT CAST(SUM(a) AS BIGINT) AS n FROM t").unwrap(),
            "SELECT CAST(SUM(a) AS SIGNED) AS n FROM t"
        );
    }
}
