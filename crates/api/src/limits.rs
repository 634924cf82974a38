//! What a request may ask for, checked before any resolver or store read runs, in two steps
//! that each take time linear in the document:
//!
//! 1. [`Limits::scan`] — a lexical pass over the query text with no recursion: how deeply
//!    brackets nest (`{`, `[`, `(`: selections, lists, input objects, arguments) and how many
//!    tokens there are. The parser, validation and execution recurse over the document, so no
//!    document reaches them nested deeper than [`Limits::max_nesting`]: no input up to the body
//!    limit can overflow a stack.
//! 2. [`Limits::analyse`] — a pass over the parsed document that costs each fragment once and
//!    remembers it (a fragment spread twice per level for thirty levels costs thirty fragments
//!    of work, not 2³⁰): the cost, field depth, aliases, root fields and directives per field
//!    of the operation that will run, and the nesting of every fragment chain.
//!
//! **The cost** is the largest number of fields the response can hold, the way GitHub counts
//! nodes: every field counts 1; the `nodes` and `edges` of a connection count once per element
//! of the page (`first` or `last`, [`DEFAULT_PAGE`] when neither is given); a field with `asOf`
//! adds [`AS_OF_COST`] for the replay it may need. Variables are read for `first` and `last`.
//! For example `{ organisation { pods(first: 10) { nodes { name backlog(first: 20) { nodes {
//! title status } } } } } }` costs 433: `organisation` 1 + `pods` 1 + `nodes` 1 + 10 pods × (`name`
//! 1 + `backlog` 1 + `nodes` 1 + 20 items × 2 fields).

use std::collections::HashMap;

use async_graphql::parser::types::{
    BaseType, DocumentOperations, ExecutableDocument, OperationDefinition, Selection, SelectionSet,
    ServiceDocument, TypeKind, TypeSystemDefinition,
};
use async_graphql::{Name, Positioned, Value, Variables};

/// The page a connection returns when neither `first` nor `last` is given.
pub const DEFAULT_PAGE: u64 = crate::connection::DEFAULT_PAGE as u64;
/// The largest page a connection returns (larger requests are refused by the resolver).
pub const MAX_PAGE: u64 = crate::connection::MAX_PAGE as u64;
/// What a field with an `asOf` argument adds to the cost: a replay of a stream.
pub const AS_OF_COST: u64 = 100;

/// The limits every request is held to; each is a flag of `podledger serve`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Deepest nesting of brackets in the text, and of fragment spreads within spreads
    /// (Apollo Router's `parser_max_recursion`).
    pub max_nesting: usize,
    /// Most tokens in the text (Apollo Router's `parser_max_tokens`).
    pub max_tokens: usize,
    /// Deepest field nesting of the operation, fragments expanded (`max_depth`).
    pub max_depth: usize,
    /// Most aliases in the operation, fragments expanded (`max_aliases`).
    pub max_aliases: u64,
    /// Most fields at the root of the operation, fragments expanded (`max_root_fields`).
    pub max_root_fields: u64,
    /// Most directives on one field, fragment spread or inline fragment.
    pub max_directives: usize,
    /// Largest cost (see the module docs).
    pub max_cost: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_nesting: 64,
            max_tokens: 15_000,
            max_depth: 16,
            max_aliases: 30,
            max_root_fields: 20,
            max_directives: 8,
            max_cost: 50_000,
        }
    }
}

/// Which limit refused a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    /// [`Limits::max_nesting`].
    Nesting,
    /// [`Limits::max_tokens`].
    Tokens,
    /// [`Limits::max_depth`].
    Depth,
    /// [`Limits::max_aliases`].
    Aliases,
    /// [`Limits::max_root_fields`].
    RootFields,
    /// [`Limits::max_directives`].
    Directives,
    /// [`Limits::max_cost`].
    Cost,
    /// Introspection on a server that does not allow it.
    Introspection,
}

impl Limit {
    /// Every limit of a document.
    pub const ALL: [Self; 8] = [
        Self::Nesting,
        Self::Tokens,
        Self::Depth,
        Self::Aliases,
        Self::RootFields,
        Self::Directives,
        Self::Cost,
        Self::Introspection,
    ];

