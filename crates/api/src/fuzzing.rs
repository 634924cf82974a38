//! The entry point `cargo fuzz` drives for requests (`fuzz/fuzz_targets/request.rs`), and that
//! the tests replay its seeds and every crash it found through: what a request meets before any
//! resolver runs — the lexical guard, the parser, the analysis, and full validation against the
//! real schema.

use std::sync::{Arc, OnceLock};

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextExecute};
use async_graphql::{Request, Response, Schema, Variables};

use crate::limits::{Limits, TypeIndex};
use crate::mutation::MutationRoot;
use crate::query::QueryRoot;
use crate::schema::PodledgerSchema;
use crate::subscription::SubscriptionRoot;

/// Stops a request after validation: nothing is resolved, so no store is needed.
struct Validated;

impl ExtensionFactory for Validated {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Validated)
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for Validated {
    async fn execute(
        &self,
        _ctx: &ExtensionContext<'_>,
        _operation_name: Option<&str>,
        _next: NextExecute<'_>,
    ) -> Response {
        Response::default()
    }
}

fn parts() -> &'static (PodledgerSchema, TypeIndex, tokio::runtime::Runtime) {
    static PARTS: OnceLock<(PodledgerSchema, TypeIndex, tokio::runtime::Runtime)> = OnceLock::new();
    PARTS.get_or_init(|| {
        let limits = Limits::default();
        let schema = Schema::build(QueryRoot, MutationRoot::default(), SubscriptionRoot)
            .extension(Validated)
            .limit_recursive_depth(limits.max_nesting + 1)
            .disable_suggestions()
            .finish();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime");
        let types = TypeIndex::from_sdl(&schema.sdl());
        (schema, types, runtime)
    })
}

/// Reads `data` as a request — the query text, then after a `0` byte its variables as JSON —
/// and takes it as far as a request goes before resolvers: the text guard, the parser, the
/// analysis and, when those pass, async-graphql's validation of the real schema. Returns how
/// far it got (0: not text, 1: refused by the guard, 2: did not parse, 3: refused by the
/// analysis, 4: validated).
pub fn request(data: &[u8]) -> u8 {
    let (query, variables) = match data.iter().position(|b| *b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &b""[..]),
    };
    let Ok(query) = std::str::from_utf8(query) else {
        return 0;
    };
    let variables = serde_json::from_slice::<serde_json::Value>(variables)
        .map(Variables::from_json)
        .unwrap_or_default();
    let limits = Limits::default();
    if limits.scan(query).is_err() {
        return 1;
    }
    let Ok(document) = async_graphql::parser::parse_query(query) else {
        return 2;
    };
    let (schema, types, runtime) = parts();
    if limits.analyse(types, &document, None, &variables).is_err() {
        return 3;
    }
    let mut request = Request::new(query).variables(variables);
    request.set_parsed_query(document);
    let _response = runtime.block_on(schema.execute(request));
    4
}

#[cfg(test)]
mod tests {
    /// Every seed of the fuzz target and every input it ever crashed on (`fuzz/regressions`),
    /// replayed on every test run, each expected to stop where it should.
    #[test]
    fn given_the_fuzz_seeds_and_regressions_when_replayed_then_each_stops_where_it_should() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fuzz");
        let mut seen = 0;
        for dir in ["seeds/request", "regressions/request"] {
            let Ok(entries) = std::fs::read_dir(format!("{root}/{dir}")) else {
                continue;
            };
            for entry in entries {
                let path = entry.unwrap().path();
                let data = std::fs::read(&path).unwrap();
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                let stage = super::request(&data);
                let expected = match name.as_str() {
                    n if n.ends_with("-2000") || n == "aliases-900" => Some(1),
                    "fragments-doubling-30" | "pages-500x500" => Some(3),
                    // 20 × a 500-entry page is 40,040: within the cost limit.
                    "aliases-20"
                    | "readme-board"
                    | "sprint-board-variables"
                    | "mutation"
                    | "subscription"
                    | "block-string"
                    | "nested-list-60"
                    | "pages-in-variables"
                    | "as-of"
                    | "introspection" => Some(4),
                    _ => None,
                };
                if let Some(expected) = expected {
                    assert_eq!(stage, expected, "{name}");
                }
                seen += 1;
            }
        }
        assert!(seen >= 18, "the seeds are there ({seen})");
    }
}
