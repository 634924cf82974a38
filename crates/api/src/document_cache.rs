//! A cache of parsed documents by query text, and of the requests that passed validation, so a
//! dashboard sending the same request again skips the parser and the full validator.
//!
//! async-graphql's validation looks at variable values (argument types, complexity), so a
//! request counts as validated only for the exact query text, operation name and variables that
//! passed; such a request runs on a schema in `ValidationMode::Fast` (which still computes the
//! depth and complexity limits) and gets exactly the outcome a full validation would give.
//!
//! Done outside the executor on purpose: an async-graphql extension could skip validation too,
//! but registering any extension routes every field through the extension chain, which cost
//! more on the sprint-board bench than validating does (see BENCHMARKS.md).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};

use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{Request, Response};

/// Most documents (and validated requests) kept; when full, an arbitrary one makes room.
const MAX_ENTRIES: usize = 512;
/// Longest request (query, operation name and variables, bytes) worth keeping.
const MAX_KEY: usize = 16 * 1024;

/// A request as validation sees it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Validated {
    query: String,
    operation: Option<String>,
    variables: String,
}

#[derive(Debug, Default)]
struct Entries {
    parsed: HashMap<String, Arc<ExecutableDocument>>,
    validated: HashSet<Validated>,
}

fn bounded_insert<K: Clone + Eq + std::hash::Hash, V>(map: &mut HashMap<K, V>, key: K, value: V) {
    if map.len() >= MAX_ENTRIES
        && let Some(evicted) = map.keys().next().cloned()
    {
        map.remove(&evicted);
    }
    map.insert(key, value);
}

/// Parsed documents by query text, and the requests known to pass validation.
#[derive(Clone, Debug, Default)]
pub struct DocumentCache {
    entries: Arc<RwLock<Entries>>,
}

impl DocumentCache {
    // Hits only read, and under a read lock, so the server's workers never wait for each
    // other there (a worker holding a mutex while descheduled stalls the others for a time
    // slice); the copy of a document is made after the lock is released.
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Entries> {
        self.entries.read().expect("document cache")
    }

    fn lock(&self) -> std::sync::RwLockWriteGuard<'_, Entries> {
        self.entries.write().expect("document cache")
    }

    /// Gives `request` its parsed document, from the cache or parsed now (a query that does not
    /// parse is left alone: the executor parses it again and reports the syntax error). Returns
    /// the request's validation key, and whether that request passed validation before.
    pub fn prepare(&self, request: &mut Request) -> (Option<Validated>, bool) {
        let key = Validated {
            query: request.query.clone(),
            operation: request.operation_name.clone(),
            variables: serde_json::to_string(&request.variables).unwrap_or_default(),
        };
        let key = (key.query.len() + key.variables.len() <= MAX_KEY).then_some(key);
        let (cached, known) = {
            let entries = self.read();
            (
                entries.parsed.get(&request.query).cloned(),
                key.as_ref().is_some_and(|k| entries.validated.contains(k)),
            )
        };
        if let Some(document) = cached {
            request.set_parsed_query(ExecutableDocument::clone(&document));
            return (key, known);
        }
        let Ok(document) = async_graphql::parser::parse_query(&request.query) else {
            return (None, false);
        };
        if key.is_some() {
            bounded_insert(
                &mut self.lock().parsed,
                request.query.clone(),
                Arc::new(document.clone()),
            );
        }
        request.set_parsed_query(document);
        (key, false)
    }

    /// Records the outcome of a fully validated request: it passed when no error is a request
    /// error (request errors — syntax, validation, limits — have no path).
    pub fn record(&self, key: Validated, response: &Response) {
        if response.errors.iter().all(|e| !e.path.is_empty()) {
            let mut entries = self.lock();
            if entries.validated.len() >= MAX_ENTRIES
                && let Some(evicted) = entries.validated.iter().next().cloned()
            {
                entries.validated.remove(&evicted);
            }
            entries.validated.insert(key);
        }
    }

    /// How many documents are cached.
    pub fn len(&self) -> usize {
        self.read().parsed.len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::{
        EmptyMutation, EmptySubscription, Object, Schema, ValidationMode, Variables,
    };
    use serde_json::json;

    use super::*;

    struct Query;

    #[Object]
    impl Query {
        async fn double(&self, n: i32) -> i32 {
            n * 2
        }
    }

    /// As `Api::execute` does: a request validated before runs with fast validation.
    async fn run(cache: &DocumentCache, mut request: Request) -> async_graphql::Response {
        let (key, known) = cache.prepare(&mut request);
        let mode = if known {
            ValidationMode::Fast
        } else {
            ValidationMode::Strict
        };
        let response = Schema::build(Query, EmptyMutation, EmptySubscription)
            .validation_mode(mode)
            .finish()
            .execute(request)
            .await;
        if let (Some(key), false) = (key, known) {
            cache.record(key, &response);
        }
        response
    }

    fn request(n: &serde_json::Value) -> Request {
        Request::new("query($n: Int!) { double(n: $n) }")
            .variables(Variables::from_json(json!({ "n": n })))
    }

    #[tokio::test]
    async fn given_a_query_seen_before_when_sent_again_then_the_answer_is_the_same_from_one_document()
     {
        let cache = DocumentCache::default();
        let first = run(&cache, request(&json!(21))).await;
        let again = run(&cache, request(&json!(21))).await;
        assert_eq!(first.data.into_json().unwrap(), json!({ "double": 42 }));
        assert_eq!(again.data.into_json().unwrap(), json!({ "double": 42 }));
        assert_eq!(cache.len(), 1);
    }

    #[tokio::test]
    async fn given_a_cached_query_when_a_variable_is_invalid_then_validation_still_refuses_it() {
        let cache = DocumentCache::default();
        assert!(run(&cache, request(&json!(1))).await.is_ok());
        for _ in 0..2 {
            let wrong = run(&cache, request(&json!("one"))).await;
            assert!(
                wrong.errors[0].message.contains("Invalid value"),
                "{:?}",
                wrong.errors
            );
            assert!(wrong.errors[0].path.is_empty(), "a request error");
        }
        assert_eq!(cache.len(), 1);
        assert_eq!(cache.read().validated.len(), 1, "only the valid request");
    }

    #[tokio::test]
    async fn given_a_query_that_does_not_parse_when_sent_then_the_syntax_error_is_reported_and_nothing_is_kept()
     {
        let cache = DocumentCache::default();
        let response = run(&cache, Request::new("{ double(n: ")).await;
        assert!(!response.errors.is_empty());
        assert!(cache.is_empty());
    }
}