    /// The limit (its `serve` flag) behind a refusal's code: a document limit, or one of the
    /// request's bounds (concurrency, response size, deadline, body size).
    pub fn flag_of_code(code: &str) -> Option<&'static str> {
        if let Some(limit) = Self::ALL.iter().find(|l| l.code() == code) {
            return Some(limit.flag());
        }
        match code {
            "TOO_MANY_REQUESTS" => Some("max-concurrent-per-caller"),
            "RESPONSE_TOO_LARGE" => Some("max-response-bytes"),
            "TIMEOUT" => Some("request-timeout-ms"),
            "PAYLOAD_TOO_LARGE" => Some("max-body-bytes"),
            "TOO_MANY_SUBSCRIPTIONS" => Some("max-subscriptions"),
            _ => None,
        }
    }

    /// The stable code (`extensions.code`).
    pub const fn code(self) -> &'static str {
        match self {
            Self::Nesting => "QUERY_TOO_NESTED",
            Self::Tokens => "QUERY_TOO_LARGE",
            Self::Depth => "QUERY_TOO_DEEP",
            Self::Aliases => "TOO_MANY_ALIASES",
            Self::RootFields => "TOO_MANY_ROOT_FIELDS",
            Self::Directives => "TOO_MANY_DIRECTIVES",
            Self::Cost => "QUERY_TOO_COMPLEX",
            Self::Introspection => "INTROSPECTION_DISABLED",
        }
    }

    /// The name of the limit's flag, without `--` (`extensions.limit`).
    pub const fn flag(self) -> &'static str {
        match self {
            Self::Nesting => "max-nesting",
            Self::Tokens => "max-tokens",
            Self::Depth => "max-depth",
            Self::Aliases => "max-aliases",
            Self::RootFields => "max-root-fields",
            Self::Directives => "max-directives",
            Self::Cost => "max-cost",
            Self::Introspection => "introspection",
        }
    }
}

/// A refused request: which limit, its value, and what the request came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The limit.
    pub limit: Limit,
    /// The limit's value.
    pub max: u64,
    /// What the request came to (the text limits stop counting at `max + 1`).
    pub actual: u64,
}

impl Refusal {
    fn new(limit: Limit, max: usize, actual: usize) -> Self {
        Self {
            limit,
            max: max as u64,
            actual: actual as u64,
        }
    }

    /// Introspection asked of a server that does not allow it.
    pub fn introspection() -> Self {
        Self::new(Limit::Introspection, 0, 1)
    }

    /// The stable code (`extensions.code`).
    pub const fn code(&self) -> &'static str {
        self.limit.code()
    }

    /// What a client reads.
    pub fn message(&self) -> String {
        match self.limit {
            Limit::Introspection => {
                "introspection (__schema, __type) is disabled on this server; the SDL is published with it".to_owned()
            }
            Limit::Cost => format!(
                "the query costs {} and at most {} is allowed: ask for smaller pages (first/last) or fewer fields",
                self.actual, self.max
            ),
            // The text scan stops at the first token or bracket past the limit.
            Limit::Nesting | Limit::Tokens => format!(
                "the query exceeds {} = {} (it has {} or more)",
                self.limit.flag(),
                self.max,
                self.actual
            ),
            _ => format!(
                "the query exceeds {} = {} (it has {})",
                self.limit.flag(),
                self.max,
                self.actual
            ),
        }
    }
}

/// The operation of `document` that runs for `name`: the only one, or the one named (as the
/// executor picks it; `None` when the request names none of them).
pub fn operation_to_run<'d>(
    document: &'d ExecutableDocument,
    name: Option<&str>,
) -> Option<&'d Positioned<OperationDefinition>> {
    match (&document.operations, name) {
        (DocumentOperations::Single(op), _) => Some(op),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops.values().next(),
        (DocumentOperations::Multiple(_), None) => None,
    }
}

