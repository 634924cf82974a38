//! Relay cursor connections (`first`/`after`, `last`/`before`, `pageInfo`, `edges`, `nodes`,
//! `totalCount`) over the views' in-memory lists, with opaque cursors. Only the nodes of the
//! requested window are built.

use async_graphql::connection::{Connection, CursorType, Edge, EmptyFields};
use async_graphql::{OutputType, SimpleObject};

use crate::error::{ApiError, ApiResult};
use crate::ids::{opaque, unopaque};

/// The most elements one page holds (a larger `first` or `last` is refused).
pub const MAX_PAGE: usize = 500;
/// The page a connection returns when neither `first` nor `last` is given
/// (`pageInfo.hasNextPage` then says whether more follow); the cost of a request assumes it
/// (see `limits`).
pub const DEFAULT_PAGE: usize = 50;

/// A cursor: the element's offset in its list, opaque to clients. Offsets refer to the list as
/// the request sees it (pass `minPosition` or `asOf` to page through one consistent state).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Offset(pub usize);

impl CursorType for Offset {
    type Error = &'static str;

    fn decode_cursor(s: &str) -> Result<Self, Self::Error> {
        unopaque(s)
            .as_deref()
            .and_then(|t| t.strip_prefix("offset:"))
            .and_then(|n| n.parse().ok())
            .map(Self)
            .ok_or("not a cursor of this list")
    }

    fn encode_cursor(&self) -> String {
        opaque(&format!("offset:{}", self.0))
    }
}

/// What every connection has besides its page.
#[derive(SimpleObject, Clone, Copy, Debug)]
pub struct Counted {
    /// How many elements the whole list has.
    pub total_count: i32,
}

/// A page of a list.
pub type Page<T> = Connection<Offset, T, Counted, EmptyFields>;

/// The Relay paging arguments of a connection field.
#[derive(Debug, Default)]
pub struct PageArgs {
    /// Elements after this cursor.
    pub after: Option<String>,
    /// Elements before this cursor.
    pub before: Option<String>,
    /// At most this many, from the start of the window.
    pub first: Option<i32>,
    /// At most this many, from the end of the window.
    pub last: Option<i32>,
}

