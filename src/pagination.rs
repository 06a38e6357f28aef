//! Auto-paging streams for list operations.
//!
//! The build script finds every operation with a `page_token` query parameter whose response
//! has a `next_page_token` and one array of items, and gives its builder `pages()` and
//! `items()`. Each page is an ordinary call: same auth, retries and errors.

use futures_core::Stream;
use futures_util::{stream, TryStreamExt};
use std::future::Future;

/// Streams pages: `fetch(token)` gets one page, `next(&page)` its continuation token. Stops at
/// a missing or empty token, or at a token equal to the one just used (a server loop).
pub(crate) fn pages<'a, P, F, Fut>(
    fetch: F,
    next: fn(&P) -> Option<&str>,
) -> impl Stream<Item = crate::Result<P>> + 'a
where
    P: 'a,
    F: Fn(Option<String>) -> Fut + 'a,
    Fut: Future<Output = crate::Result<P>> + 'a,
{
    stream::try_unfold(
        (Some(None::<String>), fetch),
        move |(state, fetch)| async move {
            let Some(token) = state else {
                return Ok(None);
            };
            let page = fetch(token.clone()).await?;
            let following = next(&page)
                .filter(|t| !t.is_empty() && Some(*t) != token.as_deref())
                .map(|t| Some(t.to_owned()));
            Ok(Some((page, (following, fetch))))
        },
    )
}

/// Flattens a page stream into its items.
pub(crate) fn items<'a, P, T>(
    pages: impl Stream<Item = crate::Result<P>> + 'a,
    take: fn(P) -> Vec<T>,
) -> impl Stream<Item = crate::Result<T>> + 'a
where
    P: 'a,
    T: 'a,
{
    pages
        .map_ok(move |p| stream::iter(take(p).into_iter().map(Ok)))
        .try_flatten()
}

/// Emitted by the build script once per list operation.
macro_rules! paged {
    ($($builder:ident)::+, $page:ty, $items:ident, $item:ty) => {
        impl<'a> $($builder)::+<'a> {
            /// Every page of results, following `next_page_token` until the last page.
            pub fn pages(
                self,
            ) -> impl ::futures_core::Stream<Item = crate::Result<$page>> + 'a {
                crate::pagination::pages(
                    move |token: Option<String>| {
                        let b = match token {
                            Some(t) => self.clone().page_token(t),
                            None => self.clone(),
                        };
                        async move { Ok(b.send().await?.into_inner()) }
                    },
                    |p: &$page| p.next_page_token.as_deref(),
                )
            }

            /// Every item of every page, fetching pages as the stream is polled.
            pub fn items(self) -> impl ::futures_core::Stream<Item = crate::Result<$item>> + 'a {
                crate::pagination::items(self.pages(), |p: $page| p.$items)
            }
        }
    };
}

pub(crate) use paged;