impl Limits {
    /// Step 1: the lexical guard. Runs before any parser; never recurses.
    pub fn scan(&self, query: &str) -> Result<(), Refusal> {
        let bytes = query.as_bytes();
        let mut i = 0;
        let mut tokens = 0usize;
        let mut nesting = 0usize;
        while i < bytes.len() {
            let b = bytes[i];
            match b {
                b' ' | b'\t' | b'\n' | b'\r' | b',' => {
                    i += 1;
                    continue;
                }
                b'#' => {
                    while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                        i += 1;
                    }
                    continue;
                }
                b'"' => i = skip_string(bytes, i),
                b'{' | b'[' | b'(' => {
                    nesting += 1;
                    if nesting > self.max_nesting {
                        return Err(Refusal::new(Limit::Nesting, self.max_nesting, nesting));
                    }
                    i += 1;
                }
                b'}' | b']' | b')' => {
                    nesting = nesting.saturating_sub(1);
                    i += 1;
                }
                b'.' if bytes[i..].starts_with(b"...") => i += 3,
                b if b == b'_' || b.is_ascii_alphanumeric() || b == b'-' || b == b'+' => {
                    // A name or a number (with its sign, fraction and exponent).
                    i += 1;
                    while i < bytes.len()
                        && (bytes[i] == b'_'
                            || bytes[i].is_ascii_alphanumeric()
                            || bytes[i] == b'.' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)
                            || (bytes[i] == b'-' || bytes[i] == b'+')
                                && matches!(bytes[i - 1], b'e' | b'E'))
                    {
                        i += 1;
                    }
                }
                _ => {
                    // Punctuators and anything the parser will refuse: one token a character
                    // (a multi-byte character is skipped whole).
                    i += 1;
                    while i < bytes.len() && (bytes[i] & 0xC0) == 0x80 {
                        i += 1;
                    }
                }
            }
            tokens += 1;
            if tokens > self.max_tokens {
                return Err(Refusal::new(Limit::Tokens, self.max_tokens, tokens));
            }
        }
        Ok(())
    }

    /// Step 2: the analysis of a parsed document (which passed [`Limits::scan`]) for the
    /// operation that will run. Returns the operation's cost.
    pub fn analyse(
        &self,
        schema: &TypeIndex,
        document: &ExecutableDocument,
        operation_name: Option<&str>,
        variables: &Variables,
    ) -> Result<u64, Refusal> {
        let mut analysis = Analysis {
            limits: self,
            schema,
            document,
            variables,
            fragments: HashMap::new(),
        };
        // Every fragment, used or not: validation walks them all.
        for name in document.fragments.keys() {
            analysis.fragment(name, 0, None)?;
        }
        // Every operation too (their nesting bounds validation's recursion); the one that runs
        // is held to the rest.
        let run = operation_to_run(document, operation_name);
        let mut measured = None;
        for (_, operation) in document.operations.iter() {
            let root = schema.root(operation.node.ty);
            let measure = analysis.selection_set(&operation.node.selection_set, root, 0, None)?;
            self.check_directives(operation.node.directives.len())?;
            if run.is_some_and(|run| std::ptr::eq(run, operation)) {
                measured = Some(measure);
            }
        }
        // No operation to run: the executor says why, after the checks above bounded the work.
        let Some(measure) = measured else {
            return Ok(0);
        };
        let checks = [
            (Limit::Depth, self.max_depth as u64, measure.depth),
            (Limit::RootFields, self.max_root_fields, measure.fields),
            (Limit::Aliases, self.max_aliases, measure.aliases),
            (Limit::Cost, self.max_cost, measure.cost),
        ];
        for (limit, max, actual) in checks {
            if actual > max {
                return Err(Refusal { limit, max, actual });
            }
        }
        Ok(measure.cost)
    }

    fn check_directives(&self, count: usize) -> Result<(), Refusal> {
        if count > self.max_directives {
            return Err(Refusal::new(Limit::Directives, self.max_directives, count));
        }
        Ok(())
    }
}