impl PageArgs {
    /// The arguments as a resolver received them.
    pub fn new(
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> Self {
        Self {
            after,
            before,
            first,
            last,
        }
    }

    /// The window `[start, end)` of a list of `len` elements, per the Relay algorithm.
    pub fn window(&self, len: usize) -> ApiResult<(usize, usize)> {
        let count = |n: Option<i32>, field: &str| -> ApiResult<Option<usize>> {
            n.map(|n| {
                usize::try_from(n)
                    .ok()
                    .filter(|n| *n <= MAX_PAGE)
                    .ok_or_else(|| {
                        ApiError::bad_input(field, format!("must be between 0 and {MAX_PAGE}"))
                    })
            })
            .transpose()
        };
        let cursor = |c: &Option<String>, field: &str| -> ApiResult<Option<usize>> {
            c.as_deref()
                .map(|c| {
                    Offset::decode_cursor(c)
                        .map(|o| o.0)
                        .map_err(|e| ApiError::bad_input(field, e))
                })
                .transpose()
        };
        let first = count(self.first, "first")?;
        let last = count(self.last, "last")?;
        let mut start = cursor(&self.after, "after")?.map_or(0, |a| a.saturating_add(1));
        let mut end = cursor(&self.before, "before")?.unwrap_or(len).min(len);
        start = start.min(end);
        if let Some(first) = first {
            end = end.min(start + first);
        }
        if let Some(last) = last {
            start = start.max(end.saturating_sub(last));
        }
        if first.is_none() && last.is_none() {
            end = end.min(start + DEFAULT_PAGE);
        }
        Ok((start, end))
    }
}

/// The page `args` selects of a list of `len` elements; `node(i)` builds the i-th element.
pub fn page<T: OutputType>(
    len: usize,
    args: &PageArgs,
    mut node: impl FnMut(usize) -> T,
) -> ApiResult<Page<T>> {
    let (start, end) = args.window(len)?;
    let mut connection = Connection::with_additional_fields(
        start > 0,
        end < len,
        Counted {
            total_count: i32::try_from(len).unwrap_or(i32::MAX),
        },
    );
    connection
        .edges
        .extend((start..end).map(|i| Edge::new(Offset(i), node(i))));
    Ok(connection)
}

/// A page of a list already built.
pub fn page_of<T: OutputType>(mut items: Vec<T>, args: &PageArgs) -> ApiResult<Page<T>> {
    let (start, end) = args.window(items.len())?;
    let len = items.len();
    items.truncate(end);
    let mut connection = Connection::with_additional_fields(
        start > 0,
        end < len,
        Counted {
            total_count: i32::try_from(len).unwrap_or(i32::MAX),
        },
    );
    connection.edges.extend(
        items
            .into_iter()
            .enumerate()
            .skip(start)
            .map(|(i, item)| Edge::new(Offset(i), item)),
    );
    Ok(connection)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(
        after: Option<usize>,
        before: Option<usize>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> PageArgs {
        let c = |n: usize| Offset(n).encode_cursor();
        PageArgs::new(after.map(c), before.map(c), first, last)
    }

    #[test]
    fn windows_follow_the_relay_algorithm() {
        assert_eq!(args(None, None, None, None).window(10).unwrap(), (0, 10));
        assert_eq!(args(None, None, Some(3), None).window(10).unwrap(), (0, 3));
        assert_eq!(
            args(Some(2), None, Some(3), None).window(10).unwrap(),
            (3, 6)
        );
        assert_eq!(args(None, None, None, Some(3)).window(10).unwrap(), (7, 10));
        assert_eq!(
            args(None, Some(5), None, Some(2)).window(10).unwrap(),
            (3, 5)
        );
        assert_eq!(
            args(Some(8), None, Some(5), None).window(10).unwrap(),
            (9, 10)
        );
        assert_eq!(
            args(Some(20), None, None, None).window(10).unwrap(),
            (10, 10)
        );
        assert_eq!(
            args(Some(6), Some(4), None, None).window(10).unwrap(),
            (4, 4)
        );
        assert_eq!(
            args(None, None, None, None).window(MAX_PAGE + 7).unwrap(),
            (0, DEFAULT_PAGE)
        );
    }

    #[test]
    fn bad_arguments_name_their_field() {
        let field = |r: ApiResult<(usize, usize)>| match r {
            Err(ApiError::BadUserInput { field, .. }) => field,
            other => panic!("expected bad input, got {other:?}"),
        };
        assert_eq!(field(args(None, None, Some(-1), None).window(3)), "first");
        assert_eq!(
            field(args(None, None, None, Some(100_000)).window(3)),
            "last"
        );
        let bad = PageArgs::new(Some("nonsense".into()), None, None, None);
        assert_eq!(field(bad.window(3)), "after");
        let item_id = PageArgs::new(
            Some(crate::ids::to_id("Item", uuid::Uuid::nil()).0),
            None,
            None,
            None,
        );
        assert_eq!(field(item_id.window(3)), "after");
    }

    #[test]
    fn a_page_builds_only_its_window() {
        let mut built = Vec::new();
        let p = page(100, &args(Some(9), None, Some(2), None), |i| {
            built.push(i);
            i as i32
        })
        .unwrap();
        assert_eq!(built, vec![10, 11]);
        assert!(p.has_previous_page && p.has_next_page);
        assert_eq!(p.additional_fields.total_count, 100);
        let q = page_of(vec![1, 2, 3], &args(None, None, None, Some(2))).unwrap();
        assert_eq!(
            q.edges.iter().map(|e| e.node).collect::<Vec<_>>(),
            vec![2, 3]
        );
        assert_eq!(q.edges[0].cursor, Offset(1));
    }
}