/// Whether the operations of `document` ask for the schema (`__schema` or `__type` at their
/// root, directly or through fragments; each fragment looked at once).
pub fn introspects(document: &ExecutableDocument) -> bool {
    fn asks<'a>(
        document: &'a ExecutableDocument,
        set: &'a SelectionSet,
        seen: &mut std::collections::HashSet<&'a str>,
    ) -> bool {
        set.items.iter().any(|selection| match &selection.node {
            Selection::Field(field) => {
                matches!(field.node.name.node.as_str(), "__schema" | "__type")
            }
            Selection::InlineFragment(inline) => {
                asks(document, &inline.node.selection_set.node, seen)
            }
            Selection::FragmentSpread(spread) => {
                let name = spread.node.fragment_name.node.as_str();
                seen.insert(name)
                    && document
                        .fragments
                        .get(&spread.node.fragment_name.node)
                        .is_some_and(|f| asks(document, &f.node.selection_set.node, seen))
            }
        })
    }
    let mut seen = std::collections::HashSet::new();
    document
        .operations
        .iter()
        .any(|(_, op)| asks(document, &op.node.selection_set.node, &mut seen))
}

/// Skips a string or block string starting at `start` (a `"`); returns the index after it (or
/// the end of an unterminated one: the parser reports it).
fn skip_string(bytes: &[u8], start: usize) -> usize {
    if bytes[start..].starts_with(b"\"\"\"") {
        let mut i = start + 3;
        while i < bytes.len() {
            if bytes[i..].starts_with(b"\\\"\"\"") {
                i += 4;
            } else if bytes[i..].starts_with(b"\"\"\"") {
                return i + 3;
            } else {
                i += 1;
            }
        }
        return i;
    }
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            b'\n' | b'\r' => return i,
            _ => i += 1,
        }
    }
    i.min(bytes.len())
}

/// What a selection set comes to, fragments expanded.
#[derive(Clone, Copy, Debug, Default)]
struct Measure {
    /// Largest number of fields in the response.
    cost: u64,
    /// Fields directly in the set (root fields, for an operation's set).
    fields: u64,
    /// Aliases.
    aliases: u64,
    /// Deepest field nesting.
    depth: u64,
    /// Deepest nesting of sets and spreads inside (how deeply checking it recurses).
    nesting: usize,
}

impl Measure {
    fn add(&mut self, other: Measure) {
        self.cost = self.cost.saturating_add(other.cost);
        self.fields = self.fields.saturating_add(other.fields);
        self.aliases = self.aliases.saturating_add(other.aliases);
        self.depth = self.depth.max(other.depth);
        self.nesting = self.nesting.max(other.nesting);
    }
}

struct Analysis<'a> {
    limits: &'a Limits,
    schema: &'a TypeIndex,
    document: &'a ExecutableDocument,
    variables: &'a Variables,
    /// Fragments measured, by name; `None` while one is being measured (a cycle: validation
    /// refuses it, and here it counts nothing).
    fragments: HashMap<(&'a str, Option<u64>), Option<Measure>>,
}

impl<'a> Analysis<'a> {
    fn deeper(&self, nesting: usize) -> Result<usize, Refusal> {
        let nesting = nesting + 1;
        if nesting > self.limits.max_nesting {
            return Err(Refusal::new(
                Limit::Nesting,
                self.limits.max_nesting,
                nesting,
            ));
        }
        Ok(nesting)
    }

    fn fragment(
        &mut self,
        name: &'a Name,
        nesting: usize,
        page: Option<u64>,
    ) -> Result<Option<Measure>, Refusal> {
        if let Some(known) = self.fragments.get(&(name.as_str(), page)) {
            return Ok(*known);
        }
        let Some(fragment) = self.document.fragments.get(name) else {
            return Ok(None);
        };
        self.fragments.insert((name.as_str(), page), None);
        self.limits
            .check_directives(fragment.node.directives.len())?;
        let on = Some(fragment.node.type_condition.node.on.node.as_str());
        let measure = self.selection_set(&fragment.node.selection_set, on, nesting, page)?;
        // Kept relative to where it was first met, so a later spread adds its own depth.
        let measure = Measure {
            nesting: measure.nesting.saturating_sub(nesting),
            ..measure
        };
        self.fragments.insert((name.as_str(), page), Some(measure));
        Ok(Some(measure))
    }

    /// Measures `set`, selected on type `on`; `page` is set when `set` is a connection's
    /// selection (its `nodes` and `edges` then count once per element).
    fn selection_set(
        &mut self,
        set: &'a Positioned<SelectionSet>,
        on: Option<&'a str>,
        nesting: usize,
        page: Option<u64>,
    ) -> Result<Measure, Refusal> {
        let nesting = self.deeper(nesting)?;
        let mut total = Measure {
            nesting,
            ..Measure::default()
        };
        for selection in &set.node.items {
            match &selection.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    self.limits.check_directives(field.directives.len())?;
                    let name = field.name.node.as_str();
                    let child_type = self.schema.field(on, name);
                    let child_page = TypeIndex::is_connection(child_type).then(|| self.page(field));
                    let children = if field.selection_set.node.items.is_empty() {
                        Measure {
                            nesting,
                            ..Measure::default()
                        }
                    } else {
                        self.selection_set(&field.selection_set, child_type, nesting, child_page)?
                    };
                    let each = match page {
                        Some(page) if name == "nodes" || name == "edges" => {
                            children.cost.saturating_mul(page)
                        }
                        _ => children.cost,
                    };
                    let mut cost = each.saturating_add(1);
                    if field.get_argument("asOf").is_some() {
                        cost = cost.saturating_add(AS_OF_COST);
                    }
                    total.add(Measure {
                        cost,
                        fields: 1,
                        aliases: children.aliases + u64::from(field.alias.is_some()),
                        depth: children.depth + 1,
                        nesting: children.nesting,
                    });
                }
                Selection::InlineFragment(inline) => {
                    let inline = &inline.node;
                    self.limits.check_directives(inline.directives.len())?;
                    let on = inline
                        .type_condition
                        .as_ref()
                        .map_or(on, |c| Some(c.node.on.node.as_str()));
                    total.add(self.selection_set(&inline.selection_set, on, nesting, page)?);
                }
                Selection::FragmentSpread(spread) => {
                    let spread = &spread.node;
                    self.limits.check_directives(spread.directives.len())?;
                    if let Some(measure) =
                        self.fragment(&spread.fragment_name.node, nesting, page)?
                    {
                        // Its own nesting on top of where it is spread.
                        let nested = self.deeper(nesting + measure.nesting)?;
                        total.add(Measure {
                            nesting: nested,
                            ..measure
                        });
                    }
                }
            }
        }
        Ok(total)
    }

    /// The page a connection field returns: the smaller of `first` and `last`, literal or
    /// variable, [`DEFAULT_PAGE`] when neither is given, never above [`MAX_PAGE`].
    fn page(&self, field: &async_graphql::parser::types::Field) -> u64 {
        let mut page: Option<u64> = None;
        for name in ["first", "last"] {
            let Some(value) = field.get_argument(name) else {
                continue;
            };
            let value = value
                .node
                .clone()
                .into_const_with(|v| self.variables.get(&v).cloned().ok_or(()));
            if let Ok(Value::Number(n)) = value
                && let Some(n) = n.as_i64()
            {
                let n = n.clamp(0, MAX_PAGE as i64) as u64;
                page = Some(page.map_or(n, |p| p.min(n)));
            }
        }
        page.unwrap_or(DEFAULT_PAGE)
    }
}

/// What the analysis needs of the schema: each field's type, and which types are connections.
#[derive(Clone, Debug, Default)]
pub struct TypeIndex {
    /// Type → field → the field's named type.
    fields: HashMap<String, HashMap<String, String>>,
    roots: [Option<String>; 3],
}

impl TypeIndex {
    /// The index of a schema, from its SDL.
    pub fn from_sdl(sdl: &str) -> Self {
        let mut index = Self::default();
        let Ok(document) = async_graphql::parser::parse_schema(sdl) else {
            return index;
        };
        let document: ServiceDocument = document;
        for definition in document.definitions {
            match definition {
                TypeSystemDefinition::Schema(schema) => {
                    let schema = schema.node;
                    index.roots = [
                        schema.query.map(|n| n.node.to_string()),
                        schema.mutation.map(|n| n.node.to_string()),
                        schema.subscription.map(|n| n.node.to_string()),
                    ];
                }
                TypeSystemDefinition::Type(ty) => {
                    let ty = ty.node;
                    let fields = match ty.kind {
                        TypeKind::Object(o) => o.fields,
                        TypeKind::Interface(i) => i.fields,
                        _ => continue,
                    };
                    for field in fields {
                        let field = field.node;
                        let mut base = &field.ty.node.base;
                        while let BaseType::List(inner) = base {
                            base = &inner.base;
                        }
                        let BaseType::Named(named) = base else {
                            continue;
                        };
                        index
                            .fields
                            .entry(ty.name.node.to_string())
                            .or_default()
                            .insert(field.name.node.to_string(), named.to_string());
                    }
                }
                TypeSystemDefinition::Directive(_) => {}
            }
        }
        index
    }

    fn root(&self, ty: async_graphql::parser::types::OperationType) -> Option<&str> {
        use async_graphql::parser::types::OperationType;
        let i = match ty {
            OperationType::Query => 0,
            OperationType::Mutation => 1,
            OperationType::Subscription => 2,
        };
        self.roots[i].as_deref()
    }

    fn field(&self, on: Option<&str>, name: &str) -> Option<&str> {
        self.fields.get(on?)?.get(name).map(String::as_str)
    }

    fn is_connection(ty: Option<&str>) -> bool {
        ty.is_some_and(|t| t.ends_with("Connection"))
    }
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use super::*;

    const SDL: &str = r"
        type QueryRoot { organisation: Organisation pod(id: ID!, asOf: String): Pod }
        type Organisation { name: String! pods(first: Int, last: Int): PodConnection! }
        type PodConnection { nodes: [Pod!]! edges: [PodEdge!]! totalCount: Int! }
        type PodEdge { cursor: String! node: Pod! }
        type Pod { name: String! roles: [String!]! backlog(first: Int, last: Int): ItemConnection! }
        type ItemConnection { nodes: [Item!]! totalCount: Int! }
        type Item { title: String! status: String! }
        schema { query: QueryRoot }
    ";

    fn analyse(limits: &Limits, query: &str, variables: serde_json::Value) -> Result<u64, Refusal> {
        limits.scan(query)?;
        let document = async_graphql::parser::parse_query(query).expect("parses");
        limits.analyse(
            &TypeIndex::from_sdl(SDL),
            &document,
            None,
            &Variables::from_json(variables),
        )
    }

    fn cost(query: &str) -> u64 {
        analyse(&Limits::default(), query, serde_json::json!({})).expect("allowed")
    }

    #[test]
    fn given_nested_connections_when_costed_then_each_list_counts_once_per_element_of_its_page() {
        assert_eq!(
            cost(
                "{ organisation { pods(first: 10) { nodes { name backlog(first: 20) { nodes { title status } } } } } }"
            ),
            433
        );
        // totalCount is one field whatever the page; edges count like nodes.
        assert_eq!(
            cost("{ organisation { pods(first: 10) { totalCount } } }"),
            3
        );
        assert_eq!(
            cost("{ organisation { pods(last: 4) { edges { cursor node { name } } } } }"),
            1 + 1 + 1 + 4 * (1 + 2)
        );
        // No first/last: the default page; both: the smaller.
        assert_eq!(
            cost("{ organisation { pods { nodes { name } } } }"),
            3 + DEFAULT_PAGE
        );
        assert_eq!(
            cost("{ organisation { pods(first: 9, last: 3) { nodes { name } } } }"),
            6
        );
        // A plain list counts once; asOf adds its replay.
        assert_eq!(cost("{ pod(id: 1) { roles } }"), 2);
        assert_eq!(cost("{ pod(id: 1, asOf: \"x\") { name } }"), 2 + AS_OF_COST);
    }

    #[test]
    fn given_a_page_in_a_variable_when_costed_then_its_value_counts_clamped_to_the_largest_page() {
        let query = "query($n: Int) { organisation { pods(first: $n) { nodes { name } } } }";
        let limits = Limits::default();
        assert_eq!(
            analyse(&limits, query, serde_json::json!({ "n": 7 })),
            Ok(3 + 7)
        );
        assert_eq!(
            analyse(&limits, query, serde_json::json!({ "n": 100_000 })),
            Ok(3 + MAX_PAGE)
        );
        assert_eq!(
            analyse(&limits, query, serde_json::json!({})),
            Ok(3 + DEFAULT_PAGE)
        );
    }

    #[test]
    fn given_fragments_when_costed_then_they_count_as_expanded_and_are_measured_once() {
        let fragments = |n: usize| {
            let mut q =
                String::from("{ organisation { ...F0 } } fragment F0 on Organisation { name }");
            for i in 1..=n {
                let _ = write!(
                    q,
                    " fragment F{i} on Organisation {{ ...F{j} ...F{j} }}",
                    j = i - 1
                );
            }
            q.replace("{ ...F0 }", &format!("{{ ...F{n} }}"))
        };
        assert_eq!(cost(&fragments(3)), 1 + 8);
        // Thirty levels expand to 2^30 fields: refused at once, with the count.
        let refused =
            analyse(&Limits::default(), &fragments(30), serde_json::json!({})).unwrap_err();
        assert_eq!(refused.code(), "QUERY_TOO_COMPLEX");
        assert_eq!(refused.actual, 1 + (1 << 30));
        // A fragment on a connection's selection counts its page.
        assert_eq!(
            cost(
                "{ organisation { pods(first: 5) { ...P } } } fragment P on PodConnection { nodes { name } }"
            ),
            3 + 5
        );
    }

    #[test]
    fn given_aliases_root_fields_depth_and_directives_over_their_limits_then_each_is_refused_with_its_code()
     {
        let limits = Limits {
            max_aliases: 2,
            max_root_fields: 2,
            max_depth: 3,
            max_directives: 1,
            ..Limits::default()
        };
        let code = |q: &str| analyse(&limits, q, serde_json::json!({})).map_err(|r| r.code());
        assert_eq!(
            code("{ a: organisation { name } b: organisation { name } }"),
            Ok(4)
        );
        assert_eq!(
            code("{ a: organisation { x: name } b: organisation { y: name } }"),
            Err("TOO_MANY_ALIASES")
        );
        assert_eq!(
            code("{ organisation { name } organisation { name } pod(id: 1) { name } }"),
            Err("TOO_MANY_ROOT_FIELDS")
        );
        assert_eq!(
            code(
                "{ ...R } fragment R on QueryRoot { a: organisation { name } b: organisation { name } c: organisation { name } }"
            ),
            Err("TOO_MANY_ROOT_FIELDS")
        );
        assert_eq!(
            code("{ organisation { pods { nodes { name } } } }"),
            Err("QUERY_TOO_DEEP")
        );
        assert_eq!(
            code("{ organisation @a @b { name } }"),
            Err("TOO_MANY_DIRECTIVES")
        );
    }

    #[test]
    fn given_text_nested_or_long_beyond_the_limits_when_scanned_then_it_is_refused_before_parsing()
    {
        let limits = Limits::default();
        let nested = |n: usize| {
            format!(
                "{{ pod(id: {}\"x\"{}) {{ name }} }}",
                "[".repeat(n),
                "]".repeat(n)
            )
        };
        assert_eq!(limits.scan(&nested(limits.max_nesting - 2)), Ok(()));
        assert_eq!(
            limits.scan(&nested(100_000)).unwrap_err().code(),
            "QUERY_TOO_NESTED"
        );
        // Brackets inside strings, block strings and comments are not nesting.
        let quoted = format!(
            "{{ a(s: \"{}\", t: \"\"\"{}\\\"\"\"\"\"\") # {}\n }}",
            "[".repeat(500),
            "{".repeat(500),
            "(".repeat(500)
        );
        assert_eq!(limits.scan(&quoted), Ok(()));
        let long = format!("{{ {} }}", "name ".repeat(limits.max_tokens));
        assert_eq!(limits.scan(&long).unwrap_err().code(), "QUERY_TOO_LARGE");
        assert_eq!(
            limits.scan(&format!("{{ {} }}", "name ".repeat(limits.max_tokens - 2))),
            Ok(())
        );
    }

    #[test]
    fn given_a_long_chain_of_fragments_when_analysed_then_it_is_refused_for_its_nesting() {
        let mut q = String::from("{ organisation { ...F0 } } fragment F0 on Organisation { name }");
        for i in 1..1_500 {
            let _ = write!(q, " fragment F{i} on Organisation {{ ...F{} }}", i - 1);
        }
        let refused = analyse(&Limits::default(), &q, serde_json::json!({})).unwrap_err();
        assert_eq!(refused.code(), "QUERY_TOO_NESTED");
    }
}
